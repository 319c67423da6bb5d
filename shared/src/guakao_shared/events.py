"""Domain events: the envelope every Kafka message carries and the versioned payload models.

These models are the single source of truth for the wire format. Their JSON Schemas are
committed under `shared/schemas/` and a test refuses backward-incompatible changes.
Consumers read tolerantly: an event type or version they do not know is skipped, not failed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from guakao_shared.identity import Principal

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Actor(BaseModel):
    """Who caused an event: the authenticated user (or a service acting on its own)."""

    model_config = ConfigDict(frozen=True)

    sub: NonEmpty
    department: str | None = None
    roles: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(
            sub=principal.sub, department=principal.department, roles=sorted(principal.roles)
        )


class DocumentRef(BaseModel):
    """A claim check: where a document lives in object storage, never its bytes."""

    model_config = ConfigDict(frozen=True)

    bucket: NonEmpty
    key: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    version_id: str | None = None
    sha256: Sha256Hex
    size: Annotated[int, Field(ge=0)]
    content_type: NonEmpty
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    document_type: NonEmpty


class EventData(BaseModel):
    """Base of every event payload. `event_type` and `schema_version` identify the schema."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int]


class Envelope(BaseModel):
    """The CloudEvents-style envelope. Trace context travels in Kafka headers, not here."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: NonEmpty
    schema_version: Annotated[int, Field(ge=1)]
    source: NonEmpty
    case_id: uuid.UUID
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    actor: Actor
    data: dict[str, Any]

    @classmethod
    def wrap(cls, data: EventData, *, source: str, case_id: uuid.UUID, actor: Actor) -> Envelope:
        return cls(
            event_type=data.event_type,
            schema_version=data.schema_version,
            source=source,
            case_id=case_id,
            actor=actor,
            data=data.model_dump(mode="json"),
        )

    def payload(self) -> EventData | None:
        """The typed payload, or None when this reader does not know the type or version."""
        model = EVENT_TYPES.get((self.event_type, self.schema_version))
        return None if model is None else model.model_validate(self.data)


# ---- applications ------------------------------------------------------------------------


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class ApplicationSubmitted(EventData):
    event_type: ClassVar[str] = "application.submitted"
    schema_version: ClassVar[int] = 1

    application_id: uuid.UUID
    title: NonEmpty
    applicant: NonEmpty
    department: NonEmpty
    requested_funds: Money
    start_date: date
    end_date: date
    materials: list[DocumentRef]


class ApplicationWithdrawn(EventData):
    """The applicant withdrew; a pending approval (request_id) is to be withdrawn too."""

    event_type: ClassVar[str] = "application.withdrawn"
    schema_version: ClassVar[int] = 1

    application_id: uuid.UUID
    request_id: uuid.UUID | None = None
    reason: str | None = None


class PlanSnapshot(BaseModel):
    """The approved plan exactly as reviewed: what contracts-svc drafts the contract from."""

    model_config = ConfigDict(frozen=True)

    version: Annotated[int, Field(ge=1)]
    technical: dict[str, Any]
    finance: dict[str, Any]
    contract_terms: dict[str, str]
    signed_off_by: dict[str, str]


class PlanApproved(EventData):
    event_type: ClassVar[str] = "plan.approved"
    schema_version: ClassVar[int] = 1

    application_id: uuid.UUID
    title: NonEmpty
    applicant: NonEmpty
    department: NonEmpty
    requested_funds: Money
    start_date: date
    end_date: date
    process_version: Annotated[int, Field(ge=1)]
    plan: PlanSnapshot
    minutes: DocumentRef | None = None
    # The plan's budget summed once, by its owner, in Decimal: the contract's value. None only
    # from producers older than this field (readers then fall back to `requested_funds`).
    budget_total: Money | None = None


class CaseStatusChanged(EventData):
    """The case (application) moved from one status of its lifecycle to another."""

    event_type: ClassVar[str] = "application.status_changed"
    schema_version: ClassVar[int] = 1

    application_id: uuid.UUID
    from_status: str | None = None  # None: the case was created
    to_status: NonEmpty
    stage: Annotated[int, Field(ge=1, le=7)]  # the process stage of `to_status`
    process_version: int | None = None  # frozen at the first submission
    applicant: NonEmpty
    department: NonEmpty
    requested_funds: Money | None = None
    note: str | None = None
    changed_at: datetime


# ---- approvals ---------------------------------------------------------------------------

# An open set (application, plan, contract, acceptance, disposition, ...): each consumer acts on
# the subject types it owns and ignores the rest, so a new subject type breaks nobody.
SubjectType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,49}$")]


class ApprovalRequested(EventData):
    """Ask approvals-svc to open an approval case for a subject under a named policy."""

    event_type: ClassVar[str] = "approval.requested"
    schema_version: ClassVar[int] = 1

    request_id: uuid.UUID
    subject_type: SubjectType
    subject_id: uuid.UUID
    policy: NonEmpty
    title: NonEmpty
    requester: NonEmpty
    department: NonEmpty
    amount: Money | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    process_version: int | None = None  # the version the case runs under; None: the latest


class ApprovalDecided(EventData):
    """Common shape of an approval outcome."""

    request_id: uuid.UUID
    approval_case_id: uuid.UUID
    subject_type: SubjectType
    subject_id: uuid.UUID
    decided_by: NonEmpty
    comment: str | None = None
    record: DocumentRef | None = None  # the generated record (minutes) of every decision


class ApprovalGranted(ApprovalDecided):
    event_type: ClassVar[str] = "approval.granted"
    schema_version: ClassVar[int] = 1


class ApprovalRejected(ApprovalDecided):
    event_type: ClassVar[str] = "approval.rejected"
    schema_version: ClassVar[int] = 1


class ApprovalReturned(ApprovalDecided):
    """Sent back for revision: the requester edits and resubmits (a new request)."""

    event_type: ClassVar[str] = "approval.returned"
    schema_version: ClassVar[int] = 1


class ApprovalWithdrawn(ApprovalDecided):
    event_type: ClassVar[str] = "approval.withdrawn"
    schema_version: ClassVar[int] = 1


class ApprovalReminder(EventData):
    """A step has used 50% or 75% of its time limit."""

    event_type: ClassVar[str] = "approval.reminder"
    schema_version: ClassVar[int] = 1

    approval_case_id: uuid.UUID
    subject_type: SubjectType
    subject_id: uuid.UUID
    step: NonEmpty
    percent: Annotated[int, Field(ge=1, le=100)]
    due_at: datetime
    waiting_on: list[str]


class ApprovalEscalated(EventData):
    """A step breached its time limit and was escalated."""

    event_type: ClassVar[str] = "approval.escalated"
    schema_version: ClassVar[int] = 1

    approval_case_id: uuid.UUID
    subject_type: SubjectType
    subject_id: uuid.UUID
    step: NonEmpty
    escalated_to_role: NonEmpty


# The flow inside an approval case, for the process monitoring log: a step opens (again, after a
# return), its tasks are assigned (at opening, by transfer, by an added signer, on escalation),
# someone starts work on a task, decides it, and the step closes. Each says when it happened.

ApprovalAction = Literal["approve", "reject", "return"]


class ApprovalFlowEvent(EventData):
    """Common shape of the events of one step (and round) of an approval case."""

    approval_case_id: uuid.UUID
    request_id: uuid.UUID
    subject_type: SubjectType
    subject_id: uuid.UUID
    policy: NonEmpty
    process_version: Annotated[int, Field(ge=1)]
    step: NonEmpty
    step_index: Annotated[int, Field(ge=0)]
    round: Annotated[int, Field(ge=1)]


class ApprovalStepOpened(ApprovalFlowEvent):
    """A step opened: the first time, or again after a return (a new round)."""

    event_type: ClassVar[str] = "approval.step_opened"
    schema_version: ClassVar[int] = 1

    mode: Literal["any", "all", "quorum", "weighted"]
    time_limit_hours: Annotated[float, Field(gt=0)]
    requester: NonEmpty
    department: NonEmpty
    opened_at: datetime
    due_at: datetime


class ApprovalTaskAssigned(ApprovalFlowEvent):
    """A task of the step: to a named user or pooled to a role (in a department)."""

    event_type: ClassVar[str] = "approval.task_assigned"
    schema_version: ClassVar[int] = 1

    task_id: uuid.UUID
    assignee: str | None = None
    pool_role: str | None = None
    pool_department: str | None = None
    escalation: bool = False
    reason: Literal["step_opened", "transfer", "signer_added", "escalation"]
    replaces_task_id: uuid.UUID | None = None  # a transfer: the task handed on, now closed
    assigned_at: datetime


class ApprovalTaskStarted(ApprovalFlowEvent):
    """Someone started work on a task (claimed it): waiting ends, working begins."""

    event_type: ClassVar[str] = "approval.task_started"
    schema_version: ClassVar[int] = 1

    task_id: uuid.UUID
    started_by: NonEmpty
    on_behalf_of: str | None = None
    started_at: datetime


class ApprovalTaskDecided(ApprovalFlowEvent):
    """A task was decided: approve, reject or return, directly or for a delegator."""

    event_type: ClassVar[str] = "approval.task_decided"
    schema_version: ClassVar[int] = 1

    task_id: uuid.UUID
    action: ApprovalAction
    decided_by: NonEmpty
    on_behalf_of: str | None = None
    rule: str | None = None
    return_to: str | None = None
    decided_at: datetime


class ApprovalStepClosed(ApprovalFlowEvent):
    """The step's round ended: its open tasks close with it."""

    event_type: ClassVar[str] = "approval.step_closed"
    schema_version: ClassVar[int] = 1

    outcome: Literal["approved", "rejected", "returned", "withdrawn"]
    closed_at: datetime


