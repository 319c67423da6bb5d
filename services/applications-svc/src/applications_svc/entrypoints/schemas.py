"""API schemas of applications-svc (`*Create` in, `*Read` out), with their limits."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)

from applications_svc.domain.model import (
    STAGE_OF_STATUS,
    Application,
    CaseStatus,
    CaseSummary,
    Document,
    Money,
    Personnel,
    Plan,
    Resources,
    Risk,
)
from applications_svc.service_layer.handlers import mandatory_clauses
from guakao_shared.process import definition

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Level = Literal["low", "medium", "high"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FundsIn(Strict):
    amount: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"


class PersonnelIn(Strict):
    role: Short
    headcount: Annotated[int, Field(ge=1, le=10_000)]
    effort_person_days: Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=1)] | None = (
        None
    )


class ResourcesIn(Strict):
    technology: Annotated[list[Short], Field(max_length=100)]
    funds: FundsIn
    personnel: Annotated[list[PersonnelIn], Field(max_length=100)]

    def to_domain(self) -> Resources:
        return Resources(
            technology=tuple(self.technology),
            funds=Money(self.funds.amount, self.funds.currency),
            personnel=tuple(
                Personnel(p.role, p.headcount, p.effort_person_days) for p in self.personnel
            ),
        )


class RiskIn(Strict):
    description: Text
    likelihood: Level
    impact: Level
    mitigation: Text | None = None

    def to_domain(self) -> Risk:
        return Risk(self.description, self.likelihood, self.impact, self.mitigation)


class ApplicationCreate(Strict):
    title: Short
    background: Text
    objectives: Text
    expected_benefits: Text
    resources: ResourcesIn
    start_date: date
    end_date: date
    risks: Annotated[list[RiskIn], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class ApplicationUpdate(Strict):
    """Fields to change on a draft or a returned application; absent fields stay as they are."""

    title: Short | None = None
    background: Text | None = None
    objectives: Text | None = None
    expected_benefits: Text | None = None
    resources: ResourcesIn | None = None
    start_date: date | None = None
    end_date: date | None = None
    risks: Annotated[list[RiskIn], Field(min_length=1, max_length=100)] | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the request sets, as domain values."""
        changes: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if isinstance(value, ResourcesIn):
                value = value.to_domain()
            elif name == "risks" and value is not None:
                value = tuple(r.to_domain() for r in value)
            changes[name] = value
        return changes


class WithdrawCreate(Strict):
    reason: Text | None = None


ClauseText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]


if TYPE_CHECKING:
    ContractTerms = Strict
else:
    # One proposed term per mandatory contract clause of the process definition (stage 3
    # drafts from these): the fields are the definition's clauses, so the two cannot drift.
    ContractTerms = create_model(
        "ContractTerms",
        __base__=Strict,
        __doc__="One proposed term per mandatory contract clause (stage 3 drafts from these).",
        **{
            clause: (ClauseText, Field(default="", description=title))
            for clause, title in definition().mandatory_clauses.items()
        },
    )


class TechnicalSection(Strict):
    """The technical lead's part of the plan."""

    resource_allocation: Text
    cooperation_mode: Text
    responsibilities: Text
    risk_controls: Text
    rights_and_duties: Text
    contract_terms: ContractTerms


class BudgetLine(Strict):
    item: Short
    amount: Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"


class FinanceSection(Strict):
    """Finance's part of the plan: the budget and how funds are managed."""

    budget: Annotated[list[BudgetLine], Field(min_length=1, max_length=200)]
    fund_management: Text
    payment_schedule: Text | None = None


class SignOffRead(BaseModel):
    section: str
    by: str
    at: datetime
    plan_version: int


class PlanRead(BaseModel):
    version: int
    technical: dict[str, Any]
    finance: dict[str, Any]
    signoffs: dict[str, SignOffRead]
    ready_for_review: bool
    problems: list[str]
    mandatory_clauses: list[str]
    updated_by: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, plan: Plan, *, process_version: int | None) -> PlanRead:
        clauses = mandatory_clauses(process_version)
        problems = plan.problems(clauses)
        return cls(
            version=plan.version,
            technical=plan.technical,
            finance=plan.finance,
            signoffs={k: SignOffRead(**v.__dict__) for k, v in plan.signoffs.items()},
            ready_for_review=not problems,
            problems=problems,
            mandatory_clauses=list(clauses),
            updated_by=plan.updated_by,
            updated_at=plan.updated_at,
        )


