"""The affiliation case (application) aggregate and its lifecycle state machine. Plain Python."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class CaseStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    RETURNED = "RETURNED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    PLANNING = "PLANNING"
    PLAN_IN_REVIEW = "PLAN_IN_REVIEW"
    PLAN_APPROVED = "PLAN_APPROVED"
    CONTRACTING = "CONTRACTING"
    RESOURCING = "RESOURCING"
    EXECUTING = "EXECUTING"
    EVALUATING = "EVALUATING"
    CLOSED = "CLOSED"
    MAINTENANCE = "MAINTENANCE"
    ARCHIVED = "ARCHIVED"


# The lifecycle of DESIGN.md; later stages are declared now so illegal jumps are refused
# consistently as those stages are built.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.DRAFT: frozenset({CaseStatus.SUBMITTED, CaseStatus.WITHDRAWN}),
    CaseStatus.SUBMITTED: frozenset(
        {CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.RETURNED, CaseStatus.WITHDRAWN}
    ),
    CaseStatus.RETURNED: frozenset({CaseStatus.SUBMITTED, CaseStatus.WITHDRAWN}),
    CaseStatus.APPROVED: frozenset({CaseStatus.PLANNING}),
    CaseStatus.PLANNING: frozenset({CaseStatus.PLAN_IN_REVIEW}),
    CaseStatus.PLAN_IN_REVIEW: frozenset({CaseStatus.PLAN_APPROVED, CaseStatus.PLANNING}),
    CaseStatus.PLAN_APPROVED: frozenset({CaseStatus.CONTRACTING}),
    CaseStatus.CONTRACTING: frozenset({CaseStatus.RESOURCING}),
    CaseStatus.RESOURCING: frozenset({CaseStatus.EXECUTING}),
    CaseStatus.EXECUTING: frozenset({CaseStatus.EVALUATING}),
    CaseStatus.EVALUATING: frozenset({CaseStatus.CLOSED, CaseStatus.EXECUTING}),
    CaseStatus.CLOSED: frozenset({CaseStatus.MAINTENANCE}),
    CaseStatus.MAINTENANCE: frozenset({CaseStatus.ARCHIVED}),
    CaseStatus.REJECTED: frozenset(),
    CaseStatus.WITHDRAWN: frozenset(),
    CaseStatus.ARCHIVED: frozenset(),
}

EDITABLE = frozenset({CaseStatus.DRAFT, CaseStatus.RETURNED})


class DomainError(Exception):
    """Base of the refusals the domain raises."""


class InvalidTransition(DomainError):
    def __init__(self, current: CaseStatus, target: CaseStatus, action: str) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        super().__init__(
            f"cannot {action}: the case is {current}, and {current} -> {target} is not allowed "
            f"(allowed from {current}: {allowed})"
        )
        self.current, self.target = current, target


class NotTheApplicant(DomainError):
    def __init__(self, action: str) -> None:
        super().__init__(f"only the applicant can {action}")


class InvalidApplication(DomainError):
    pass


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Personnel:
    role: str
    headcount: int
    effort_person_days: Decimal | None = None


@dataclass(frozen=True)
class Resources:
    technology: tuple[str, ...]
    funds: Money
    personnel: tuple[Personnel, ...]


@dataclass(frozen=True)
class Risk:
    description: str
    likelihood: str
    impact: str
    mitigation: str | None = None


@dataclass(frozen=True)
class Document:
    id: uuid.UUID
    document_type: str
    filename: str
    content_type: str
    size: int
    sha256: str
    bucket: str
    key: str
    version_id: str | None
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    from_status: CaseStatus | None
    to_status: CaseStatus
    actor: str
    note: str | None = None


# ---- what happened (domain events; the service layer maps them to integration events) ----


@dataclass(frozen=True)
class ApplicationWasSubmitted:
    application_id: uuid.UUID


@dataclass(frozen=True)
class ApplicationWasDecided:
    application_id: uuid.UUID
    status: CaseStatus


@dataclass
class Application:
    id: uuid.UUID
    applicant: str
    department: str
    title: str
    background: str
    objectives: str
    expected_benefits: str
    resources: Resources
    start_date: date
    end_date: date
    risks: tuple[Risk, ...]
    created_at: datetime
    status: CaseStatus = CaseStatus.DRAFT
    updated_at: datetime | None = None
    submitted_at: datetime | None = None
    documents: list[Document] = field(default_factory=list)
    history: list[StatusChange] = field(default_factory=list)
    version: int = 0
    events: list[object] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def draft(
        cls, *, id: uuid.UUID, applicant: str, department: str, now: datetime, **content: Any
    ) -> Application:
        app = cls(
            id=id,
            applicant=applicant,
            department=department,
            created_at=now,
            updated_at=now,
            **content,
        )
        app._check_content()
        app.history.append(StatusChange(now, None, CaseStatus.DRAFT, applicant, "draft created"))
        return app

    def _check_content(self) -> None:
        if self.end_date < self.start_date:
            raise InvalidApplication(
                f"end_date {self.end_date} is before start_date {self.start_date}"
            )

    def _move(
        self, target: CaseStatus, *, actor: str, now: datetime, action: str, note: str | None = None
    ) -> None:
        if target not in TRANSITIONS[self.status]:
            raise InvalidTransition(self.status, target, action)
        self.history.append(StatusChange(now, self.status, target, actor, note))
        self.status = target
        self.updated_at = now

    def attach(self, document: Document, *, by: str) -> None:
        if by != self.applicant:
            raise NotTheApplicant("attach documents to this application")
        if self.status not in EDITABLE:
            raise InvalidTransition(self.status, self.status, "attach a document")
        self.documents.append(document)
        self.updated_at = document.uploaded_at

    def submit(self, *, by: str, now: datetime) -> None:
        if by != self.applicant:
            raise NotTheApplicant("submit this application")
        self._move(CaseStatus.SUBMITTED, actor=by, now=now, action="submit")
        self.submitted_at = now
        self.events.append(ApplicationWasSubmitted(self.id))

    def record_decision(
        self, *, approved: bool, by: str, now: datetime, comment: str | None
    ) -> bool:
        """Apply an approval outcome; False (and no change) if the case is no longer waiting."""
        if self.status != CaseStatus.SUBMITTED:
            return False
        target = CaseStatus.APPROVED if approved else CaseStatus.REJECTED
        self._move(target, actor=by, now=now, action="record the approval decision", note=comment)
        self.events.append(ApplicationWasDecided(self.id, target))
        return True
