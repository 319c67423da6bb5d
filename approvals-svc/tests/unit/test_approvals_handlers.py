"""approvals-svc's use cases on an in-memory unit of work: which case they open, what they
store, what they refuse and which events they emit."""

from __future__ import annotations

import copy
import hashlib
import uuid
from datetime import datetime

import pytest
from approvals_builders import (
    ADA,
    ALICE,
    CASE_ID,
    HOUR,
    NOW,
    PEOPLE,
    REQUEST_ID,
    RITA,
    Org,
    application_withdrawn,
    approval_requested,
    decide,
    delegation,
    envelope,
    principal,
    put_person,
    sweep,
    withdraw,
)

from approvals_svc.adapters.repository import ConcurrentUpdate
from approvals_svc.adapters.views import DelegationEntry, DirectoryEntry, InboxQuery, InboxTask
from approvals_svc.domain.model import (
    Action,
    ApprovalCase,
    CaseStatus,
    CommentRequired,
    Delegation,
    NotAllowed,
    Person,
    TaskStatus,
)
from approvals_svc.service_layer import handlers
from approvals_svc.service_layer.commands import RevokeDelegation
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork
from guakao_shared.commands import CommandBus
from guakao_shared.events import (
    ApprovalEscalated,
    ApprovalGranted,
    ApprovalReminder,
    ApprovalWithdrawn,
    DocumentRef,
)
from guakao_shared.idempotency import IdempotencyKeyReused
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.refusals import Invalid, NotFound, NotPermitted, PermanentError
from guakao_shared.testing import RecordingUnitOfWork

# ---- the fake unit of work -----------------------------------------------------------------


class MemoryCases:
    """Cases as the database keeps them: copies, so only a save changes what is stored, and a
    save of a stale copy is refused like the optimistic lock does."""

    def __init__(self) -> None:
        self.stored: dict[uuid.UUID, ApprovalCase] = {}

    def _copy(self, case: ApprovalCase) -> ApprovalCase:
        kept = copy.deepcopy(case)
        kept.events.clear()
        return kept

    async def exists_for_request(self, request_id: uuid.UUID) -> bool:
        return any(c.request_id == request_id for c in self.stored.values())

    async def get(self, case_id: uuid.UUID) -> ApprovalCase | None:
        found = self.stored.get(case_id)
        return None if found is None else self._copy(found)

    async def get_by_request(self, request_id: uuid.UUID) -> ApprovalCase | None:
        found = next((c for c in self.stored.values() if c.request_id == request_id), None)
        return None if found is None else self._copy(found)

    async def get_by_task(self, task_id: uuid.UUID) -> ApprovalCase | None:
        found = next(
            (c for c in self.stored.values() if any(t.id == task_id for t in c.tasks)), None
        )
        return None if found is None else self._copy(found)

    async def add(self, case: ApprovalCase) -> None:
        case.version = 1
        self.stored[case.id] = self._copy(case)

    async def save(self, case: ApprovalCase) -> None:
        if self.stored[case.id].version != case.version:
            raise ConcurrentUpdate(f"approval case {case.id} was changed concurrently")
        case.version += 1
        self.stored[case.id] = self._copy(case)

    async def inbox(self, query: InboxQuery, page: PageRequest) -> Slice[InboxTask]:
        raise NotImplementedError("the inbox query is SQL: tested end to end")

    async def open_case_ids(self) -> list[uuid.UUID]:
        return [c.id for c in self.stored.values() if c.status == CaseStatus.OPEN]

    def only(self) -> ApprovalCase:
        [case] = self.stored.values()
        return case


class MemoryPeople:
    def __init__(self, *people: Person) -> None:
        self.entries = {
            p.sub: DirectoryEntry(p.sub, None, p.department, tuple(p.roles), p.manager, NOW)
            for p in people
        }

    async def directory(self) -> Org:
        return Org(*(e.person() for e in self.entries.values()))

    async def put(self, entry: DirectoryEntry) -> None:
        self.entries[entry.sub] = entry

    async def list(self, page: PageRequest) -> Slice[DirectoryEntry]:
        found = sorted(self.entries.values(), key=lambda e: e.sub)
        return Slice(found[page.offset : page.offset + page.limit], len(found), page)


