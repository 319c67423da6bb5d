"""Loads and saves contracts (state as JSONB, optimistic locking) and searches them."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts_svc.adapters.orm import contracts
from contracts_svc.domain.model import (
    Clause,
    Contract,
    CustodyChange,
    DocumentRef,
    Filing,
    FilingState,
    Obligation,
    Party,
    Review,
    Signature,
    Status,
    Version,
)
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.process import definition


class ConcurrentUpdate(Exception):
    """The contract changed since it was read; re-read it and retry."""


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _version(raw: dict[str, Any]) -> Version:
    return Version(
        number=raw["number"],
        clauses={k: Clause(**c) for k, c in raw["clauses"].items()},
        parties=tuple(Party(**p) for p in raw["parties"]),
        obligations=tuple(
            Obligation(
                **{
                    **o,
                    "due_date": date.fromisoformat(o["due_date"]),
                    "amount": Decimal(o["amount"]) if o["amount"] else None,
                }
            )
            for o in raw["obligations"]
        ),
        created_by=raw["created_by"],
        created_at=datetime.fromisoformat(raw["created_at"]),
        note=raw["note"],
        amendment_of=raw["amendment_of"],
        document=DocumentRef(**raw["document"]) if raw["document"] else None,
    )


def to_state(c: Contract) -> dict[str, Any]:
    state: dict[str, Any] = _json(
        {
            "versions": [asdict(v) for v in c.versions],
            "mandatory_clauses": list(c.mandatory_clauses),
            "approved_version": c.approved_version,
            "approval_request_id": c.approval_request_id,
            "custody": [asdict(x) for x in c.custody],
            "signatures": [asdict(s) for s in c.signatures],
            "filing": asdict(c.filing),
            "reminders_sent": c.reminders_sent,
            "reviews": [asdict(x) for x in c.reviews],
            "process_version": c.process_version,
            "filing_documents": c.filing_documents,
        }
    )
    return state


def from_row(row: Any) -> Contract:
    s = row.state
    f = s["filing"]
    # contracts stored before they kept their clause list run under their process version's
    mandatory = s.get("mandatory_clauses") or definition(s["process_version"]).mandatory_clauses
    return Contract(
        id=row.id,
        application_id=row.application_id,
        plan_version=row.plan_version,
        number=row.number,
        title=row.title,
        department=row.department,
        applicant=row.applicant,
        value=Decimal(row.value),
        currency=row.currency,
        start_date=row.start_date,
        end_date=row.end_date,
        created_at=row.created_at,
        versions=[_version(v) for v in s["versions"]],
        mandatory_clauses=tuple(mandatory),
        status=Status(row.status),
        approved_version=s["approved_version"],
        approval_request_id=uuid.UUID(s["approval_request_id"])
        if s["approval_request_id"]
        else None,
        custodian=row.custodian,
        custody=[
            CustodyChange(
                datetime.fromisoformat(x["at"]),
                x["from_custodian"],
                x["to_custodian"],
                x["by"],
                x["reason"],
            )
            for x in s["custody"]
        ],
        signatures=[
            Signature(**{**x, "signed_at": datetime.fromisoformat(x["signed_at"])})
            for x in s["signatures"]
        ],
        filing=FilingState(
            Filing(f["status"]),
            f["version"],
            f["attempts"],
            uuid.UUID(f["record_id"]) if f["record_id"] else None,
            f["last_error"],
            _dt(f["next_attempt_at"]),
        ),
        reviews=[
            Review(**{**x, "at": datetime.fromisoformat(x["at"])}) for x in s.get("reviews", [])
        ],
        reminders_sent=list(s["reminders_sent"]),
        process_version=s["process_version"],
        filing_documents=list(s["filing_documents"]),
        version=row.version,
    )


def _columns(c: Contract) -> dict[str, Any]:
    counterparty = next((p.name for p in c.current.parties if p.kind == "counterparty"), None)
    return {
        "status": c.status.value,
        "filing_status": c.filing.status.value,
        "counterparty": counterparty,
        "custodian": c.custodian,
        "title": c.title,
        "updated_at": datetime.now(UTC),
        "state": to_state(c),
    }


class SqlAlchemyContractRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._seen: dict[uuid.UUID, int] = {}

    async def get(self, contract_id: uuid.UUID, *, for_update: bool = False) -> Contract | None:
        query = select(contracts).where(contracts.c.id == contract_id)
        row = (
            await self._session.execute(query.with_for_update() if for_update else query)
        ).first()
        if row is None:
            return None
        contract = from_row(row)
        self._seen[contract.id] = contract.version
        return contract

    async def exists_for_plan(self, application_id: uuid.UUID, plan_version: int) -> bool:
        row = await self._session.execute(
            select(contracts.c.id).where(
                contracts.c.application_id == application_id,
                contracts.c.plan_version == plan_version,
            )
        )
        return row.first() is not None

    async def add(self, c: Contract) -> None:
        await self._session.execute(
            insert(contracts).values(
                id=c.id,
                application_id=c.application_id,
                plan_version=c.plan_version,
                number=c.number,
                department=c.department,
                applicant=c.applicant,
                value=c.value,
                currency=c.currency,
                start_date=c.start_date,
                end_date=c.end_date,
                created_at=c.created_at,
                version=1,
                **_columns(c),
            )
        )
        c.version = 1
        self._seen[c.id] = 1

    async def save(self, c: Contract) -> None:
        expected = self._seen[c.id]
        result = await self._session.execute(
            update(contracts)
            .where(contracts.c.id == c.id, contracts.c.version == expected)
            .values(version=expected + 1, **_columns(c))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"contract {c.number} was changed concurrently; re-read it")
        c.version = expected + 1
        self._seen[c.id] = c.version

    async def ids(
        self, *, status: Status | None = None, filing: Filing | None = None
    ) -> list[uuid.UUID]:
        query = select(contracts.c.id)
        if status is not None:
            query = query.where(contracts.c.status == status.value)
        if filing is not None:
            query = query.where(contracts.c.filing_status == filing.value)
        return [r.id for r in await self._session.execute(query)]

    async def search(
        self,
        *,
        application_id: uuid.UUID | None,
        status: str | None,
        counterparty: str | None,
        value_min: Decimal | None,
        value_max: Decimal | None,
        ends_before: date | None,
        ends_after: date | None,
        visible_to: tuple[str, str | None] | None,
        page: PageRequest,
    ) -> Slice[Contract]:
        query = select(contracts)
        if application_id:
            query = query.where(contracts.c.application_id == application_id)
        if status:
            query = query.where(contracts.c.status == status)
        if counterparty:
            query = query.where(contracts.c.counterparty.ilike(f"%{counterparty}%"))
        if value_min is not None:
            query = query.where(contracts.c.value >= value_min)
        if value_max is not None:
            query = query.where(contracts.c.value <= value_max)
        if ends_before:
            query = query.where(contracts.c.end_date < ends_before)
        if ends_after:
            query = query.where(contracts.c.end_date >= ends_after)
        if visible_to is not None:
            sub, department = visible_to
            query = query.where(
                (contracts.c.applicant == sub)
                | (contracts.c.custodian == sub)
                | (contracts.c.department == (department or ""))
            )
        total = await self._session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self._session.execute(
            query.order_by(contracts.c.created_at.desc(), contracts.c.id)
            .limit(page.limit)
            .offset(page.offset)
        )
        return Slice([from_row(r) for r in rows], total or 0, page)
