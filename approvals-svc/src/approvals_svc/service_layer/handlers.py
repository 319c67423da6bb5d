"""Use cases of approvals-svc: open a case from a policy of the process definition, decide,
transfer, add signers, withdraw, sweep time limits; publish outcomes with the decision record."""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from approvals_svc.adapters.repository import active_delegations
from approvals_svc.domain.model import (
    Action,
    ApprovalCase,
    ApprovalError,
    CaseClosed,
    CaseStatus,
    Mode,
    Person,
    ReminderDue,
    StepEscalated,
    StepRule,
)
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork
from guakao_shared.auth import Principal
from guakao_shared.events import (
    ApplicationWithdrawn,
    ApprovalDecided,
    ApprovalEscalated,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalReminder,
    ApprovalRequested,
    ApprovalReturned,
    ApprovalWithdrawn,
    Envelope,
)
from guakao_shared.refusals import PermanentError
from guakao_shared.objectstore import S3DocumentStore
from guakao_shared.process import PolicyDef, definition, latest_version

log = logging.getLogger(__name__)


OUTCOMES: dict[CaseStatus, type[ApprovalDecided]] = {
    CaseStatus.APPROVED: ApprovalGranted,
    CaseStatus.REJECTED: ApprovalRejected,
    CaseStatus.RETURNED: ApprovalReturned,
    CaseStatus.WITHDRAWN: ApprovalWithdrawn,
}


class TaskNotFound(Exception):
    def __init__(self, task_id: uuid.UUID) -> None:
        super().__init__(f"task {task_id} does not exist")


class CaseNotFound(Exception):
    def __init__(self, case_id: uuid.UUID) -> None:
        super().__init__(f"approval case {case_id} does not exist or is not visible to you")


@dataclass(frozen=True)
class RecordStore:
    """Where the generated decision records (minutes) go."""

    documents: S3DocumentStore
    bucket: str


def now() -> datetime:
    return datetime.now(UTC)


def rules_for(
    policy: PolicyDef, *, amount: float | None, attributes: dict[str, str]
) -> list[StepRule]:
    """The authority matrix: the policy's steps that apply to this request, as engine rules."""
    return [
        StepRule(
            name=s.name,
            mode=Mode(s.mode),
            time_limit=timedelta(hours=s.time_limit_hours),
            roles=s.assignees.all_roles,
            users=s.assignees.users,
            department_scoped=s.assignees.scope == "requester_department",
            quorum=s.quorum,
            weights=tuple(sorted(s.weights.items())),
            threshold=s.threshold,
            escalate_to=s.escalate_to,
            exclude_reporting_line=s.exclude_reporting_line,
            redo_on_return=s.redo_on_return,
        )
        for s in policy.steps
        if s.when is None or s.when.matches(amount, attributes)
    ]


def person_of(principal: Principal) -> Person:
    """The actor as the engine sees them: roles come from the token, never from elsewhere."""
    return Person(principal.sub, principal.department, principal.roles)


async def open_approval_case(
    envelope: Envelope, payload: ApprovalRequested, uow: ApprovalsUnitOfWork
) -> None:
    """Consumer: a service asked for an approval; open the case from the named policy."""
    if await uow.cases.exists_for_request(payload.request_id):
        return
    version = payload.process_version or latest_version()
    try:
        policy = definition(version).policy(payload.policy)
    except KeyError as exc:
        raise PermanentError(str(exc)) from exc
    amount = float(payload.amount.amount) if payload.amount else None
    try:
        case = ApprovalCase.open(
            request_id=payload.request_id,
            subject_type=payload.subject_type,
            subject_id=payload.subject_id,
            case_id=envelope.case_id,
            policy=payload.policy,
            process_version=version,
            rules=rules_for(policy, amount=amount, attributes=payload.attributes),
            title=payload.title,
            requester=payload.requester,
            department=payload.department,
            directory=await uow.directory(),
            now=now(),
        )
    except ApprovalError as exc:
        raise PermanentError(str(exc)) from exc
    await uow.cases.add(case)
    log.info(
        "opened approval case %s (%s) for %s %s",
        case.id,
        payload.policy,
        payload.subject_type,
        payload.subject_id,
    )


async def withdraw_on_request(
    envelope: Envelope, payload: ApplicationWithdrawn, uow: ApprovalsUnitOfWork
) -> None:
    """Consumer: the applicant withdrew; close the pending approval case, if any."""
    if payload.request_id is None:
        return
    case = await uow.cases.get_by_request(payload.request_id)
    if case is None or case.status != CaseStatus.OPEN:
        return
    case.withdraw(by=case.requester, comment=payload.reason, now=now())
    await uow.cases.save(case)
    case.events.clear()  # the requester's service already knows; nobody waits for an answer


async def _case_for_task(uow: ApprovalsUnitOfWork, task_id: uuid.UUID) -> ApprovalCase:
    case = await uow.cases.get_by_task(task_id)
    if case is None:
        raise TaskNotFound(task_id)
    return case


async def decide(
    uow: ApprovalsUnitOfWork,
    records: RecordStore,
    *,
    task_id: uuid.UUID,
    action: Action,
    comment: str | None,
    return_to: str | None,
    principal: Principal,
    at: datetime | None = None,
) -> ApprovalCase:
    case = await _case_for_task(uow, task_id)
    when = at or now()
    case.decide(
        task_id,
        action,
        actor=person_of(principal),
        comment=comment,
        directory=await uow.directory(),
        delegations=await active_delegations(uow.session, principal.sub, when),
        now=when,
        return_to=return_to,
    )
    await _save_and_publish(uow, records, case, principal)
    return case