class MemoryDelegations:
    def __init__(self) -> None:
        self.entries: dict[uuid.UUID, DelegationEntry] = {}

    async def add(self, entry: DelegationEntry) -> None:
        self.entries[entry.id] = entry

    async def active_for(self, delegate: str, now: datetime) -> list[Delegation]:
        return [
            e.delegation()
            for e in self.entries.values()
            if e.delegate == delegate and e.revoked_at is None and e.starts <= now < e.ends
        ]

    async def given_or_received(self, sub: str, page: PageRequest) -> Slice[DelegationEntry]:
        found = [e for e in self.entries.values() if sub in (e.delegator, e.delegate)]
        return Slice(found[page.offset : page.offset + page.limit], len(found), page)

    async def revoke(self, delegation_id: uuid.UUID, *, delegator: str, now: datetime) -> bool:
        found = self.entries.get(delegation_id)
        if found is None or found.delegator != delegator or found.revoked_at is not None:
            return False
        self.entries[delegation_id] = DelegationEntry(**{**found.__dict__, "revoked_at": now})
        return True


class MemoryRecords:
    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    async def put(self, *, key: str, body: bytes, filename: str) -> DocumentRef:
        self.bodies[key] = body
        return DocumentRef(
            bucket="guakao-approvals",
            key=key,
            sha256=hashlib.sha256(body).hexdigest(),
            size=len(body),
            content_type="text/markdown",
            filename=filename,
            document_type="meeting_minutes",
        )


class FakeApprovalsUnitOfWork(RecordingUnitOfWork, ApprovalsUnitOfWork):
    cases: MemoryCases
    people: MemoryPeople
    delegations: MemoryDelegations
    records: MemoryRecords

    def __init__(self, *people: Person) -> None:
        super().__init__(NOW)
        self.cases = MemoryCases()
        self.people = MemoryPeople(*people)
        self.delegations = MemoryDelegations()
        self.records = MemoryRecords()


@pytest.fixture
def uow() -> FakeApprovalsUnitOfWork:
    return FakeApprovalsUnitOfWork(*PEOPLE)


@pytest.fixture
def bus(uow: FakeApprovalsUnitOfWork) -> CommandBus[ApprovalsUnitOfWork]:
    return CommandBus(lambda: uow)


async def opened(uow: FakeApprovalsUnitOfWork) -> ApprovalCase:
    """The case of alice's application, opened as the consumer opens it."""
    await handlers.open_approval_case(envelope(approval_requested()), approval_requested(), uow)
    await uow.commit()
    return uow.cases.only()


def the_task(case: ApprovalCase) -> uuid.UUID:
    [task] = case.open_tasks()
    return task.id


# ---- opening a case from approval.requested ------------------------------------------------


