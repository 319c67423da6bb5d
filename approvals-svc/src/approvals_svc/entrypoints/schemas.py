"""API schemas of approvals-svc."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from approvals_svc.adapters.views import DelegationEntry, DirectoryEntry, InboxTask
from approvals_svc.domain.model import Action, ApprovalCase, Record

Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Sub = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionCreate(Strict):
    decision: Action
    comment: Comment | None = None
    return_to: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="with decision=return: 'applicant' (default) or a step name"
    )


class TransferCreate(Strict):
    to: Sub
    comment: Comment | None = None


class SignerCreate(Strict):
    signer: Sub
    comment: Comment | None = None


class WithdrawCreate(Strict):
    comment: Comment | None = None


class PersonPut(Strict):
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    department: Annotated[str, StringConstraints(max_length=100)] | None = None
    roles: Annotated[list[Annotated[str, StringConstraints(max_length=50)]], Field(max_length=20)]
    manager: Sub | None = None


class PersonRead(BaseModel):
    sub: str
    name: str | None
    department: str | None
    roles: list[str]
    manager: str | None
    updated_at: datetime

    @classmethod
    def of(cls, entry: DirectoryEntry) -> PersonRead:
        return cls(
            sub=entry.sub,
            name=entry.name,
            department=entry.department,
            roles=list(entry.roles),
            manager=entry.manager,
            updated_at=entry.updated_at,
        )


class DelegationCreate(Strict):
    delegate: Sub
    starts: datetime
    ends: datetime
    reason: Comment | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.ends <= self.starts:
            raise ValueError("ends must be after starts")
        if self.starts.tzinfo is None or self.ends.tzinfo is None:
            raise ValueError("starts and ends need a time zone (e.g. 2027-01-01T00:00:00Z)")
        return self


class DelegationRead(BaseModel):
    id: uuid.UUID
    delegator: str
    delegate: str
    starts: datetime
    ends: datetime
    reason: str | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, entry: DelegationEntry) -> DelegationRead:
        return cls(
            id=entry.id,
            delegator=entry.delegator,
            delegate=entry.delegate,
            starts=entry.starts,
            ends=entry.ends,
            reason=entry.reason,
            revoked_at=entry.revoked_at,
        )


class SweepCreate(Strict):
    now: datetime | None = Field(default=None, description="only where clock override is allowed")


class TaskRead(BaseModel):
    id: uuid.UUID
    approval_case_id: uuid.UUID
    step: str
    round: int
    assignee: str | None
    pool_role: str | None
    pool_department: str | None
    escalation: bool
    status: str
    action: str | None
    decided_by: str | None
    on_behalf_of: str | None
    decided_at: datetime | None
    title: str
    requester: str
    department: str
    subject_type: str
    subject_id: uuid.UUID
    case_id: uuid.UUID
    policy: str
    due_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, task: InboxTask) -> TaskRead:
        fields = {name: getattr(task, name) for name in cls.model_fields}
        return cls(**fields)


class StepRead(BaseModel):
    name: str
    mode: str
    status: str
    round: int
    opened_at: datetime | None
    due_at: datetime | None


class CaseTaskRead(BaseModel):
    id: uuid.UUID
    step: str
    assignee: str | None
    pool_role: str | None
    status: str
    action: str | None
    decided_by: str | None
    on_behalf_of: str | None
    comment: str | None
    decided_at: datetime | None
    rule: str | None
    escalation: bool


class ApprovalCaseRead(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    case_id: uuid.UUID
    policy: str
    process_version: int
    title: str
    requester: str
    department: str
    status: str
    current_step: str
    created_at: datetime
    closed_at: datetime | None
    steps: list[StepRead]
    tasks: list[CaseTaskRead]

    @classmethod
    def of(cls, case: ApprovalCase) -> ApprovalCaseRead:
        return cls(
            id=case.id,
            request_id=case.request_id,
            subject_type=case.subject_type,
            subject_id=case.subject_id,
            case_id=case.case_id,
            policy=case.policy,
            process_version=case.process_version,
            title=case.title,
            requester=case.requester,
            department=case.department,
            status=case.status.value,
            current_step=case.steps[case.current].rule.name,
            created_at=case.created_at,
            closed_at=case.closed_at,
            steps=[
                StepRead(
                    name=s.rule.name,
                    mode=s.rule.mode.value,
                    status=s.status.value,
                    round=s.round,
                    opened_at=s.opened_at,
                    due_at=s.opened_at + s.rule.time_limit if s.opened_at else None,
                )
                for s in case.steps
            ],
            tasks=[
                CaseTaskRead(
                    id=t.id,
                    step=case.steps[t.step].rule.name,
                    assignee=t.assignee,
                    pool_role=t.pool_role,
                    status=t.status.value,
                    action=t.action.value if t.action else None,
                    decided_by=t.decided_by,
                    on_behalf_of=t.on_behalf_of,
                    comment=t.comment,
                    decided_at=t.decided_at,
                    rule=t.rule,
                    escalation=t.escalation,
                )
                for t in case.tasks
            ],
        )


class RecordRead(BaseModel):
    at: datetime
    action: str
    actor: str
    step: str | None
    task_id: uuid.UUID | None
    on_behalf_of: str | None
    rule: str | None
    comment: str | None
    detail: str | None

    @classmethod
    def of(cls, r: Record) -> RecordRead:
        return cls(**r.__dict__)


TaskStatusFilter = Literal["OPEN", "DONE", "CLOSED"]