async def transfer(
    uow: ApprovalsUnitOfWork,
    records: RecordStore,
    *,
    task_id: uuid.UUID,
    to: str,
    comment: str | None,
    principal: Principal,
) -> ApprovalCase:
    case = await _case_for_task(uow, task_id)
    when = now()
    case.transfer(
        task_id,
        to=to,
        actor=person_of(principal),
        comment=comment,
        directory=await uow.directory(),
        delegations=await active_delegations(uow.session, principal.sub, when),
        now=when,
    )
    await _save_and_publish(uow, records, case, principal)
    return case


async def add_signer(
    uow: ApprovalsUnitOfWork,
    records: RecordStore,
    *,
    case_id: uuid.UUID,
    signer: str,
    comment: str | None,
    principal: Principal,
) -> ApprovalCase:
    case = await uow.cases.get(case_id)
    if case is None:
        raise CaseNotFound(case_id)
    when = now()
    case.add_signer(
        signer=signer,
        actor=person_of(principal),
        comment=comment,
        directory=await uow.directory(),
        delegations=await active_delegations(uow.session, principal.sub, when),
        now=when,
    )
    await _save_and_publish(uow, records, case, principal)
    return case


async def withdraw(
    uow: ApprovalsUnitOfWork,
    records: RecordStore,
    *,
    case_id: uuid.UUID,
    comment: str | None,
    principal: Principal,
) -> ApprovalCase:
    case = await uow.cases.get(case_id)
    if case is None:
        raise CaseNotFound(case_id)
    case.withdraw(by=principal.sub, comment=comment, now=now())
    await _save_and_publish(uow, records, case, principal)
    return case


async def sweep_case(
    uow: ApprovalsUnitOfWork,
    records: RecordStore,
    case_id: uuid.UUID,
    at: datetime,
    system: Principal,
) -> int:
    """Reminders and escalation for one case; returns how many events it raised."""
    case = await uow.cases.get(case_id)
    if case is None:
        return 0
    case.sweep(at)
    raised = len(case.events)
    if raised:
        await _save_and_publish(uow, records, case, system)
    return raised


async def _save_and_publish(
    uow: ApprovalsUnitOfWork, records: RecordStore, case: ApprovalCase, principal: Principal
) -> None:
    await uow.cases.save(case)
    actor = principal.as_actor()
    waiting = sorted({t.assignee or f"role:{t.pool_role}" for t in case.open_tasks()})
    for event in case.events:
        if isinstance(event, CaseClosed):
            record = await _store_record(records, case)
            outcome = OUTCOMES[event.status]
            uow.emit(
                outcome(
                    request_id=case.request_id,
                    approval_case_id=case.id,
                    subject_type=case.subject_type,
                    subject_id=case.subject_id,
                    decided_by=event.by,
                    comment=event.comment,
                    record=record,
                ),
                case_id=case.case_id,
                actor=actor,
            )
        elif isinstance(event, ReminderDue):
            uow.emit(
                ApprovalReminder(
                    approval_case_id=case.id,
                    subject_type=case.subject_type,
                    subject_id=case.subject_id,
                    step=event.step,
                    percent=event.percent,
                    due_at=event.due_at,
                    waiting_on=waiting,
                ),
                case_id=case.case_id,
                actor=actor,
            )
        elif isinstance(event, StepEscalated):
            uow.emit(
                ApprovalEscalated(
                    approval_case_id=case.id,
                    subject_type=case.subject_type,
                    subject_id=case.subject_id,
                    step=event.step,
                    escalated_to_role=event.to_role,
                ),
                case_id=case.case_id,
                actor=actor,
            )
    case.events.clear()


def render_record(case: ApprovalCase) -> str:
    """The formal record (meeting minutes) of an approval: every decision and comment."""
    lines = [
        f"# Approval record: {case.title}",
        "",
        f"- Approval case: {case.id}",
        f"- Subject: {case.subject_type} {case.subject_id} (case {case.case_id})",
        f"- Policy: {case.policy} (process definition version {case.process_version})",
        f"- Requested by: {case.requester} ({case.department}) on {case.created_at.isoformat()}",
        f"- Outcome: {case.status.value} on "
        f"{case.closed_at.isoformat() if case.closed_at else '-'}",
        "",
        "## Decisions and comments",
        "",
        "| when (UTC) | step | action | by | on behalf of | rule | comment |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in case.trail:
        cells = [
            r.at.isoformat(timespec="seconds"),
            r.step or "",
            r.action,
            r.actor,
            r.on_behalf_of or "",
            r.rule or r.detail or "",
            (r.comment or "").replace("|", "\\|").replace("\n", " "),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


async def _store_record(records: RecordStore, case: ApprovalCase):  # type: ignore[no-untyped-def]
    body = render_record(case).encode()
    return await records.documents.put(
        bucket=records.bucket,
        key=f"{case.case_id}/{case.id}/record.md",
        stream=io.BytesIO(body),
        max_bytes=len(body),
        content_type="text/markdown",
        filename=f"approval-record-{case.id}.md",
        document_type="meeting_minutes",
    )
