"""The wire format: envelopes carry versioned payloads; readers are tolerant of what they
do not know, strict about what they do."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from guakao_shared.events import (
    EVENT_TYPES,
    Actor,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ApprovalEscalated,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalReminder,
    ApprovalRequested,
    ApprovalReturned,
    ApprovalStepClosed,
    ApprovalStepOpened,
    ApprovalTaskAssigned,
    ApprovalTaskDecided,
    ApprovalTaskStarted,
    ApprovalWithdrawn,
    ArchivedDocument,
    CaseStatusChanged,
    ContractExpiring,
    ContractFilingRequested,
    ContractSigned,
    DocumentRef,
    Envelope,
    EventData,
    Money,
    Obligation,
    Party,
    PlanApproved,
    PlanSnapshot,
    RecordFiled,
    RecordFilingFailed,
    RiskRegistered,
    SignatureRecord,
)

ACTOR = Actor(sub="alice", department="it", roles=["applicant"])
CASE_ID = uuid.UUID("11111111-1111-1111-1111-111111111111")

DOCUMENT = {
    "bucket": "guakao-applications",
    "key": "applications/1/proposal.pdf",
    "version_id": "v1",
    "sha256": "0123456789abcdef" * 4,
    "size": 2048,
    "content_type": "application/pdf",
    "filename": "proposal.pdf",
    "document_type": "proposal",
}

TASK_ID = uuid.UUID("22222222-2222-2222-2222-222222222222")
# What every event of one step of an approval case carries.
FLOW = {
    "approval_case_id": uuid.UUID("33333333-3333-3333-3333-333333333333"),
    "request_id": uuid.UUID("44444444-4444-4444-4444-444444444444"),
    "subject_type": "application",
    "subject_id": CASE_ID,
    "policy": "application.necessity_review",
    "process_version": 1,
    "step": "committee approval",
    "step_index": 1,
    "round": 2,
}

SAMPLES: dict[tuple[str, int], EventData] = {
    ("application.submitted", 1): ApplicationSubmitted(
        application_id=CASE_ID,
        title="ERP migration",
        applicant="alice",
        department="it",
        requested_funds=Money(amount=Decimal("120000.50"), currency="CNY"),
        start_date=date(2025, 4, 1),
        end_date=date(2025, 9, 30),
        materials=[DocumentRef(**DOCUMENT)],
    ),
    ("application.withdrawn", 1): ApplicationWithdrawn(
        application_id=CASE_ID, request_id=uuid.uuid4(), reason="merged into another project"
    ),
    ("plan.approved", 1): PlanApproved(
        application_id=CASE_ID,
        title="ERP migration",
        applicant="alice",
        department="it",
        requested_funds=Money(amount=Decimal("120000.50"), currency="CNY"),
        start_date=date(2025, 4, 1),
        end_date=date(2025, 9, 30),
        process_version=1,
        plan=PlanSnapshot(
            version=3,
            technical={"cooperation_mode": "fixed price"},
            finance={"budget": [{"item": "licences", "amount": "1000.00"}]},
            contract_terms={"scope_of_cooperation": "ERP delivery"},
            signed_off_by={"technical": "tina", "finance": "fiona"},
        ),
        minutes=DocumentRef(**DOCUMENT),
    ),
    ("contract.signed", 1): ContractSigned(
        contract_id=uuid.uuid4(),
        application_id=CASE_ID,
        contract_number="GK-2027-0001",
        version=4,
        title="ERP migration",
        value=Money(amount=Decimal("1500000.00"), currency="CNY"),
        start_date=date(2027, 1, 1),
        end_date=date(2027, 12, 31),
        parties=[Party(name="Guakao Group", kind="organisation", signatory="olga")],
        custodian="carl",
        documents=[DocumentRef(**DOCUMENT)],
        signatures=[
            SignatureRecord(
                signer="olga",
                role="dept_head",
                organisation="Guakao Group",
                signed_at=datetime(2027, 1, 2, tzinfo=UTC),
                method="builtin-hmac-sha256",
                document_sha256="ab" * 32,
            )
        ],
        obligations=[
            Obligation(
                kind="payment",
                description="first milestone",
                due_date=date(2027, 4, 30),
                owner="fiona",
                amount=Money(amount=Decimal("10.00"), currency="CNY"),
            )
        ],
    ),
    ("contract.filing_requested", 1): ContractFilingRequested(
        contract_id=uuid.uuid4(),
        application_id=CASE_ID,
        version=4,
        custodian="carl",
        documents=[DocumentRef(**DOCUMENT)],
        attempt=2,
    ),
    ("contract.expiry_reminder", 1): ContractExpiring(
        contract_id=uuid.uuid4(),
        contract_number="GK-2027-0001",
        end_date=date(2027, 12, 31),
        days_left=15,
        custodian="carl",
    ),
    ("record.filed", 1): RecordFiled(
        record_id=uuid.uuid4(),
        source_type="contract",
        source_id=uuid.uuid4(),
        source_version=4,
        record_class="contract",
        retention_until=datetime(2037, 1, 1, tzinfo=UTC),
        ledger_seq=7,
        documents=[
            ArchivedDocument(
                sha256="ab" * 32,
                size=10,
                archive_bucket="guakao-archive",
                archive_key="contract/x/y/z",
                source_key="x/v4.md",
            )
        ],
    ),
    ("record.filing_failed", 1): RecordFilingFailed(
        source_type="contract",
        source_id=uuid.uuid4(),
        source_version=4,
        reason="sha256 mismatch",
        retryable=False,
    ),
    ("approval.requested", 1): ApprovalRequested(
        request_id=uuid.uuid4(),
        subject_type="application",
        subject_id=CASE_ID,
        policy="application.necessity_review",
        title="ERP migration",
        requester="alice",
        department="it",
        amount=Money(amount=Decimal("10.00"), currency="EUR"),
        attributes={"risk": "medium"},
    ),
    ("approval.granted", 1): ApprovalGranted(
        request_id=uuid.uuid4(),
        approval_case_id=uuid.uuid4(),
        subject_type="application",
        subject_id=CASE_ID,
        decided_by="rita",
        comment=None,
    ),
    ("approval.rejected", 1): ApprovalRejected(
        request_id=uuid.uuid4(),
        approval_case_id=uuid.uuid4(),
        subject_type="application",
        subject_id=CASE_ID,
        decided_by="rita",
        comment="no budget this year",
    ),
    ("approval.returned", 1): ApprovalReturned(
        request_id=uuid.uuid4(),
        approval_case_id=uuid.uuid4(),
        subject_type="plan",
        subject_id=CASE_ID,
        decided_by="rita",
        comment="add the budget",
        record=DocumentRef(**DOCUMENT),
    ),
    ("approval.withdrawn", 1): ApprovalWithdrawn(
        request_id=uuid.uuid4(),
        approval_case_id=uuid.uuid4(),
        subject_type="application",
        subject_id=CASE_ID,
        decided_by="alice",
    ),
    ("approval.reminder", 1): ApprovalReminder(
        approval_case_id=uuid.uuid4(),
        subject_type="application",
        subject_id=CASE_ID,
        step="necessity review",
        percent=75,
        due_at=datetime(2027, 1, 8, tzinfo=UTC),
        waiting_on=["role:dept_head"],
    ),
    ("approval.escalated", 1): ApprovalEscalated(
        approval_case_id=uuid.uuid4(),
        subject_type="application",
        subject_id=CASE_ID,
        step="necessity review",
        escalated_to_role="process_admin",
    ),
    ("application.status_changed", 1): CaseStatusChanged(
        application_id=CASE_ID,
        from_status="SUBMITTED",
        to_status="APPROVED",
        stage=1,
        process_version=1,
        applicant="alice",
        department="it",
        requested_funds=Money(amount=Decimal("120000.50"), currency="CNY"),
        note="necessary",
        changed_at=datetime(2027, 1, 4, 9, 30, tzinfo=UTC),
    ),
    ("approval.step_opened", 1): ApprovalStepOpened(
        **FLOW,
        mode="quorum",
        time_limit_hours=120,
        requester="alice",
        department="it",
        opened_at=datetime(2027, 1, 4, 9, tzinfo=UTC),
        due_at=datetime(2027, 1, 9, 9, tzinfo=UTC),
    ),
    ("approval.task_assigned", 1): ApprovalTaskAssigned(
        **FLOW,
        task_id=TASK_ID,
        assignee="cm2",
        reason="transfer",
        replaces_task_id=uuid.uuid4(),
        assigned_at=datetime(2027, 1, 4, 10, tzinfo=UTC),
    ),
    ("approval.task_started", 1): ApprovalTaskStarted(
        **FLOW,
        task_id=TASK_ID,
        started_by="dora",
        on_behalf_of="cm2",
        started_at=datetime(2027, 1, 5, 9, tzinfo=UTC),
    ),
    ("approval.task_decided", 1): ApprovalTaskDecided(
        **FLOW,
        task_id=TASK_ID,
        action="return",
        decided_by="dora",
        on_behalf_of="cm2",
        rule="application.necessity_review@v1/committee approval/quorum",
        return_to="necessity review",
        decided_at=datetime(2027, 1, 5, 11, tzinfo=UTC),
    ),
    ("approval.step_closed", 1): ApprovalStepClosed(
        **FLOW, outcome="returned", closed_at=datetime(2027, 1, 5, 11, tzinfo=UTC)
    ),
    ("risk.registered", 1): RiskRegistered(
        risk_id=uuid.uuid4(),
        title="Key supplier may miss the integration milestone",
        likelihood=3,
        impact=4,
        score=12,
        level="HIGH",
        owner="pm1",
        raised_at=datetime(2027, 2, 1, tzinfo=UTC),
    ),
}


def _through_the_wire(envelope: Envelope) -> Envelope:
    return Envelope.model_validate_json(envelope.model_dump_json().encode())


def test_every_published_event_type_has_a_sample_here() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("event", list(SAMPLES.values()), ids=[t for t, _ in SAMPLES])
def test_a_payload_survives_the_round_trip_through_json(event: EventData) -> None:
    envelope = Envelope.wrap(event, source="applications", case_id=CASE_ID, actor=ACTOR)

    received = _through_the_wire(envelope)

    assert received.payload() == event
    assert type(received.payload()) is type(event)


@pytest.mark.parametrize("event", list(SAMPLES.values()), ids=[t for t, _ in SAMPLES])
def test_the_envelope_names_the_payload_type_and_version(event: EventData) -> None:
    envelope = Envelope.wrap(event, source="applications", case_id=CASE_ID, actor=ACTOR)

    received = _through_the_wire(envelope)

    assert (received.event_type, received.schema_version) == (
        event.event_type,
        event.schema_version,
    )
    assert received.event_id == envelope.event_id
    assert received.occurred_at == envelope.occurred_at
    assert (received.source, received.case_id, received.actor) == ("applications", CASE_ID, ACTOR)


@pytest.mark.parametrize(
    ("event_type", "schema_version"),
    [
        ("application.teleported", 1),  # a type this reader has never heard of
        ("application.submitted", 2),  # a known type in a version from the future
        ("approval.granted", 99),
    ],
)
def test_a_reader_skips_event_types_or_versions_it_does_not_know(
    event_type: str, schema_version: int
) -> None:
    envelope = Envelope(
        event_type=event_type,
        schema_version=schema_version,
        source="applications",
        case_id=CASE_ID,
        actor=ACTOR,
        data={"anything": "at all"},
    )

    assert envelope.payload() is None


@pytest.mark.parametrize("event", list(SAMPLES.values()), ids=[t for t, _ in SAMPLES])
def test_a_reader_ignores_fields_added_by_a_newer_writer(event: EventData) -> None:
    wire = json.loads(
        Envelope.wrap(event, source="applications", case_id=CASE_ID, actor=ACTOR).model_dump_json()
    )
    wire["data"]["added_in_a_later_release"] = {"nested": [1, 2, 3]}
    wire["a_new_envelope_field"] = "ignored too"

    received = Envelope.model_validate_json(json.dumps(wire))

    assert received.payload() == event


def test_a_known_event_with_an_invalid_payload_is_an_error_not_a_skip() -> None:
    envelope = Envelope(
        event_type="approval.granted",
        schema_version=1,
        source="approvals",
        case_id=CASE_ID,
        actor=ACTOR,
        data={"decided_by": "rita"},
    )

    with pytest.raises(ValidationError):
        envelope.payload()


# ---- value objects ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sha256",
    ["g" * 64, "0123456789abcdef" * 4 + "0", "0123456789abcdef" * 3, "", "sha256:" + "a" * 57],
    ids=["non-hex", "too-long", "too-short", "empty", "prefixed"],
)
def test_a_document_ref_refuses_a_sha256_that_is_not_64_hex_digits(sha256: str) -> None:
    with pytest.raises(ValidationError, match="sha256"):
        DocumentRef(**{**DOCUMENT, "sha256": sha256})


@pytest.mark.parametrize("size", [-1, -1024])
def test_a_document_ref_refuses_a_negative_size(size: int) -> None:
    with pytest.raises(ValidationError, match="size"):
        DocumentRef(**{**DOCUMENT, "size": size})


def test_an_empty_document_is_a_valid_document_ref() -> None:
    assert DocumentRef(**{**DOCUMENT, "size": 0}).size == 0


@pytest.mark.parametrize("currency", ["usd", "US", "USDD", "U$D", "", "1AB"])
def test_money_refuses_a_currency_that_is_not_three_capital_letters(currency: str) -> None:
    with pytest.raises(ValidationError, match="currency"):
        Money(amount=Decimal("1.00"), currency=currency)


@pytest.mark.parametrize(
    "amount", [Decimal("-0.01"), Decimal("1.001")], ids=["negative", "sub-cent"]
)
def test_money_refuses_negative_or_sub_cent_amounts(amount: Decimal) -> None:
    with pytest.raises(ValidationError, match="amount"):
        Money(amount=amount, currency="CNY")


@pytest.mark.parametrize("currency", ["CNY", "USD", "EUR"])
def test_money_accepts_an_iso_style_currency_code(currency: str) -> None:
    assert Money(amount=Decimal("0"), currency=currency).currency == currency
