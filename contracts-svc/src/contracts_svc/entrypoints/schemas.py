"""API schemas of contracts-svc."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from contracts_svc.domain.model import Contract, LibraryClause, Obligation, Party, Version
from guakao_shared.process import definition

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# the clause types a contract holds: the process definition's mandatory clauses
CLAUSE_TYPES: tuple[str, ...] = tuple(definition().mandatory_clauses)


def _clause_type(value: str) -> str:
    if value not in CLAUSE_TYPES:
        raise ValueError(f"not a clause type; expected one of {', '.join(CLAUSE_TYPES)}")
    return value


ClauseType = Annotated[
    str,
    AfterValidator(_clause_type),
    WithJsonSchema({"type": "string", "enum": list(CLAUSE_TYPES)}),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClausePut(Strict):
    text: Text


class PartyIn(Strict):
    name: Short
    kind: Literal["organisation", "counterparty"]
    signatory: Short


class PartiesPut(Strict):
    parties: Annotated[list[PartyIn], Field(min_length=2, max_length=10)]

    def domain(self) -> tuple[Party, ...]:
        return tuple(Party(p.name, p.kind, p.signatory) for p in self.parties)


class ObligationIn(Strict):
    kind: Literal["deliverable", "payment", "reporting"]
    description: Short
    due_date: date
    owner: Short
    amount: Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None


class ObligationsPut(Strict):
    obligations: Annotated[list[ObligationIn], Field(max_length=500)]

    def domain(self) -> tuple[Obligation, ...]:
        return tuple(Obligation(**o.model_dump()) for o in self.obligations)


class CustodianPut(Strict):
    custodian: Short
    reason: Text | None = None


class SignatureCreate(Strict):
    party: Short
    version: Annotated[int, Field(ge=1)]
    document_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class AmendmentCreate(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ReviewCreate(Strict):
    version: Annotated[int, Field(ge=1)]
    verdict: Literal["approve", "changes_requested"]
    comment: Text | None = None


class SweepCreate(Strict):
    now: datetime | None = None


class VersionRead(BaseModel):
    number: int
    note: str
    created_by: str
    created_at: datetime
    amendment_of: int | None
    document: dict[str, Any] | None
    clauses: dict[str, dict[str, Any]]
    deviations: list[str]
    parties: list[dict[str, str]]
    obligations: list[dict[str, Any]]

    @classmethod
    def of(cls, v: Version) -> VersionRead:
        return cls(
            number=v.number,
            note=v.note,
            created_by=v.created_by,
            created_at=v.created_at,
            amendment_of=v.amendment_of,
            document=v.document.__dict__ if v.document else None,
            clauses={k: c.__dict__ for k, c in v.clauses.items()},
            deviations=sorted(k for k, c in v.clauses.items() if c.deviates),
            parties=[p.__dict__ for p in v.parties],
            obligations=[
                {**o.__dict__, "amount": str(o.amount) if o.amount is not None else None}
                for o in v.obligations
            ],
        )


class ContractRead(BaseModel):
    id: uuid.UUID
    number: str
    application_id: uuid.UUID
    plan_version: int
    title: str
    status: str
    value: Decimal
    currency: str
    start_date: date
    end_date: date
    custodian: str | None
    approved_version: int | None
    current_version: VersionRead
    missing_clauses: list[str]
    problems: list[str]
    signatures: list[dict[str, Any]]
    filing: dict[str, Any]
    custody: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    versions: list[int]

    @classmethod
    def of(cls, c: Contract) -> ContractRead:
        missing, other = c.problems()
        return cls(
            id=c.id,
            number=c.number,
            application_id=c.application_id,
            plan_version=c.plan_version,
            title=c.title,
            status=c.status.value,
            value=c.value,
            currency=c.currency,
            start_date=c.start_date,
            end_date=c.end_date,
            custodian=c.custodian,
            approved_version=c.approved_version,
            current_version=VersionRead.of(c.current),
            missing_clauses=missing,
            problems=other,
            signatures=[s.__dict__ for s in c.signatures],
            filing={**c.filing.__dict__, "status": c.filing.status.value},
            custody=[x.__dict__ for x in c.custody],
            reviews=[x.__dict__ for x in c.reviews],
            versions=[v.number for v in c.versions],
        )


class LibraryClauseRead(BaseModel):
    type: str
    variant: str
    text: str

    @classmethod
    def of(cls, e: LibraryClause) -> LibraryClauseRead:
        return cls(type=e.type, variant=e.variant, text=e.text)
