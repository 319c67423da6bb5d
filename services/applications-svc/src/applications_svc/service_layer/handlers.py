"""Use cases of the applications service (stages 1 and 2).

Commands run as `handler(command, uow)` inside a unit of work the bus commits; queries as
`query(uow, ...)`, never committed; the consumer's handler in the inbox's unit of work.
Integration events go to the outbox from the domain's events. Refusals are
`guakao_shared.refusals` (or the domain's own exceptions); nothing here knows HTTP.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from applications_svc.adapters.repository import ConcurrentUpdate
from applications_svc.domain.model import (
    STAGE_OF_STATUS,
    Application,
    ApplicationWasSubmitted,
    ApplicationWasWithdrawn,
    CaseStatus,
    CaseSummary,
    Document,
    Money,
    Outcome,
    Plan,
    PlanWasApproved,
    PlanWasSubmitted,
)
from applications_svc.service_layer.commands import (
    AttachDocument,
    CreateApplication,
    EditPlanSection,
    SignOffPlanSection,
    SubmitApplication,
    SubmitPlan,
    UpdateApplication,
    WithdrawApplication,
)
from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork
from guakao_shared.events import (
    Actor,
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
from guakao_shared.identity import Principal, Role, require_role
from guakao_shared.objectstore import DocumentTooLarge
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.process import definition, latest_version
from guakao_shared.refusals import Invalid, NotFound, NotPermitted, PermanentError, Refused

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
ALLOWED_CONTENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/zip",
        "image/png",
        "image/jpeg",
        "text/plain",
        "text/csv",
        "text/markdown",
    }
)


# ---- refusals ----------------------------------------------------------------------------


class ApplicationNotFound(NotFound):
    def __init__(self, application_id: uuid.UUID) -> None:
        super().__init__(f"application {application_id} does not exist or is not visible to you")


class NothingToChange(Refused):
    """422: an update that sets no field."""

    problem_title = "Invalid request"

    def __init__(self) -> None:
        super().__init__("nothing to change: the body sets no field")


class UploadTooLarge(Refused):
    """413: the document is larger than this service accepts."""

    problem_title = "Document too large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the document exceeds the upload limit of {limit} bytes",
            errors=[{"field": "file", "rule": "max_size", "message": f"<= {limit} bytes"}],
        )


class UnsupportedContentType(Refused):
    """415: a kind of document this service does not accept."""

    problem_title = "Unsupported media type"

    def __init__(self, content_type: str) -> None:
        super().__init__(
            f"file: content type {content_type!r} is not accepted",
            errors=[
                {
                    "field": "file",
                    "rule": "content_type",
                    "message": f"one of {sorted(ALLOWED_CONTENT_TYPES)}",
                }
            ],
        )


# ---- who sees what -----------------------------------------------------------------------


def can_see(principal: Principal, app: Application) -> bool:
    """Users see their own department's cases; some roles see every case."""
    if principal.sub == app.applicant or principal.department == app.department:
        return True
    return principal.has_any(*SEE_ALL)


