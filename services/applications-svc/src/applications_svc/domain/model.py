"""The affiliation case (application) aggregate and its lifecycle state machine. Plain Python."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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
UPDATABLE = frozenset(
    {
        "title",
        "background",
        "objectives",
        "expected_benefits",
        "resources",
        "start_date",
        "end_date",
        "risks",
    }
)

STAGE_OF_STATUS: dict[CaseStatus, int] = {
    **dict.fromkeys(
        (
            CaseStatus.DRAFT,
            CaseStatus.SUBMITTED,
            CaseStatus.RETURNED,
            CaseStatus.REJECTED,
            CaseStatus.WITHDRAWN,
            CaseStatus.APPROVED,
        ),
        1,
    ),
    **dict.fromkeys((CaseStatus.PLANNING, CaseStatus.PLAN_IN_REVIEW, CaseStatus.PLAN_APPROVED), 2),
    CaseStatus.CONTRACTING: 3,
    CaseStatus.RESOURCING: 4,
    CaseStatus.EXECUTING: 5,
    CaseStatus.EVALUATING: 6,
    CaseStatus.CLOSED: 6,
    CaseStatus.MAINTENANCE: 7,
    CaseStatus.ARCHIVED: 7,
}


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


class MissingMaterials(DomainError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            "submission refused: required materials missing: "
            + ", ".join(missing)
            + " (attach each as a document of that type)"
        )
        self.problem_extra = {
            "missing_materials": missing,
            "errors": [
                {"field": "documents", "rule": "required_material", "message": m} for m in missing
            ],
        }


class PlanNotReady(DomainError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("the plan cannot go to review: " + "; ".join(problems))
        self.problem_extra = {"problems": problems}


class RoleRequired(DomainError):
    def __init__(self, action: str, role: str) -> None:
        super().__init__(f"{action} requires the role {role!r}")
        self.problem_extra = {"required_roles": [role]}


# The plan proposes one term per mandatory contract clause (stage 3 drafts from them); which
# clauses are mandatory is the process definition's to say, so they are passed in.
PLAN_SECTIONS: dict[str, str] = {"technical": "tech_lead", "finance": "finance"}


CENT = Decimal("0.01")


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
class SignOff:
    section: str
    by: str
    at: datetime
    plan_version: int


@dataclass
class Plan:
    """The affiliation plan: the technical lead's and finance's sections, versioned; each
    section's sign-off covers the content it saw, so editing a section clears its sign-off."""

    version: int = 0
    technical: dict[str, Any] = field(default_factory=dict)
    finance: dict[str, Any] = field(default_factory=dict)
    signoffs: dict[str, SignOff] = field(default_factory=dict)
    updated_by: str | None = None
    updated_at: datetime | None = None

    def problems(self, mandatory_clauses: Sequence[str]) -> list[str]:
        """What keeps the plan from review: a section not signed off, or no proposed term for
        one of `mandatory_clauses` (in their order)."""
        found = [
            f"the {section} section is not signed off by {role}"
            for section, role in PLAN_SECTIONS.items()
            if section not in self.signoffs
        ]
        terms = self.technical.get("contract_terms") or {}
        missing = [c for c in mandatory_clauses if not str(terms.get(c) or "").strip()]
        if missing:
            found.append("proposed contract terms missing for: " + ", ".join(missing))
        return found

    def budget_total(self) -> Money | None:
        """The finance section's budget summed in Decimal, to the cent, in the currency of its
        first line (the contract's value); None while there is no budget."""
        lines = self.finance.get("budget") or []
        if not lines:
            return None
        total = sum((Decimal(str(line.get("amount", 0))) for line in lines), Decimal(0))
        return Money(total.quantize(CENT), lines[0].get("currency", "CNY"))


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    from_status: CaseStatus | None
    to_status: CaseStatus
    actor: str
    note: str | None = None


