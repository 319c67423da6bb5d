"""Approval cases: opened from a policy, decided on their tasks. Plain Python.

For now a policy has one step decided by any one holder of the step's role (或签); sequential
steps, countersign, quorum and delegation come with the approval-engine issue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class CaseStatus(StrEnum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class TaskStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    CLOSED = "CLOSED"  # another signer decided the step


@dataclass(frozen=True)
class Step:
    name: str
    role: str


@dataclass(frozen=True)
class Policy:
    name: str
    version: int
    steps: tuple[Step, ...]


POLICIES: dict[str, Policy] = {
    "application.necessity_review": Policy(
        "application.necessity_review", 1, (Step("necessity review", "reviewer"),)
    ),
}


class DomainError(Exception):
    pass


class UnknownPolicy(DomainError):
    pass


class DecisionNotAllowed(DomainError):
    """The decider may not decide this task (role, or segregation of duties)."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.problem_extra = {"rule": rule}


class AlreadyDecided(DomainError):
    pass


class CommentRequired(DomainError):
    def __init__(self) -> None:
        super().__init__("comment: a comment is required to reject")
        self.problem_extra = {
            "errors": [
                {
                    "field": "comment",
                    "rule": "required_on_reject",
                    "message": "a comment is required to reject",
                }
            ]
        }


@dataclass(frozen=True)
class Decider:
    sub: str
    roles: frozenset[str]


@dataclass
class Task:
    id: uuid.UUID
    step: str
    role: str
    status: TaskStatus = TaskStatus.OPEN
    decision: Decision | None = None
    decided_by: str | None = None
    comment: str | None = None
    decided_at: datetime | None = None
    rule: str | None = None


@dataclass(frozen=True)
class CaseDecided:
    approval_case_id: uuid.UUID
    status: CaseStatus
    decided_by: str
    comment: str | None


@dataclass
class ApprovalCase:
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
    created_at: datetime
    tasks: list[Task]
    status: CaseStatus = CaseStatus.OPEN
    decided_at: datetime | None = None
    version: int = 0
    events: list[object] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def open(
        cls,
        *,
        request_id: uuid.UUID,
        subject_type: str,
        subject_id: uuid.UUID,
        case_id: uuid.UUID,
        policy_name: str,
        title: str,
        requester: str,
        department: str,
        now: datetime,
    ) -> ApprovalCase:
        policy = POLICIES.get(policy_name)
        if policy is None:
            raise UnknownPolicy(f"no approval policy named {policy_name!r}")
        step = policy.steps[0]
        return cls(
            id=uuid.uuid4(),
            request_id=request_id,
            subject_type=subject_type,
            subject_id=subject_id,
            case_id=case_id,
            policy=policy.name,
            policy_version=policy.version,
            title=title,
            requester=requester,
            department=department,
            created_at=now,
            tasks=[Task(id=uuid.uuid4(), step=step.name, role=step.role)],
        )

    def task(self, task_id: uuid.UUID) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    def decide(
        self,
        task_id: uuid.UUID,
        decision: Decision,
        *,
        by: Decider,
        comment: str | None,
        now: datetime,
    ) -> None:
        task = self.task(task_id)
        if self.status != CaseStatus.OPEN or task.status != TaskStatus.OPEN:
            raise AlreadyDecided(f"task {task_id} is already decided (case is {self.status})")
        if by.sub == self.requester:
            raise DecisionNotAllowed(
                "segregation of duties: nobody decides on their own request",
                rule="sod.own_request",
            )
        if task.role not in by.roles:
            raise DecisionNotAllowed(
                f"this task is assigned to the role {task.role!r}, which you do not hold",
                rule="assignment.role",
            )
        if decision == Decision.REJECT and not (comment and comment.strip()):
            raise CommentRequired()
        task.status, task.decision, task.decided_by = TaskStatus.DONE, decision, by.sub
        task.comment, task.decided_at = comment, now
        task.rule = f"{self.policy}@v{self.policy_version}:{task.step}:any_one_of:{task.role}"
        for other in self.tasks:
            if other.status == TaskStatus.OPEN:
                other.status = TaskStatus.CLOSED
        self.status = CaseStatus.APPROVED if decision == Decision.APPROVE else CaseStatus.REJECTED
        self.decided_at = now
        self.events.append(CaseDecided(self.id, self.status, by.sub, comment))
