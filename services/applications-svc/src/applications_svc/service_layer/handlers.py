"""Use cases of the applications service. Each runs inside an open unit of work and leaves the
commit to it; integration events are emitted to the outbox here, from the domain's events.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from guakao_shared.auth import Principal
from guakao_shared.events import (
    ApplicationSubmitted,
    ApprovalDecided,
    ApprovalGranted,
    ApprovalRequested,
    DocumentRef,
    Envelope,
)
from guakao_shared.events import Money as MoneyEvent
from guakao_shared.inbox import PermanentError

from applications_svc.domain.model import (
    Application,
    ApplicationWasSubmitted,
    Document,
    Money,
    Personnel,
    Resources,
    Risk,
)
from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork

log = logging.getLogger(__name__)

NECESSITY_REVIEW_POLICY = "application.necessity_review"


class ApplicationNotFound(Exception):
    def __init__(self, application_id: uuid.UUID) -> None:
        super().__init__(f"application {application_id} does not exist or is not visible to you")


def now() -> datetime:
    return datetime.now(UTC)


async def create_application(
    uow: ApplicationsUnitOfWork, *, principal: Principal, department: str, content: dict[str, Any]
) -> Application:
    resources = content["resources"]
    app = Application.draft(
        id=uuid.uuid4(),
        applicant=principal.sub,
        department=department,
        now=now(),
        title=content["title"],
        background=content["background"],
        objectives=content["objectives"],
        expected_benefits=content["expected_benefits"],
        resources=Resources(
            technology=tuple(resources["technology"]),
            funds=Money(resources["funds"]["amount"], resources["funds"]["currency"]),
            personnel=tuple(Personnel(**p) for p in resources["personnel"]),
        ),
        start_date=content["start_date"],
        end_date=content["end_date"],
        risks=tuple(Risk(**r) for r in content["risks"]),
    )
    await uow.applications.add(app)
    return app


async def get_visible(
    uow: ApplicationsUnitOfWork,
    application_id: uuid.UUID,
    principal: Principal,
    *,
    for_update: bool = False,
) -> Application:
    app = await uow.applications.get(application_id, for_update=for_update)
    if app is None or not can_see(principal, app):
        raise ApplicationNotFound(application_id)
    return app


def can_see(principal: Principal, app: Application) -> bool:
    """Users see their own department's cases; some roles see every case."""
    from guakao_shared.auth import Role

    if principal.sub == app.applicant or principal.department == app.department:
        return True
    return principal.has_any(
        Role.REVIEWER,
        Role.COMMITTEE_MEMBER,
        Role.PROCESS_ADMIN,
        Role.AUDITOR,
        Role.COMPLIANCE_OFFICER,
    )


async def attach_document(
    uow: ApplicationsUnitOfWork,
    *,
    application_id: uuid.UUID,
    principal: Principal,
    document_id: uuid.UUID,
    ref: DocumentRef,
) -> Document:
    app = await get_visible(uow, application_id, principal, for_update=True)
    document = Document(
        id=document_id,
        document_type=ref.document_type,
        filename=ref.filename,
        content_type=ref.content_type,
        size=ref.size,
        sha256=ref.sha256,
        bucket=ref.bucket,
        key=ref.key,
        version_id=ref.version_id,
        uploaded_by=principal.sub,
        uploaded_at=now(),
    )
    app.attach(document, by=principal.sub)
    await uow.applications.save(app)
    return document


async def check_can_attach(
    uow: ApplicationsUnitOfWork, *, application_id: uuid.UUID, principal: Principal
) -> None:
    """Refuse an upload before any byte is stored if the attach itself would be refused."""
    from applications_svc.domain.model import EDITABLE, InvalidTransition, NotTheApplicant

    app = await get_visible(uow, application_id, principal)
    if principal.sub != app.applicant:
        raise NotTheApplicant("attach documents to this application")
    if app.status not in EDITABLE:
        raise InvalidTransition(app.status, app.status, "attach a document")


async def submit_application(
    uow: ApplicationsUnitOfWork, *, application_id: uuid.UUID, principal: Principal
) -> Application:
    app = await get_visible(uow, application_id, principal, for_update=True)
    app.submit(by=principal.sub, now=now())
    await uow.applications.save(app)
    actor = principal.as_actor()
    for event in app.events:
        if isinstance(event, ApplicationWasSubmitted):
            funds = MoneyEvent(
                amount=app.resources.funds.amount, currency=app.resources.funds.currency
            )
            uow.emit(
                ApplicationSubmitted(
                    application_id=app.id,
                    title=app.title,
                    applicant=app.applicant,
                    department=app.department,
                    requested_funds=funds,
                    start_date=app.start_date,
                    end_date=app.end_date,
                    materials=[_ref(d) for d in app.documents],
                ),
                case_id=app.id,
                actor=actor,
            )
            uow.emit(
                ApprovalRequested(
                    request_id=uuid.uuid4(),
                    subject_type="application",
                    subject_id=app.id,
                    policy=NECESSITY_REVIEW_POLICY,
                    title=app.title,
                    requester=app.applicant,
                    department=app.department,
                    amount=funds,
                ),
                case_id=app.id,
                actor=actor,
            )
    app.events.clear()
    return app


def _ref(d: Document) -> DocumentRef:
    return DocumentRef(
        bucket=d.bucket,
        key=d.key,
        version_id=d.version_id,
        sha256=d.sha256,
        size=d.size,
        content_type=d.content_type,
        filename=d.filename,
        document_type=d.document_type,
    )


async def record_approval_outcome(
    envelope: Envelope, payload: ApprovalDecided, uow: ApplicationsUnitOfWork
) -> None:
    """Consumer: approvals-svc decided; move the case to APPROVED or REJECTED."""
    if payload.subject_type != "application":
        return
    app = await uow.applications.get(payload.subject_id, for_update=True)
    if app is None:
        raise PermanentError(f"approval outcome for unknown application {payload.subject_id}")
    applied = app.record_decision(
        approved=isinstance(payload, ApprovalGranted),
        by=payload.decided_by,
        now=now(),
        comment=payload.comment,
    )
    if not applied:
        log.warning(
            "ignoring %s for application %s in status %s", envelope.event_type, app.id, app.status
        )
        return
    await uow.applications.save(app)
    app.events.clear()