@dataclass(frozen=True)
class CaseSummary:
    """A case as a list shows it: what a search finds, without documents, history or plan."""

    id: uuid.UUID
    title: str
    status: CaseStatus
    department: str
    applicant: str
    requested_funds: Money | None
    start_date: date
    end_date: date
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    process_version: int | None

    @property
    def stage(self) -> int:
        return STAGE_OF_STATUS[self.status]


# ---- what happened (domain events; the service layer maps them to integration events) ----


@dataclass(frozen=True)
class ApplicationWasSubmitted:
    application_id: uuid.UUID


@dataclass(frozen=True)
class ApplicationWasDecided:
    application_id: uuid.UUID
    status: CaseStatus


@dataclass(frozen=True)
class ApplicationWasWithdrawn:
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class PlanWasSubmitted:
    plan_version: int


@dataclass(frozen=True)
class PlanWasApproved:
    plan_version: int
    minutes: object | None


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


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
    process_version: int | None = None  # frozen at the first submission
    approval_request_id: uuid.UUID | None = None  # the approval now awaited, if any
    plan: Plan | None = None
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

    def check_can_attach(self, *, by: str) -> None:
        """Refuse as `attach` would, before the document is even stored."""
        if by != self.applicant:
            raise NotTheApplicant("attach documents to this application")
        if self.status not in EDITABLE:
            raise InvalidTransition(self.status, self.status, "attach a document")

    def attach(self, document: Document, *, by: str) -> None:
        self.check_can_attach(by=by)
        self.documents.append(document)
        self.updated_at = document.uploaded_at

    def update(self, *, by: str, now: datetime, **content: Any) -> None:
        """Edit a draft (or a returned application) before (re)submitting it."""
        if by != self.applicant:
            raise NotTheApplicant("edit this application")
        if self.status not in EDITABLE:
            raise InvalidTransition(self.status, self.status, "edit the application")
        unknown = sorted(set(content) - UPDATABLE)
        if unknown:
            raise InvalidApplication(f"these fields cannot be edited: {', '.join(unknown)}")
        start = content.get("start_date", self.start_date)
        end = content.get("end_date", self.end_date)
        if end < start:  # checked before anything changes: a refused edit leaves no trace
            raise InvalidApplication(f"end_date {end} is before start_date {start}")
        for name, value in content.items():
            setattr(self, name, value)
        self.updated_at = now

    def missing_materials(self, required: tuple[str, ...]) -> list[str]:
        present = {d.document_type for d in self.documents}
        return [m for m in required if m not in present]

    def submit(
        self,
        *,
        by: str,
        now: datetime,
        required_materials: tuple[str, ...],
        process_version: int,
        request_id: uuid.UUID,
    ) -> None:
        """Submit for the necessity review; the process version is frozen at the first one."""
        if by != self.applicant:
            raise NotTheApplicant("submit this application")
        if self.status not in EDITABLE:
            raise InvalidTransition(self.status, CaseStatus.SUBMITTED, "submit")
        missing = self.missing_materials(required_materials)
        if missing:
            raise MissingMaterials(missing)
        if self.process_version is None:  # frozen by the first submission that goes through
            self.process_version = process_version
        resubmission = self.status == CaseStatus.RETURNED
        self._move(
            CaseStatus.SUBMITTED,
            actor=by,
            now=now,
            action="submit",
            note="resubmitted after revision" if resubmission else None,
        )
        self.submitted_at = now
        self.approval_request_id = request_id
        self.events.append(ApplicationWasSubmitted(self.id))

    def withdraw(self, *, by: str, now: datetime, reason: str | None) -> None:
        if by != self.applicant:
            raise NotTheApplicant("withdraw this application")
        pending = self.approval_request_id if self.status == CaseStatus.SUBMITTED else None
        self._move(CaseStatus.WITHDRAWN, actor=by, now=now, action="withdraw", note=reason)
        self.approval_request_id = None
        self.events.append(ApplicationWasWithdrawn(pending))

    def record_outcome(
        self,
        *,
        request_id: uuid.UUID,
        outcome: Outcome,
        by: str,
        now: datetime,
        comment: str | None,
        record: object | None = None,
    ) -> bool:
        """Apply an approval outcome; False (no change) if it is not the approval awaited."""
        if request_id != self.approval_request_id:
            return False
        if outcome == Outcome.WITHDRAWN:
            return False  # we withdrew it ourselves
        self.approval_request_id = None
        if self.status == CaseStatus.SUBMITTED:
            target = {
                Outcome.APPROVED: CaseStatus.APPROVED,
                Outcome.REJECTED: CaseStatus.REJECTED,
                Outcome.RETURNED: CaseStatus.RETURNED,
            }[outcome]
            self._move(
                target, actor=by, now=now, action="record the approval decision", note=comment
            )
            self.events.append(ApplicationWasDecided(self.id, target))
            if target == CaseStatus.APPROVED:
                self._move(
                    CaseStatus.PLANNING,
                    actor="system",
                    now=now,
                    action="start planning",
                    note="plan design starts (stage 2)",
                )
                self.plan = Plan()
            return True
        if self.status == CaseStatus.PLAN_IN_REVIEW:
            if outcome == Outcome.APPROVED:
                self._move(
                    CaseStatus.PLAN_APPROVED,
                    actor=by,
                    now=now,
                    action="record the plan review",
                    note=comment,
                )
                assert self.plan is not None
                self.events.append(PlanWasApproved(self.plan.version, record))
            else:
                self._move(
                    CaseStatus.PLANNING,
                    actor=by,
                    now=now,
                    action="record the plan review",
                    note=outcome.value + (f": {comment}" if comment else ""),
                )
            return True
        return False

    # ---- stage 2: the plan ----------------------------------------------------------------

    def _plan_for(self, action: str) -> Plan:
        if self.status != CaseStatus.PLANNING or self.plan is None:
            raise InvalidTransition(self.status, self.status, action)
        return self.plan

    def edit_plan(
        self,
        section: str,
        content: dict[str, Any],
        *,
        by: str,
        roles: frozenset[str],
        now: datetime,
    ) -> Plan:
        role = _section_role(section)
        if role not in roles:
            raise RoleRequired(f"editing the {section} section of the plan", role)
        plan = self._plan_for(f"edit the {section} section of the plan")
        setattr(plan, section, content)
        plan.version += 1
        plan.signoffs.pop(section, None)
        plan.updated_by, plan.updated_at = by, now
        self.updated_at = now
        return plan

    def sign_off_plan(
        self, section: str, *, by: str, roles: frozenset[str], now: datetime
    ) -> SignOff:
        role = _section_role(section)
        if role not in roles:
            raise RoleRequired(f"signing off the {section} section", role)
        plan = self._plan_for(f"sign off the {section} section")
        if not getattr(plan, section):
            raise PlanNotReady([f"the {section} section is empty"])
        signoff = SignOff(section, by, now, plan.version)
        plan.signoffs[section] = signoff
        self.updated_at = now
        return signoff

    def submit_plan(
        self,
        *,
        by: str,
        roles: frozenset[str],
        now: datetime,
        request_id: uuid.UUID,
        mandatory_clauses: Sequence[str],
    ) -> None:
        if "tech_lead" not in roles and by != self.applicant:
            raise RoleRequired("submitting the plan for review", "tech_lead")
        plan = self._plan_for("submit the plan for review")
        problems = plan.problems(mandatory_clauses)
        if problems:
            raise PlanNotReady(problems)
        self._move(
            CaseStatus.PLAN_IN_REVIEW,
            actor=by,
            now=now,
            action="submit the plan",
            note=f"plan version {plan.version}",
        )
        self.approval_request_id = request_id
        self.events.append(PlanWasSubmitted(plan.version))


def _section_role(section: str) -> str:
    if section not in PLAN_SECTIONS:
        raise InvalidApplication(
            f"unknown plan section {section!r}: one of {', '.join(PLAN_SECTIONS)}"
        )
    return PLAN_SECTIONS[section]
