"""API schemas of applications-svc (`*Create` in, `*Read` out), with their limits."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from applications_svc.domain.model import Application, CaseStatus

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


class RiskIn(Strict):
    description: Text
    likelihood: Level
    impact: Level
    mitigation: Text | None = None


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
            documents=[DocumentRead(**d.__dict__) for d in app.documents],
            history=[StatusChangeRead(**h.__dict__) for h in app.history],
            version=app.version,
            created_at=app.created_at,
            updated_at=app.updated_at,
            submitted_at=app.submitted_at,
        )
