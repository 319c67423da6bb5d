"""Use cases of approvals-svc: open a case from a policy of the process definition, decide,
transfer, add signers, withdraw, sweep time limits; publish outcomes with the decision record;
keep the directory and delegations; read inboxes and cases.

Commands run in a unit of work the bus commits; consumers' handlers run in the inbox's unit of
work; queries are never committed. Nothing here knows HTTP.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from approvals_svc.adapters.repository import ConcurrentUpdate
from approvals_svc.adapters.views import DelegationEntry, DirectoryEntry, InboxQuery, InboxTask
from approvals_svc.domain.model import (
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
from approvals_svc.service_layer.commands import (
    AddSigner,
    CreateDelegation,
    Decide,
    PutPerson,
    RevokeDelegation,
    SweepCase,
    SweepTimeLimits,
    Transfer,
    Withdraw,
)
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork
from guakao_shared.commands import CommandBus
from guakao_shared.events import (
    Actor,
    ApplicationWithdrawn,
    ApprovalDecided,
    ApprovalEscalated,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalReminder,
    ApprovalRequested,
    ApprovalReturned,
    ApprovalWithdrawn,
    DocumentRef,
    Envelope,
)
from guakao_shared.identity import Principal, Role, require_role, system_principal
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.process import PolicyDef, definition, latest_version
from guakao_shared.refusals import Invalid, NotFound, PermanentError

log = logging.getLogger(__name__)

OUTCOMES: dict[CaseStatus, type[ApprovalDecided]] = {
    CaseStatus.APPROVED: ApprovalGranted,
    CaseStatus.REJECTED: ApprovalRejected,
    CaseStatus.RETURNED: ApprovalReturned,
    CaseStatus.WITHDRAWN: ApprovalWithdrawn,
}
# Who may read any case (everyone else reads the cases they are involved in).
SEE_ALL = (Role.PROCESS_ADMIN, Role.AUDITOR, Role.COMPLIANCE_OFFICER)
# The service itself, reminding and escalating on a timer.
SLA = system_principal("approvals-sla")


class TaskNotFound(NotFound):
    def __init__(self, task_id: uuid.UUID) -> None:
        super().__init__(f"task {task_id} does not exist")


class CaseNotFound(NotFound):
    def __init__(self, case_id: uuid.UUID) -> None:
        super().__init__(f"approval case {case_id} does not exist or is not visible to you")


class DelegationNotFound(NotFound):
    def __init__(self, delegation_id: uuid.UUID) -> None:
        super().__init__(f"no active delegation {delegation_id} of yours")


class UnknownRoles(Invalid):
    def __init__(self, unknown: list[str]) -> None:
        super().__init__("roles", "known_role", f"unknown: {unknown}")
        self.args = (f"roles: unknown role(s) {unknown}",)


class SelfDelegation(Invalid):
    def __init__(self) -> None:
        super().__init__("delegate", "not_self", "must be someone else")
        self.args = ("delegate: you cannot delegate to yourself",)


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


# ---- consumers -----------------------------------------------------------------------------


async def open_approval_case(
    envelope: Envelope, payload: ApprovalRequested, uow: ApprovalsUnitOfWork
) -> None:
    """A service asked for an approval: open the case from the named policy."""
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
            now=uow.now(),
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
    """The applicant withdrew: close the pending approval case, if any."""
    if payload.request_id is None:
        return
    case = await uow.cases.get_by_request(payload.request_id)
    if case is None or case.status != CaseStatus.OPEN:
        return
    case.withdraw(by=case.requester, comment=payload.reason, now=uow.now())
    await uow.cases.save(case)
    case.events.clear()  # the requester's service already knows; nobody waits for an answer


# ---- task and case actions -----------------------------------------------------------------


async def _case_for_task(uow: ApprovalsUnitOfWork, task_id: uuid.UUID) -> ApprovalCase:
    case = await uow.cases.get_by_task(task_id)
    if case is None:
        raise TaskNotFound(task_id)
    return case


async def _case(uow: ApprovalsUnitOfWork, case_id: uuid.UUID) -> ApprovalCase:
    case = await uow.cases.get(case_id)
    if case is None:
        raise CaseNotFound(case_id)
    return case


async def decide(cmd: Decide, uow: ApprovalsUnitOfWork) -> ApprovalCase:
    """Approve, reject or return a task, directly or for a delegator."""
    case = await _case_for_task(uow, cmd.task_id)
    now = uow.now()
    case.decide(
        cmd.task_id,
        cmd.action,
        actor=person_of(cmd.actor),
        comment=cmd.comment,
        directory=await uow.directory(),
        delegations=await uow.delegations.active_for(cmd.actor.sub, now),
        now=now,
        return_to=cmd.return_to,
    )
    await _save_and_publish(uow, case, cmd.actor)
    return case


async def transfer(cmd: Transfer, uow: ApprovalsUnitOfWork) -> ApprovalCase:
    """Hand a task to someone else."""
    case = await _case_for_task(uow, cmd.task_id)
    now = uow.now()
    case.transfer(
        cmd.task_id,
        to=cmd.to,
        actor=person_of(cmd.actor),
        comment=cmd.comment,
        directory=await uow.directory(),
        delegations=await uow.delegations.active_for(cmd.actor.sub, now),
        now=now,
    )
    await _save_and_publish(uow, case, cmd.actor)
    return case


async def add_signer(cmd: AddSigner, uow: ApprovalsUnitOfWork) -> ApprovalCase:
    """A decider of the current step adds a signer to it (加签)."""
    case = await _case(uow, cmd.case_id)
    now = uow.now()
    case.add_signer(
        signer=cmd.signer,
        actor=person_of(cmd.actor),
        comment=cmd.comment,
        directory=await uow.directory(),
        delegations=await uow.delegations.active_for(cmd.actor.sub, now),
        now=now,
    )
    await _save_and_publish(uow, case, cmd.actor)
    return case


async def withdraw(cmd: Withdraw, uow: ApprovalsUnitOfWork) -> ApprovalCase:
    """The requester withdraws the request."""
    case = await _case(uow, cmd.case_id)
    case.withdraw(by=cmd.actor.sub, comment=cmd.comment, now=uow.now())
    await _save_and_publish(uow, case, cmd.actor)
    return case


# ---- time limits ---------------------------------------------------------------------------


async def sweep_case(cmd: SweepCase, uow: ApprovalsUnitOfWork) -> int:
    """Reminders and escalation for one case; returns how many events it raised."""
    case = await uow.cases.get(cmd.case_id)
    if case is None:
        return 0
    case.sweep(cmd.now)
    raised = len(case.events)
    if raised:
        await _save_and_publish(uow, case, cmd.actor)
    return raised


async def open_case_ids(uow: ApprovalsUnitOfWork) -> list[uuid.UUID]:
    return await uow.cases.open_case_ids()


async def sweep_time_limits(bus: CommandBus[ApprovalsUnitOfWork], now: datetime) -> int:
    """The SLA sweep: reminders at 50% and 75% of each open step's time limit, escalation at
    breach, as the service itself. One transaction per case: a decision that races the sweep
    costs only that case, which the next sweep sees in its new state. Returns the events raised.
    """
    raised = 0
    for case_id in await bus.query(open_case_ids):
        try:
            raised += await bus.handle(SweepCase(actor=SLA, case_id=case_id, now=now), sweep_case)
        except ConcurrentUpdate:
            continue
    return raised


async def run_sla_sweep(cmd: SweepTimeLimits, bus: CommandBus[ApprovalsUnitOfWork]) -> int:
    """A process admin runs the SLA sweep now (or as of a later time, in tests and drills)."""
    require_role(cmd.actor, Role.PROCESS_ADMIN, action="running the SLA sweep")
    return await sweep_time_limits(bus, cmd.now)


# ---- directory and delegations -------------------------------------------------------------


async def put_person(cmd: PutPerson, uow: ApprovalsUnitOfWork) -> DirectoryEntry:
    """Add or update a person of the directory."""
    require_role(cmd.actor, Role.PROCESS_ADMIN, action="maintaining the directory")
    unknown = set(cmd.roles) - {r.value for r in Role}
    if unknown:
        raise UnknownRoles(sorted(unknown))
    entry = DirectoryEntry(
        sub=cmd.sub,
        name=cmd.name,
        department=cmd.department,
        roles=cmd.roles,
        manager=cmd.manager,
        updated_at=uow.now(),
    )
    await uow.people.put(entry)
    return entry


async def create_delegation(cmd: CreateDelegation, uow: ApprovalsUnitOfWork) -> DelegationEntry:
    """Let someone decide my tasks for a time window (they act for me)."""
    if cmd.delegate == cmd.actor.sub:
        raise SelfDelegation()
    entry = DelegationEntry(
        id=uuid.uuid4(),
        delegator=cmd.actor.sub,
        delegate=cmd.delegate,
        starts=cmd.starts,
        ends=cmd.ends,
        reason=cmd.reason,
        created_at=uow.now(),
    )
    await uow.delegations.add(entry)
    return entry


async def revoke_delegation(cmd: RevokeDelegation, uow: ApprovalsUnitOfWork) -> None:
    if not await uow.delegations.revoke(cmd.delegation_id, delegator=cmd.actor.sub, now=uow.now()):
        raise DelegationNotFound(cmd.delegation_id)


# ---- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskFilter:
    status: str = "OPEN"
    policy: str | None = None
    subject_type: str | None = None
    overdue: bool = False


async def inbox(
    uow: ApprovalsUnitOfWork, principal: Principal, filters: TaskFilter, page: PageRequest
) -> Slice[InboxTask]:
    """Tasks assigned to me or pooled to my roles, and those I can decide as a delegate; never
    those of my own requests."""
    now = uow.now()
    who: list[tuple[str | None, str | None, str | None]] = [(principal.sub, None, None)]
    who += [(None, role, principal.department) for role in principal.roles]
    directory = await uow.directory()
    for d in await uow.delegations.active_for(principal.sub, now):
        delegator = directory.person(d.delegator)
        who.append((d.delegator, None, None))
        if delegator is not None:
            who += [(None, role, delegator.department) for role in delegator.roles]
    query = InboxQuery(
        who=tuple(who),
        requester_not=principal.sub,
        status=filters.status,
        policy=filters.policy,
        subject_type=filters.subject_type,
        overdue_at=now if filters.overdue else None,
    )
    return await uow.cases.inbox(query, page)


async def visible_case(
    uow: ApprovalsUnitOfWork, case_id: uuid.UUID, *, principal: Principal
) -> ApprovalCase:
    """The case, if the principal is involved in it (or may see every case)."""
    case = await _case(uow, case_id)
    involved = (
        {case.requester} | {t.assignee for t in case.tasks} | {t.decided_by for t in case.tasks}
    )
    pooled = {t.pool_role for t in case.tasks}
    if principal.sub in involved or principal.roles & pooled or principal.has_any(*SEE_ALL):
        return case
    raise CaseNotFound(case_id)


async def people(uow: ApprovalsUnitOfWork, page: PageRequest) -> Slice[DirectoryEntry]:
    return await uow.people.list(page)


async def delegations_of(
    uow: ApprovalsUnitOfWork, principal: Principal, page: PageRequest
) -> Slice[DelegationEntry]:
    """Delegations the principal gave or received."""
    return await uow.delegations.given_or_received(principal.sub, page)


# ---- publishing ----------------------------------------------------------------------------


async def _save_and_publish(
    uow: ApprovalsUnitOfWork, case: ApprovalCase, principal: Principal
) -> None:
    await uow.cases.save(case)
    actor = Actor.of(principal)
    waiting = sorted({t.assignee or f"role:{t.pool_role}" for t in case.open_tasks()})
    for event in case.events:
        if isinstance(event, CaseClosed):
            record = await _store_record(uow, case)
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


async def _store_record(uow: ApprovalsUnitOfWork, case: ApprovalCase) -> DocumentRef:
    return await uow.records.put(
        key=f"{case.case_id}/{case.id}/record.md",
        body=render_record(case).encode(),
        filename=f"approval-record-{case.id}.md",
    )