# ---- contracts -----------------------------------------------------------------------------


class Party(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: NonEmpty
    kind: Literal["organisation", "counterparty"]
    signatory: NonEmpty


class SignatureRecord(BaseModel):
    """One signature: who, for which party, when, how, over exactly which document bytes."""

    model_config = ConfigDict(frozen=True)

    signer: NonEmpty
    role: NonEmpty
    organisation: NonEmpty
    signed_at: datetime
    method: NonEmpty
    document_sha256: Sha256Hex
    evidence: str | None = None


class Obligation(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["deliverable", "payment", "reporting"]
    description: NonEmpty
    due_date: date
    owner: NonEmpty
    amount: Money | None = None


class ContractSigned(EventData):
    """Fully signed: the documents to file (claim checks), signatures and obligations."""

    event_type: ClassVar[str] = "contract.signed"
    schema_version: ClassVar[int] = 1

    contract_id: uuid.UUID
    application_id: uuid.UUID
    contract_number: NonEmpty
    version: Annotated[int, Field(ge=1)]
    title: NonEmpty
    value: Money
    start_date: date
    end_date: date
    parties: list[Party]
    custodian: NonEmpty
    record_class: NonEmpty = "contract"
    documents: Annotated[list[DocumentRef], Field(min_length=1)]
    signatures: list[SignatureRecord]
    obligations: list[Obligation]
    amendment_of: int | None = None


class ContractFilingRequested(EventData):
    """Ask the archive (again) to file a signed contract version: retries after a failure."""

    event_type: ClassVar[str] = "contract.filing_requested"
    schema_version: ClassVar[int] = 1

    contract_id: uuid.UUID
    application_id: uuid.UUID
    version: Annotated[int, Field(ge=1)]
    custodian: NonEmpty
    record_class: NonEmpty = "contract"
    documents: Annotated[list[DocumentRef], Field(min_length=1)]
    attempt: Annotated[int, Field(ge=1)]


class ContractExpiring(EventData):
    event_type: ClassVar[str] = "contract.expiry_reminder"
    schema_version: ClassVar[int] = 1

    contract_id: uuid.UUID
    contract_number: NonEmpty
    end_date: date
    days_left: int
    custodian: NonEmpty


# ---- archive -------------------------------------------------------------------------------


class ArchivedDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    sha256: Sha256Hex
    size: Annotated[int, Field(ge=0)]
    archive_bucket: NonEmpty
    archive_key: NonEmpty
    archive_version_id: str | None = None
    source_key: NonEmpty


class RecordFiled(EventData):
    """The archive filed (WORM, retention set, ledger entry written) a source's documents."""

    event_type: ClassVar[str] = "record.filed"
    schema_version: ClassVar[int] = 1

    record_id: uuid.UUID
    source_type: NonEmpty
    source_id: uuid.UUID
    source_version: int
    record_class: NonEmpty
    retention_until: datetime
    ledger_seq: Annotated[int, Field(ge=1)]
    documents: list[ArchivedDocument]


class RecordFilingFailed(EventData):
    event_type: ClassVar[str] = "record.filing_failed"
    schema_version: ClassVar[int] = 1

    source_type: NonEmpty
    source_id: uuid.UUID
    source_version: int
    reason: NonEmpty
    retryable: bool


# ---- monitoring ----------------------------------------------------------------------------


class RiskRegistered(EventData):
    """A risk entered in a case's risk register (stage 5), with its rating."""

    event_type: ClassVar[str] = "risk.registered"
    schema_version: ClassVar[int] = 1

    risk_id: uuid.UUID
    title: NonEmpty
    likelihood: Annotated[int, Field(ge=1, le=5)]
    impact: Annotated[int, Field(ge=1, le=5)]
    score: Annotated[int, Field(ge=1, le=25)]
    level: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    owner: NonEmpty
    raised_at: datetime


EVENT_TYPES: dict[tuple[str, int], type[EventData]] = {
    (model.event_type, model.schema_version): model
    for model in (
        ApplicationSubmitted,
        ApplicationWithdrawn,
        PlanApproved,
        CaseStatusChanged,
        ApprovalRequested,
        ApprovalGranted,
        ApprovalRejected,
        ApprovalReturned,
        ApprovalWithdrawn,
        ApprovalReminder,
        ApprovalEscalated,
        ApprovalStepOpened,
        ApprovalTaskAssigned,
        ApprovalTaskStarted,
        ApprovalTaskDecided,
        ApprovalStepClosed,
        ContractSigned,
        ContractFilingRequested,
        ContractExpiring,
        RecordFiled,
        RecordFilingFailed,
        RiskRegistered,
    )
}