class ApplicationSummary(BaseModel):
    id: uuid.UUID
    title: str
    status: CaseStatus
    stage: int
    department: str
    applicant: str
    requested_funds: dict[str, Any] | None
    start_date: date
    end_date: date
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    process_version: int | None

    @classmethod
    def of(cls, case: CaseSummary) -> ApplicationSummary:
        funds = case.requested_funds
        return cls(
            id=case.id,
            title=case.title,
            status=case.status,
            stage=case.stage,
            department=case.department,
            applicant=case.applicant,
            requested_funds=(
                {"amount": str(funds.amount), "currency": funds.currency} if funds else None
            ),
            start_date=case.start_date,
            end_date=case.end_date,
            created_at=case.created_at,
            updated_at=case.updated_at,
            submitted_at=case.submitted_at,
            process_version=case.process_version,
        )


class TimelineEntry(BaseModel):
    at: datetime
    kind: Literal["status", "document", "plan_signoff"]
    actor: str
    summary: str
    from_status: CaseStatus | None = None
    to_status: CaseStatus | None = None
    note: str | None = None

    @classmethod
    def timeline_of(cls, app: Application) -> list[TimelineEntry]:
        """Every state change, document and sign-off of the case, in the order they happened."""
        entries = [
            cls(
                at=h.at,
                kind="status",
                actor=h.actor,
                summary=f"{h.from_status or 'new'} → {h.to_status}",
                from_status=h.from_status,
                to_status=h.to_status,
                note=h.note,
            )
            for h in app.history
        ]
        entries += [
            cls(
                at=d.uploaded_at,
                kind="document",
                actor=d.uploaded_by,
                summary=f"attached {d.document_type}: {d.filename} (sha256 {d.sha256[:12]}…)",
            )
            for d in app.documents
        ]
        if app.plan:
            entries += [
                cls(
                    at=o.at,
                    kind="plan_signoff",
                    actor=o.by,
                    summary=f"signed off the {o.section} section (plan version {o.plan_version})",
                )
                for o in app.plan.signoffs.values()
            ]
        return sorted(entries, key=lambda e: e.at)


class DocumentRead(BaseModel):
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

    @classmethod
    def of(cls, document: Document) -> DocumentRead:
        return cls(**document.__dict__)


class StatusChangeRead(BaseModel):
    at: datetime
    from_status: CaseStatus | None
    to_status: CaseStatus
    actor: str
    note: str | None


class ApplicationRead(BaseModel):
    id: uuid.UUID
    status: CaseStatus
    applicant: str
    department: str
    title: str
    background: str
    objectives: str
    expected_benefits: str
    resources: ResourcesIn
    start_date: date
    end_date: date
    risks: list[RiskIn]
    documents: list[DocumentRead]
    history: list[StatusChangeRead]
    stage: int
    process_version: int | None
    plan: PlanRead | None
    version: int
    created_at: datetime
    updated_at: datetime | None
    submitted_at: datetime | None

    @classmethod
    def of(cls, app: Application) -> ApplicationRead:
        return cls(
            id=app.id,
            status=app.status,
            applicant=app.applicant,
            department=app.department,
            title=app.title,
            background=app.background,
            objectives=app.objectives,
            expected_benefits=app.expected_benefits,
            resources=ResourcesIn(
                technology=list(app.resources.technology),
                funds=FundsIn(
                    amount=app.resources.funds.amount, currency=app.resources.funds.currency
                ),
                personnel=[
                    PersonnelIn(
                        role=p.role, headcount=p.headcount, effort_person_days=p.effort_person_days
                    )
                    for p in app.resources.personnel
                ],
            ),
            start_date=app.start_date,
            end_date=app.end_date,
            risks=[
                RiskIn(
                    description=r.description,
                    likelihood=r.likelihood,
                    impact=r.impact,
                    mitigation=r.mitigation,
                )
                for r in app.risks
            ],
            documents=[DocumentRead.of(d) for d in app.documents],
            history=[StatusChangeRead(**h.__dict__) for h in app.history],
            stage=STAGE_OF_STATUS[app.status],
            process_version=app.process_version,
            plan=PlanRead.of(app.plan, process_version=app.process_version) if app.plan else None,
            version=app.version,
            created_at=app.created_at,
            updated_at=app.updated_at,
            submitted_at=app.submitted_at,
        )