async def _visible(
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


def mandatory_clauses(process_version: int | None) -> tuple[str, ...]:
    """The contract clauses the plan must propose a term for, as the case's process says."""
    return tuple(definition(process_version).mandatory_clauses)


# ---- stage 1: the application ------------------------------------------------------------


async def create_application(cmd: CreateApplication, uow: ApplicationsUnitOfWork) -> Application:
    require_role(cmd.actor, Role.APPLICANT, action="creating an application")
    if not cmd.actor.department:
        raise NotPermitted(
            "your token carries no department (claim 'dept'); "
            "an application belongs to the applicant's department"
        )
    app = Application.draft(
        id=uuid.uuid4(),
        applicant=cmd.actor.sub,
        department=cmd.actor.department,
        now=uow.now(),
        title=cmd.title,
        background=cmd.background,
        objectives=cmd.objectives,
        expected_benefits=cmd.expected_benefits,
        resources=cmd.resources,
        start_date=cmd.start_date,
        end_date=cmd.end_date,
        risks=cmd.risks,
    )
    await uow.applications.add(app)
    return app


async def update_application(cmd: UpdateApplication, uow: ApplicationsUnitOfWork) -> Application:
    if not cmd.changes:
        raise NothingToChange()
    app = await _visible(uow, cmd.application_id, cmd.actor, for_update=True)
    if cmd.expected_version is not None and cmd.expected_version != app.version:
        raise ConcurrentUpdate(
            f"application {app.id} is at version {app.version}, not "
            f"{cmd.expected_version} (If-Match); re-read it and retry"
        )
    app.update(by=cmd.actor.sub, now=uow.now(), **cmd.changes)
    await uow.applications.save(app)
    return app


def _check_upload(cmd: AttachDocument, limit: int) -> None:
    if cmd.declared_size is not None and cmd.declared_size > limit:
        raise UploadTooLarge(limit)
    if cmd.declared_size == 0:
        raise Invalid("file", "not_empty", "the document is empty")
    if cmd.content_type not in ALLOWED_CONTENT_TYPES:
        raise UnsupportedContentType(cmd.content_type)


async def attach_document(cmd: AttachDocument, uow: ApplicationsUnitOfWork) -> Document:
    """Store the document (streamed, size-limited, hashed), then attach it; an upload the
    attach would refuse is refused before any byte is stored, and nothing is left half-written.
    """
    limit = uow.max_upload_bytes
    _check_upload(cmd, limit)
    app = await _visible(uow, cmd.application_id, cmd.actor)
    app.check_can_attach(by=cmd.actor.sub)
    document_id = uuid.uuid4()
    try:
        ref = await uow.documents.put(
            bucket=uow.documents_bucket,
            key=f"{cmd.application_id}/{document_id}",
            stream=cmd.content.stream,
            max_bytes=limit,
            content_type=cmd.content_type,
            filename=cmd.filename,
            document_type=cmd.document_type,
        )
    except DocumentTooLarge as exc:
        raise UploadTooLarge(limit) from exc
    try:
        app = await _visible(uow, cmd.application_id, cmd.actor, for_update=True)
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
            uploaded_by=cmd.actor.sub,
            uploaded_at=uow.now(),
        )
        app.attach(document, by=cmd.actor.sub)
        await uow.applications.save(app)
    except BaseException:
        await uow.documents.delete(ref)  # nothing half-written
        raise
    return document


async def submit_application(cmd: SubmitApplication, uow: ApplicationsUnitOfWork) -> Application:
    app = await _visible(uow, cmd.application_id, cmd.actor, for_update=True)
    version = app.process_version or latest_version()
    step = definition(version).step("application", "apply")
    app.submit(
        by=cmd.actor.sub,
        now=uow.now(),
        required_materials=step.required_materials,
        process_version=version,
        request_id=uuid.uuid4(),
    )
    await uow.applications.save(app)
    _publish(uow, app, cmd.actor)
    return app


async def withdraw_application(
    cmd: WithdrawApplication, uow: ApplicationsUnitOfWork
) -> Application:
    app = await _visible(uow, cmd.application_id, cmd.actor, for_update=True)
    app.withdraw(by=cmd.actor.sub, now=uow.now(), reason=cmd.reason)
    await uow.applications.save(app)
    _publish(uow, app, cmd.actor, reason=cmd.reason)
    return app


# ---- stage 2: the plan -------------------------------------------------------------------


async def edit_plan(cmd: EditPlanSection, uow: ApplicationsUnitOfWork) -> Application:
    app = await _visible(uow, cmd.application_id, cmd.actor, for_update=True)
    app.edit_plan(
        cmd.section, dict(cmd.content), by=cmd.actor.sub, roles=cmd.actor.roles, now=uow.now()
    )
    await uow.applications.save(app)
    return app


async def sign_off_plan(cmd: SignOffPlanSection, uow: ApplicationsUnitOfWork) -> Application:
    app = await _visible(uow, cmd.application_id, cmd.actor, for_update=True)
    app.sign_off_plan(cmd.section, by=cmd.actor.sub, roles=cmd.actor.roles, now=uow.now())
    await uow.applications.save(app)
    return app


async def submit_plan(cmd: SubmitPlan, uow: ApplicationsUnitOfWork) -> Application:
    app = await _visible(uow, cmd.application_id, cmd.actor, for_update=True)
    app.submit_plan(
        by=cmd.actor.sub,
        roles=cmd.actor.roles,
        now=uow.now(),
        request_id=uuid.uuid4(),
        mandatory_clauses=mandatory_clauses(app.process_version),
    )
    await uow.applications.save(app)
    _publish(uow, app, cmd.actor)
    return app


# ---- queries -----------------------------------------------------------------------------