async def test_a_requested_approval_opens_a_case_from_the_named_policy(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    case = await opened(uow)

    assert (case.request_id, case.case_id, case.requester) == (REQUEST_ID, CASE_ID, "alice")
    assert [s.rule.name for s in case.steps] == ["necessity review"]  # under the committee limit
    [task] = case.open_tasks()
    assert (task.pool_role, task.pool_department) == ("dept_head", "it")
    assert case.created_at == NOW
    assert uow.published == []  # opening tells nobody: the requester waits for the outcome


async def test_an_amount_above_the_limit_adds_the_committee(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    request = approval_requested(amount={"amount": "1500000.00", "currency": "CNY"})
    await handlers.open_approval_case(envelope(request), request, uow)

    assert [s.rule.name for s in uow.cases.only().steps] == [
        "necessity review",
        "committee approval",
    ]


async def test_a_request_delivered_twice_opens_one_case(uow: FakeApprovalsUnitOfWork) -> None:
    await opened(uow)
    await opened(uow)
    assert len(uow.cases.stored) == 1


async def test_a_request_for_an_unknown_policy_is_dead_lettered(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    request = approval_requested(policy="no.such_policy")
    with pytest.raises(PermanentError):
        await handlers.open_approval_case(envelope(request), request, uow)
    assert uow.cases.stored == {}


# ---- deciding ------------------------------------------------------------------------------


async def test_an_approval_closes_the_case_and_announces_it_with_the_record(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    case = await opened(uow)

    decided = await handlers.decide(decide(the_task(case), by=RITA, comment="worth it"), uow)
    await uow.commit()

    assert decided.status == CaseStatus.APPROVED
    assert uow.cases.only().status == CaseStatus.APPROVED
    [granted] = uow.events(ApprovalGranted)
    assert (granted.request_id, granted.decided_by, granted.comment) == (
        REQUEST_ID,
        "rita",
        "worth it",
    )
    assert granted.record is not None
    minutes = uow.records.bodies[granted.record.key].decode()
    assert "| approve | rita |" in minutes and "worth it" in minutes
    assert uow.published[0].actor.sub == "rita"


async def test_rejecting_without_a_comment_is_refused_and_changes_nothing(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    case = await opened(uow)

    with pytest.raises(CommentRequired):
        await handlers.decide(decide(the_task(case), action=Action.REJECT, comment=None), uow)

    assert uow.cases.only().status == CaseStatus.OPEN
    assert uow.published == []


async def test_the_requester_cannot_decide_their_own_request(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    case = await opened(uow)
    both = principal("alice", "applicant", "dept_head", department="it")

    with pytest.raises(NotAllowed) as refused:
        await handlers.decide(decide(the_task(case), by=both), uow)
    assert refused.value.problem_extra["rule"] == "sod.own_request"


async def test_a_delegate_decides_for_the_delegator(uow: FakeApprovalsUnitOfWork) -> None:
    case = await opened(uow)
    await handlers.create_delegation(delegation("dan", by=RITA), uow)

    decided = await handlers.decide(decide(the_task(case), by=principal("dan")), uow)

    [done] = [t for t in decided.tasks if t.status == TaskStatus.DONE]
    assert (done.decided_by, done.on_behalf_of) == ("dan", "rita")


async def test_deciding_a_task_that_does_not_exist_is_not_found(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        await handlers.decide(decide(uuid.uuid4()), uow)


async def test_a_key_reused_with_another_comment_is_refused(
    uow: FakeApprovalsUnitOfWork, bus: CommandBus[ApprovalsUnitOfWork]
) -> None:
    task_id = the_task(await opened(uow))
    await bus.run(decide(task_id, comment="agreed"), handlers.decide, idempotency_key="k-1")

    with pytest.raises(IdempotencyKeyReused):
        await bus.run(decide(task_id, comment="fine"), handlers.decide, idempotency_key="k-1")
    assert len(uow.events(ApprovalGranted)) == 1


# ---- withdrawal ----------------------------------------------------------------------------


async def test_the_requester_withdraws_and_waiting_services_hear_why(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    case = await opened(uow)

    withdrawn = await handlers.withdraw(withdraw(case.id, comment="budget cut"), uow)
    await uow.commit()

    assert withdrawn.status == CaseStatus.WITHDRAWN and withdrawn.open_tasks() == []
    [event] = uow.events(ApprovalWithdrawn)
    assert (event.decided_by, event.comment) == ("alice", "budget cut")


async def test_only_the_requester_may_withdraw(uow: FakeApprovalsUnitOfWork) -> None:
    case = await opened(uow)
    with pytest.raises(NotAllowed):
        await handlers.withdraw(withdraw(case.id, by=RITA), uow)
    assert uow.cases.only().status == CaseStatus.OPEN


async def test_a_withdrawn_application_withdraws_its_case_quietly(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    await opened(uow)
    withdrawn = application_withdrawn(reason="merged into another project")

    await handlers.withdraw_on_request(envelope(withdrawn), withdrawn, uow)
    await uow.commit()

    case = uow.cases.only()
    assert case.status == CaseStatus.WITHDRAWN
    assert case.trail[-1].comment == "merged into another project"
    assert uow.published == []  # applications already knows


# ---- time limits ---------------------------------------------------------------------------


async def test_the_sweep_reminds_then_escalates_to_the_process_admin(
    uow: FakeApprovalsUnitOfWork, bus: CommandBus[ApprovalsUnitOfWork]
) -> None:
    case = await opened(uow)  # the necessity review allows 72 hours

    assert await handlers.run_sla_sweep(sweep(NOW + 40 * HOUR), bus) == 1
    assert await handlers.run_sla_sweep(sweep(NOW + 100 * HOUR), bus) == 2
    assert await handlers.run_sla_sweep(sweep(NOW + 101 * HOUR), bus) == 0

    assert [r.percent for r in uow.events(ApprovalReminder)] == [50, 75]
    [escalated] = uow.events(ApprovalEscalated)
    assert (escalated.approval_case_id, escalated.escalated_to_role) == (case.id, "process_admin")
    assert {e.actor.sub for e in uow.published} == {"approvals-sla"}
    escalation = [t for t in uow.cases.only().open_tasks() if t.escalation]
    assert [t.pool_role for t in escalation] == ["process_admin"]


async def test_only_a_process_admin_runs_the_sweep_by_hand(
    uow: FakeApprovalsUnitOfWork, bus: CommandBus[ApprovalsUnitOfWork]
) -> None:
    await opened(uow)
    with pytest.raises(NotPermitted, match="process_admin"):
        await handlers.run_sla_sweep(sweep(NOW + 100 * HOUR, by=RITA), bus)
    assert uow.published == []


async def test_the_timer_sweep_runs_as_the_service(
    uow: FakeApprovalsUnitOfWork, bus: CommandBus[ApprovalsUnitOfWork]
) -> None:
    await opened(uow)
    assert await handlers.sweep_time_limits(bus, NOW + 40 * HOUR) == 1
    assert [e.actor.sub for e in uow.published] == ["approvals-sla"]


# ---- directory and delegations -------------------------------------------------------------


async def test_the_directory_refuses_unknown_roles(uow: FakeApprovalsUnitOfWork) -> None:
    with pytest.raises(Invalid) as refused:
        await handlers.put_person(put_person("boss", "overlord"), uow)
    assert refused.value.rule == "known_role"
    assert "boss" not in uow.people.entries


async def test_only_a_process_admin_maintains_the_directory(
    uow: FakeApprovalsUnitOfWork,
) -> None:
    with pytest.raises(NotPermitted):
        await handlers.put_person(put_person("tina", "tech_lead", by=RITA), uow)
    await handlers.put_person(put_person("tina", "tech_lead", by=ADA, department="it"), uow)
    assert uow.people.entries["tina"].roles == ("tech_lead",)


async def test_nobody_delegates_to_themself(uow: FakeApprovalsUnitOfWork) -> None:
    with pytest.raises(Invalid) as refused:
        await handlers.create_delegation(delegation("rita", by=RITA), uow)
    assert refused.value.rule == "not_self"


async def test_only_the_delegator_revokes_a_delegation(uow: FakeApprovalsUnitOfWork) -> None:
    given = await handlers.create_delegation(delegation("dan", by=RITA), uow)

    with pytest.raises(NotFound):
        await handlers.revoke_delegation(RevokeDelegation(actor=ALICE, delegation_id=given.id), uow)
    await handlers.revoke_delegation(RevokeDelegation(actor=RITA, delegation_id=given.id), uow)
    assert await uow.delegations.active_for("dan", NOW) == []
