"""Use cases of the applications service (stages 1 and 2). Each runs inside an open unit of
work and leaves the commit to it; integration events go to the outbox from the domain's events.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from applications_svc.domain.model import (
    EDITABLE,
    MANDATORY_CLAUSES,
    Application,
    ApplicationWasSubmitted,
    ApplicationWasWithdrawn,
    Document,
    InvalidTransition,
    Money,
    NotTheApplicant,
    Outcome,
    Personnel,
    Plan,
    PlanWasApproved,
    PlanWasSubmitted,
    Resources,
    Risk,
)
from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork
from guakao_shared.auth import Principal, Role
from guakao_shared.events import (
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ApprovalDecided,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    ApprovalReturned,
    ApprovalWithdrawn,
    DocumentRef,
    Envelope,
    PlanApproved,
    PlanSnapshot,
)
from guakao_shared.events import Money as MoneyEvent
from guakao_shared.refusals import PermanentError
from guakao_shared.process import definition, latest_version

log = logging.getLogger(__name__)

SEE_ALL = (
    Role.REVIEWER,
    Role.COMMITTEE_MEMBER,
    Role.PROCESS_ADMIN,
    Role.AUDITOR,
    Role.COMPLIANCE_OFFICER,
    Role.TECH_LEAD,
    Role.FINANCE,
    Role.LEGAL,
)
OUTCOMES: dict[type[ApprovalDecided], Outcome] = {
    ApprovalGranted: Outcome.APPROVED,
    ApprovalRejected: Outcome.REJECTED,
    ApprovalReturned: Outcome.RETURNED,
    ApprovalWithdrawn: Outcome.WITHDRAWN,
}


class ApplicationNotFound(Exception):
    def __init__(self, application_id: uuid.UUID) -> None:
        super().__init__(f"application {application_id} does not exist or is not visible to you")


def now() -> datetime:
    return datetime.now(UTC)


def _content(content: dict[str, Any]) -> dict[str, Any]:
    """API content (plain dicts) as domain values."""
    out = dict(content)
    if "resources" in out:
        r = out["resources"]
        out["resources"] = Resources(
            technology=tuple(r["technology"]),
            funds=Money(r["funds"]["amount"], r["funds"]["currency"]),
            personnel=tuple(Personnel(**p) for p in r["personnel"]),
        )
    if "risks" in out:
        out["risks"] = tuple(Risk(**r) for r in out["risks"])
    return out


def can_see(principal: Principal, app: Application) -> bool:
    """Users see their own department's cases; some roles see every case."""
    if principal.sub == app.applicant or principal.department == app.department:
        return True
    return principal.has_any(*SEE_ALL)


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


# ---- stage 1: the application ------------------------------------------------------------


async def create_application(
    uow: ApplicationsUnitOfWork, *, principal: Principal, department: str, content: dict[str, Any]
) -> Application:
    app = Application.draft(
        id=uuid.uuid4(),
        applicant=principal.sub,
        department=department,
        now=now(),
        **_content(content),
    )
    await uow.applications.add(app)
    return app


async def update_application(
    uow: ApplicationsUnitOfWork,
    *,
    application_id: uuid.UUID,
    principal: Principal,
    content: dict[str, Any],
    expected_version: int | None,
) -> Application:
    app = await get_visible(uow, application_id, principal, for_update=True)
    if expected_version is not None and expected_version != app.version:
        from applications_svc.adapters.repository import ConcurrentUpdate

        raise ConcurrentUpdate(
            f"application {app.id} is at version {app.version}, not "
            f"{expected_version} (If-Match); re-read it and retry"
        )
    app.update(by=principal.sub, now=now(), **_content(content))
    await uow.applications.save(app)
    return app


async def check_can_attach(
    uow: ApplicationsUnitOfWork, *, application_id: uuid.UUID, principal: Principal
) -> None:
    """Refuse an upload before any byte is stored if the attach itself would be refused."""
    app = await get_visible(uow, application_id, principal)
    if principal.sub != app.applicant:
        raise NotTheApplicant("attach documents to this application")
    if app.status not in EDITABLE:
        raise InvalidTransition(app.status, app.status, "attach a document")


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


def _funds(app: Application) -> MoneyEvent:
    return MoneyEvent(amount=app.resources.funds.amount, currency=app.resources.funds.currency)


async def submit_application(
    uow: ApplicationsUnitOfWork, *, application_id: uuid.UUID, principal: Principal
) -> Application:
    app = await get_visible(uow, application_id, principal, for_update=True)
    version = app.process_version or latest_version()
    step = definition(version).step("application", "apply")
    app.submit(
        by=principal.sub,
        now=now(),
        required_materials=step.required_materials,
        process_version=version,
        request_id=uuid.uuid4(),
    )
    await uow.applications.save(app)
    await _publish(uow, app, principal)
    return app


async def withdraw_application(
    uow: ApplicationsUnitOfWork,
    *,
    application_id: uuid.UUID,
    principal: Principal,
    reason: str | None,
) -> Application:
    app = await get_visible(uow, application_id, principal, for_update=True)
    app.withdraw(by=principal.sub, now=now(), reason=reason)
    await uow.applications.save(app)
    await _publish(uow, app, principal, reason=reason)
    return app


# ---- stage 2: the plan -------------------------------------------------------------------