async def visible_application(
    uow: ApplicationsUnitOfWork, application_id: uuid.UUID, *, principal: Principal
) -> Application:
    return await _visible(uow, application_id, principal)


async def application_with_plan(
    uow: ApplicationsUnitOfWork, application_id: uuid.UUID, *, principal: Principal
) -> Application:
    """The case, refused (404) while it has no plan yet."""
    app = await _visible(uow, application_id, principal)
    if app.plan is None:
        raise NotFound(
            f"application {application_id} has no plan yet "
            f"(it is {app.status}; planning starts when it is approved)"
        )
    return app


@dataclass(frozen=True, kw_only=True)
class ApplicationSearch:
    """What a search asks for: every filter is optional; `sort` is a column, `-` descending."""

    statuses: frozenset[CaseStatus] | None = None
    stage: int | None = None
    department: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None
    sort: str = "-created_at"


async def search_applications(
    uow: ApplicationsUnitOfWork,
    search: ApplicationSearch,
    page: PageRequest,
    *,
    principal: Principal,
) -> Slice[CaseSummary]:
    """Users find their department's cases (and their own); roles that oversee find all."""
    statuses = search.statuses
    if search.stage is not None:
        in_stage = frozenset(s for s, n in STAGE_OF_STATUS.items() if n == search.stage)
        statuses = in_stage if statuses is None else statuses & in_stage
    departments = (
        None
        if principal.has_any(*SEE_ALL)
        else ([principal.department] if principal.department else [])
    )
    return await uow.applications.search(
        departments=departments,
        applicant=principal.sub,
        statuses=sorted(statuses) if statuses is not None else None,
        department=search.department,
        created_from=search.created_from,
        created_to=search.created_to,
        text=search.text,
        sort=search.sort,
        page=page,
    )


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
        now=uow.now(),
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
    _publish(uow, app, None)


# ---- integration events ------------------------------------------------------------------


def _money(money: Money) -> MoneyEvent:
    return MoneyEvent(amount=money.amount, currency=money.currency)


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


def plan_snapshot(plan: Plan, process_version: int) -> PlanSnapshot:
    terms = plan.technical.get("contract_terms") or {}
    return PlanSnapshot(
        version=plan.version,
        technical=plan.technical,
        finance=plan.finance,
        contract_terms={c: str(terms[c]) for c in mandatory_clauses(process_version) if c in terms},
        signed_off_by={s: o.by for s, o in plan.signoffs.items()},
    )


def _budget_total(app: Application) -> MoneyEvent | None:
    assert app.plan is not None
    total = app.plan.budget_total()
    return _money(total) if total is not None else None


def _publish(
    uow: ApplicationsUnitOfWork,
    app: Application,
    principal: Principal | None,
    *,
    reason: str | None = None,
) -> None:
    actor = Actor.of(principal) if principal else Actor(sub="applications-svc")
    requested_funds = _money(app.resources.funds)
    for event in app.events:
        if isinstance(event, ApplicationWasSubmitted):
            uow.emit(
                ApplicationSubmitted(
                    application_id=app.id,
                    title=app.title,
                    applicant=app.applicant,
                    department=app.department,
                    requested_funds=requested_funds,
                    start_date=app.start_date,
                    end_date=app.end_date,
                    materials=[_ref(d) for d in app.documents],
                ),
                case_id=app.id,
                actor=actor,
            )
            uow.emit(
                _approval_request(app, "application", "application", "apply", requested_funds),
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
            uow.emit(
                _approval_request(
                    app, "plan", "plan", "review_plan", _budget_total(app) or requested_funds
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
                    requested_funds=requested_funds,
                    start_date=app.start_date,
                    end_date=app.end_date,
                    process_version=app.process_version,
                    plan=plan_snapshot(app.plan, app.process_version),
                    minutes=minutes,
                    budget_total=_budget_total(app),
                ),
                case_id=app.id,
                actor=actor,
            )
    app.events.clear()


def _approval_request(
    app: Application, subject_type: str, stage: str, step: str, amount: MoneyEvent
) -> ApprovalRequested:
    assert app.approval_request_id is not None and app.process_version is not None
    return ApprovalRequested(
        request_id=app.approval_request_id,
        subject_type=subject_type,
        subject_id=app.id,
        policy=definition(app.process_version).approval_policy(stage, step),
        title=app.title,
        requester=app.applicant,
        department=app.department,
        amount=amount,
        process_version=app.process_version,
    )
