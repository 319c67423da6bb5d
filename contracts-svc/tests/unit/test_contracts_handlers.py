"""The use cases of contracts-svc on a unit of work in memory: drafting from plan.approved,
the approval request, the filing handshake with the archive and the sweep, and what each
refuses. Assertions are on what is stored and on the events committed."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from contracts_builders import (
    ADA,
    LEO,
    MANDATORY_CLAUSES,
    OLGA,
    PARTIES,
    T0,
    FakeContractsUnitOfWork,
    approved,
    filing_failed,
    plan_approved,
    principal,
    ready,
    record_filed,
    signed,
)

from contracts_svc.domain.model import Contract, Filing, MissingClauses, Status
from contracts_svc.service_layer import handlers
from contracts_svc.service_layer.commands import (
    AssignCustodian,
    EditClause,
    RunSweep,
    Sign,
    SubmitForApproval,
)
from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared.commands import CommandBus
from guakao_shared.events import (
    ApprovalRequested,
    ContractExpiring,
    ContractFilingRequested,
    ContractSigned,
)
from guakao_shared.idempotency import IdempotencyKeyReused
from guakao_shared.process import definition
from guakao_shared.refusals import NotFound, NotPermitted

# ---- drafting ------------------------------------------------------------------------------


async def test_an_approved_plan_is_drafted_at_its_budget_total_with_the_mandatory_clauses() -> None:
    uow = FakeContractsUnitOfWork()
    envelope, plan = plan_approved(budget_total="1480000.00", requested_funds="1500000")

    await handlers.draft_from_plan(envelope, plan, uow)
    await uow.commit()

    c = uow.only()
    assert (c.value, c.currency) == (Decimal("1480000.00"), "CNY")
    assert c.mandatory_clauses == tuple(definition(plan.process_version).mandatory_clauses)
    assert list(c.current.clauses) == list(MANDATORY_CLAUSES)
    assert c.status == Status.DRAFT and c.current.number == 1
    # the first version is rendered and stored as it is made, with its SHA-256
    document = c.current.document
    assert document is not None
    assert hashlib.sha256(uow.memory_documents.bodies[document.key]).hexdigest() == document.sha256


async def test_a_plan_from_an_older_producer_is_valued_at_the_requested_funds() -> None:
    uow = FakeContractsUnitOfWork()
    envelope, plan = plan_approved(budget_total=None, requested_funds="1500000")

    await handlers.draft_from_plan(envelope, plan, uow)

    assert uow.only().value == Decimal("1500000")


async def test_a_redelivered_plan_approval_drafts_one_contract() -> None:
    uow = FakeContractsUnitOfWork()
    envelope, plan = plan_approved()

    await handlers.draft_from_plan(envelope, plan, uow)
    await handlers.draft_from_plan(envelope, plan, uow)

    assert len(uow.memory.rows) == 1


# ---- approval ------------------------------------------------------------------------------


async def test_submitting_asks_for_approval_under_the_policy_of_the_drafting_step() -> None:
    contract = ready()
    uow = FakeContractsUnitOfWork(contract)

    await handlers.submit(SubmitForApproval(actor=LEO, contract_id=contract.id), uow)
    await uow.commit()

    (request,) = uow.events(ApprovalRequested)
    assert request.policy == definition().approval_policy("contract", "draft_contract")
    assert (request.subject_type, request.subject_id) == ("contract", contract.id)
    assert request.amount is not None and request.amount.amount == contract.value
    assert uow.stored(contract.id).status == Status.IN_APPROVAL


async def test_submitting_with_a_mandatory_clause_missing_is_refused_and_changes_nothing() -> None:
    contract = ready()
    uow = FakeContractsUnitOfWork(contract)
    remove = EditClause(actor=LEO, contract_id=contract.id, clause_type="ip_ownership", text=" ")
    await handlers.edit_clause(remove, uow)
    await uow.commit()
    before = uow.stored(contract.id)

    with pytest.raises(MissingClauses) as refused:
        await handlers.submit(SubmitForApproval(actor=LEO, contract_id=contract.id), uow)

    assert refused.value.problem_extra["missing_clauses"] == ["ip_ownership"]
    assert uow.stored(contract.id) == before
    assert uow.events(ApprovalRequested) == []


async def test_a_contract_the_principal_may_not_see_is_not_found() -> None:
    contract = ready()
    uow = FakeContractsUnitOfWork(contract)
    outsider = principal("mallory", "applicant", department="elsewhere")

    with pytest.raises(NotFound):
        await handlers.submit(SubmitForApproval(actor=outsider, contract_id=contract.id), uow)


async def test_only_legal_an_admin_or_the_current_custodian_assigns_custody() -> None:
    contract = ready()
    uow = FakeContractsUnitOfWork(contract)
    transfer = AssignCustodian(actor=OLGA, contract_id=contract.id, custodian="olga")

    with pytest.raises(NotPermitted, match="assigning the custodian requires"):
        await handlers.assign_custodian(transfer, uow)

    carl = principal("carl", "custodian")
    await handlers.assign_custodian(
        AssignCustodian(actor=carl, contract_id=contract.id, custodian="dora", reason="leave"),
        uow,
    )
    assert uow.stored(contract.id).custodian == "dora"


# ---- filing answers and the sweep ----------------------------------------------------------


async def sign_by_every_party(uow: FakeContractsUnitOfWork, c: Contract) -> None:
    version = c.approved_version or 0
    for party in PARTIES:
        signer = principal(party.signatory, "dept_head")
        await handlers.sign(
            Sign(
                actor=signer,
                contract_id=c.id,
                party=party.name,
                version=version,
                document_sha256="a" * 64,
            ),
            uow,
        )
    await uow.commit()


async def test_the_last_signature_publishes_the_documents_to_file() -> None:
    contract = approved()
    uow = FakeContractsUnitOfWork(contract)

    await sign_by_every_party(uow, contract)

    (signed_event,) = uow.events(ContractSigned)
    kinds = [d.document_type for d in signed_event.documents]
    assert kinds == ["signed_contract", "signature_evidence"]
    assert uow.stored(contract.id).status == Status.SIGNED


async def test_the_archives_answer_marks_the_contract_filed_once() -> None:
    contract = signed()
    uow = FakeContractsUnitOfWork(contract)
    envelope, filed = record_filed(contract)

    await handlers.record_filed(envelope, filed, uow)
    await handlers.record_filed(*record_filed(contract), uow)  # a second answer: ignored

    stored = uow.stored(contract.id)
    assert (stored.filing.status, stored.filing.record_id) == (Filing.FILED, filed.record_id)


async def test_a_failed_filing_is_requested_again_by_the_sweep_after_its_backoff() -> None:
    contract = approved()
    uow = FakeContractsUnitOfWork(contract)
    await sign_by_every_party(uow, contract)
    await handlers.record_filing_failed(*filing_failed(uow.stored(contract.id)), uow)
    bus = CommandBus[ContractsUnitOfWork](lambda: uow)
    assert uow.stored(contract.id).filing.status == Filing.FAILED

    later = uow.stored(contract.id).filing.next_attempt_at
    assert later is not None
    await handlers.sweep(bus, later + timedelta(seconds=1))

    (again,) = uow.events(ContractFilingRequested)
    assert (again.contract_id, again.attempt) == (contract.id, 2)
    assert again.documents == uow.events(ContractSigned)[0].documents
    assert uow.stored(contract.id).filing.status == Filing.REQUESTED


async def test_a_filing_the_archive_refuses_for_good_waits_for_a_person() -> None:
    contract = signed()
    uow = FakeContractsUnitOfWork(contract)
    await handlers.record_filing_failed(*filing_failed(contract, retryable=False), uow)

    await handlers.sweep(CommandBus[ContractsUnitOfWork](lambda: uow), T0 + timedelta(days=30))

    assert uow.events(ContractFilingRequested) == []
    assert uow.stored(contract.id).filing.status == Filing.FAILED


async def test_the_sweep_announces_the_nearest_expiry_threshold_once() -> None:
    contract = signed()  # ends 2027-12-31
    uow = FakeContractsUnitOfWork(contract)
    bus = CommandBus[ContractsUnitOfWork](lambda: uow)
    at = T0.replace(year=2027, month=12, day=21)

    assert await handlers.run_sweep(RunSweep(actor=ADA, now=at), bus) == 1
    assert await handlers.run_sweep(RunSweep(actor=ADA, now=at), bus) == 0

    (reminder,) = uow.events(ContractExpiring)
    assert reminder.days_left == 10


async def test_only_a_process_admin_runs_the_sweep_by_hand() -> None:
    bus = CommandBus[ContractsUnitOfWork](FakeContractsUnitOfWork)

    with pytest.raises(NotPermitted, match="running the contracts sweep"):
        await handlers.run_sweep(RunSweep(actor=LEO, now=T0), bus)


# ---- idempotency: the whole command is the fingerprint -------------------------------------


async def test_a_reused_key_with_another_reason_is_refused() -> None:
    contract = ready()
    uow = FakeContractsUnitOfWork(contract)
    bus = CommandBus[ContractsUnitOfWork](lambda: uow)
    first = AssignCustodian(actor=LEO, contract_id=contract.id, custodian="carl", reason="office")

    await bus.run(first, handlers.assign_custodian, idempotency_key="k-123456")
    replayed = await bus.run(first, handlers.assign_custodian, idempotency_key="k-123456")

    assert replayed.replayed
    with pytest.raises(IdempotencyKeyReused):
        await bus.run(
            AssignCustodian(actor=LEO, contract_id=contract.id, custodian="carl", reason="other"),
            handlers.assign_custodian,
            idempotency_key="k-123456",
        )
    assert [x.reason for x in uow.stored(contract.id).custody] == [None, "office"]


def test_a_command_fingerprint_covers_every_field_but_the_actor() -> None:
    cid = uuid.uuid4()
    one = AssignCustodian(actor=LEO, contract_id=cid, custodian="carl", reason="a")
    assert (
        one.fingerprint()
        == AssignCustodian(actor=OLGA, contract_id=cid, custodian="carl", reason="a").fingerprint()
    )
    assert (
        one.fingerprint()
        != AssignCustodian(actor=LEO, contract_id=cid, custodian="carl", reason="b").fingerprint()
    )