async def edit_plan(
    uow: ApplicationsUnitOfWork,
    *,
    application_id: uuid.UUID,
    section: str,
    content: dict[str, Any],
    principal: Principal,
) -> Application:
    app = await get_visible(uow, application_id, principal, for_update=True)
    app.edit_plan(section, content, by=principal.sub, roles=principal.roles, now=now())
    await uow.applications.save(app)
    return app


async def sign_off_plan(
    uow: ApplicationsUnitOfWork, *, application_id: uuid.UUID, section: str, principal: Principal
) -> Application:
    app = await get_visible(uow, application_id, principal, for_update=True)
    app.sign_off_plan(section, by=principal.sub, roles=principal.roles, now=now())
    await uow.applications.save(app)
    return app


async def submit_plan(
    uow: ApplicationsUnitOfWork, *, application_id: uuid.UUID, principal: Principal
) -> Application:
    app = await get_visible(uow, application_id, principal, for_update=True)
    app.submit_plan(by=principal.sub, roles=principal.roles, now=now(), request_id=uuid.uuid4())
    await uow.applications.save(app)
    await _publish(uow, app, principal)
    return app


def plan_snapshot(plan: Plan) -> PlanSnapshot:
    terms = plan.technical.get("contract_terms") or {}
    return PlanSnapshot(
        version=plan.version,
        technical=plan.technical,
        finance=plan.finance,
        contract_terms={c: str(terms[c]) for c in MANDATORY_CLAUSES if c in terms},
        signed_off_by={s: o.by for s, o in plan.signoffs.items()},
    )


def _budget_total(plan: Plan) -> MoneyEvent | None:
    lines = plan.finance.get("budget") or []
    if not lines:
        return None
    total = sum(float(line.get("amount", 0)) for line in lines)
    return MoneyEvent(amount=round(total, 2), currency=lines[0].get("currency", "CNY"))


# ---- approval outcomes (consumer) --------------------------------------------------------


async def record_approval_outcome(
    envelope: Envelope, payload: ApprovalDecided, uow: ApplicationsUnitOfWork
) -> None:
    """approvals-svc decided: apply it to the case it was requested for, once."""
    if payload.subject_type not in ("application", "plan"):
        return
    app = await uow.applications.get(payload.subject_id, for_update=True)
    if app is None:
        raise PermanentError(f"approval outcome for unknown application {payload.subject_id}")
    applied = app.record_outcome(
        request_id=payload.request_id,
        outcome=OUTCOMES[type(payload)],
        by=payload.decided_by,
        now=now(),
        comment=payload.comment,
        record=payload.record,
    )
    if not applied:
        log.info(
            "ignoring %s for application %s (status %s): not the approval awaited",
            envelope.event_type,
            app.id,
            app.status,
        )
        return
    await uow.applications.save(app)
    await _publish(uow, app, None)


# ---- integration events ------------------------------------------------------------------


async def _publish(
    uow: ApplicationsUnitOfWork,
    app: Application,
    principal: Principal | None,
    *,
    reason: str | None = None,
) -> None:
    from guakao_shared.events import Actor

    actor = principal.as_actor() if principal else Actor(sub="applications-svc")
    for event in app.events:
        if isinstance(event, ApplicationWasSubmitted):
            uow.emit(
                ApplicationSubmitted(
                    application_id=app.id,
                    title=app.title,
                    applicant=app.applicant,
                    department=app.department,
                    requested_funds=_funds(app),
                    start_date=app.start_date,
                    end_date=app.end_date,
                    materials=[_ref(d) for d in app.documents],
                ),
                case_id=app.id,
                actor=actor,
            )
            uow.emit(
                _approval_request(app, "application", "application", "apply", _funds(app)),
                case_id=app.id,
                actor=actor,
            )
        elif isinstance(event, ApplicationWasWithdrawn):
            uow.emit(
                ApplicationWithdrawn(
                    application_id=app.id, request_id=event.request_id, reason=reason
                ),
                case_id=app.id,
                actor=actor,
            )
        elif isinstance(event, PlanWasSubmitted):
            assert app.plan is not None
            uow.emit(
                _approval_request(
                    app, "plan", "plan", "review_plan", _budget_total(app.plan) or _funds(app)
                ),
                case_id=app.id,
                actor=actor,
            )
        elif isinstance(event, PlanWasApproved):
            assert app.plan is not None and app.process_version is not None
            minutes = event.minutes if isinstance(event.minutes, DocumentRef) else None
            uow.emit(
                PlanApproved(
                    application_id=app.id,
                    title=app.title,
                    applicant=app.applicant,
                    department=app.department,
                    requested_funds=_funds(app),
                    start_date=app.start_date,
                    end_date=app.end_date,
                    process_version=app.process_version,
                    plan=plan_snapshot(app.plan),
                    minutes=minutes,
                ),
                case_id=app.id,
                actor=actor,
            )
    app.events.clear()


def _approval_request(
    app: Application, subject_type: str, stage: str, step_id: str, amount: MoneyEvent
) -> ApprovalRequested:
    assert app.approval_request_id is not None and app.process_version is not None
    step = definition(app.process_version).step(stage, step_id)
    assert step.approval_policy is not None
    return ApprovalRequested(
        request_id=app.approval_request_id,
        subject_type=subject_type,
        subject_id=app.id,
        policy=step.approval_policy,
        title=app.title,
        requester=app.applicant,
        department=app.department,
        amount=amount,
        process_version=app.process_version,
    )
