"""API schemas of approvals-svc."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from approvals_svc.domain.model import ApprovalCase, CaseStatus, Decision, TaskStatus


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None


class TaskRead(BaseModel):
    id: uuid.UUID
    approval_case_id: uuid.UUID
    step: str
    role: str
    status: TaskStatus
    title: str
    requester: str
    department: str
    subject_type: str
    subject_id: uuid.UUID
    case_id: uuid.UUID
    policy: str
    created_at: datetime


class TaskDecisionRead(BaseModel):
    id: uuid.UUID
    step: str
    role: str
    status: TaskStatus
    decision: Decision | None
    decided_by: str | None
    comment: str | None
    decided_at: datetime | None
    rule: str | None


class ApprovalCaseRead(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    case_id: uuid.UUID
    policy: str
    policy_version: int
    title: str
    requester: str
    department: str
    status: CaseStatus
    created_at: datetime
    decided_at: datetime | None
    tasks: list[TaskDecisionRead]

    @classmethod
    def of(cls, case: ApprovalCase) -> ApprovalCaseRead:
        return cls(
            id=case.id,
            request_id=case.request_id,
            subject_type=case.subject_type,
            subject_id=case.subject_id,
            case_id=case.case_id,
            policy=case.policy,
            policy_version=case.policy_version,
            title=case.title,
            requester=case.requester,
            department=case.department,
            status=case.status,
            created_at=case.created_at,
            decided_at=case.decided_at,
            tasks=[TaskDecisionRead(**t.__dict__) for t in case.tasks],
        )
