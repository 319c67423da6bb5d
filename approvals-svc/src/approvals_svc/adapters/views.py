"""What the repositories return besides aggregates: plain read models (no SQL here, so the
API's schemas can map them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from approvals_svc.domain.model import Delegation, Person


@dataclass(frozen=True)
class InboxTask:
    """One line of an inbox: a task with the case it belongs to."""

    id: uuid.UUID
    approval_case_id: uuid.UUID
    step: str
    round: int
    assignee: str | None
    pool_role: str | None
    pool_department: str | None
    escalation: bool
    weight: float
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


@dataclass(frozen=True)
class InboxQuery:
    """Whose tasks: `who` holds (user, role, department) triples; a triple matches a task named
    for the user or one pooled to the role (in the department, if the pool has one)."""

    who: tuple[tuple[str | None, str | None, str | None], ...]
    requester_not: str
    status: str
    policy: str | None = None
    subject_type: str | None = None
    overdue_at: datetime | None = None


@dataclass(frozen=True)
class DirectoryEntry:
    """A person as the directory keeps them."""

    sub: str
    name: str | None
    department: str | None
    roles: tuple[str, ...]
    manager: str | None
    updated_at: datetime

    def person(self) -> Person:
        return Person(self.sub, self.department, frozenset(self.roles), self.manager)


@dataclass(frozen=True)
class DelegationEntry:
    """A delegation as it is kept: the domain's window plus who set it up, why and whether it
    was revoked."""

    id: uuid.UUID
    delegator: str
    delegate: str
    starts: datetime
    ends: datetime
    reason: str | None
    created_at: datetime
    revoked_at: datetime | None = None

    def delegation(self) -> Delegation:
        return Delegation(self.delegator, self.delegate, self.starts, self.ends)
