"""Loads and saves filed records with their documents, and appends to and reads the ledger.

Appending is serialised across every process: the transaction takes a PostgreSQL advisory lock
before it reads the last entry, and holds it until it commits, so two filings can never chain
onto the same entry.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from archive_svc.adapters.orm import ledger, record_documents, records
from archive_svc.domain.model import FiledDocument, LedgerEntry, Record, RecordFilter
from guakao_shared.paging import PageRequest, Slice

# pg_advisory_xact_lock key that serialises ledger appends ("ARCHLEDG" as a big-endian int64).
LEDGER_LOCK_KEY = int.from_bytes(b"ARCHLEDG", "big") & 0x7FFF_FFFF_FFFF_FFFF

_RECORD_COLUMNS = (
    "id",
    "source_type",
    "source_id",
    "source_version",
    "case_id",
    "record_class",
    "custodian",
    "filed_at",
    "retention_until",
    "legal_hold",
    "disposition",
    "disposition_request_id",
)
_DOCUMENT_COLUMNS = (
    "source_bucket",
    "source_key",
    "source_version_id",
    "sha256",
    "size",
    "content_type",
    "filename",
    "document_type",
    "archive_bucket",
    "archive_key",
    "archive_version_id",
)


class SqlAlchemyRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, record_id: uuid.UUID) -> Record | None:
        row = (
            await self._session.execute(select(records).where(records.c.id == record_id))
        ).first()
        return None if row is None else await self._load(row)

    async def get_by_source(
        self, source_type: str, source_id: uuid.UUID, source_version: int
    ) -> Record | None:
        row = (
            await self._session.execute(
                select(records).where(
                    records.c.source_type == source_type,
                    records.c.source_id == source_id,
                    records.c.source_version == source_version,
                )
            )
        ).first()
        return None if row is None else await self._load(row)

    async def search(self, where: RecordFilter, page: PageRequest) -> Slice[Record]:
        """The records matching `where`, in filing order, one page of them, and how many match."""
        query = select(records)
        for column, value in (
            (records.c.source_id, where.source_id),
            (records.c.source_type, where.source_type),
            (records.c.case_id, where.case_id),
            (records.c.record_class, where.record_class),
            (records.c.custodian, where.custodian),
        ):
            if value is not None:
                query = query.where(column == value)
        if where.filed_from is not None:
            query = query.where(records.c.filed_at >= where.filed_from)
        if where.filed_to is not None:
            query = query.where(records.c.filed_at < where.filed_to)
        if where.retention_ended_by is not None:  # eligible for disposition
            query = query.where(
                records.c.retention_until <= where.retention_ended_by,
                records.c.legal_hold.is_(False),
                records.c.disposition.in_(["NONE", "REFUSED"]),
            )
        total = (
            await self._session.execute(select(func.count()).select_from(query.subquery()))
        ).scalar_one()
        rows = (
            await self._session.execute(
                query.order_by(records.c.filed_at, records.c.id)
                .limit(page.limit)
                .offset(page.offset)
            )
        ).all()
        return Slice([await self._load(row) for row in rows], total, page)

    async def update_state(self, record: Record) -> None:
        """Write what may change after filing: legal hold and disposition."""
        await self._session.execute(
            update(records)
            .where(records.c.id == record.id)
            .values(
                legal_hold=record.legal_hold,
                disposition=record.disposition,
                disposition_request_id=record.disposition_request_id,
            )
        )

    async def by_disposition_request(self, request_id: uuid.UUID) -> Record | None:
        row = (
            await self._session.execute(
                select(records).where(records.c.disposition_request_id == request_id)
            )
        ).first()
        return None if row is None else await self._load(row)

    async def add(self, record: Record) -> None:
        if record.ledger_seq is None:
            raise ValueError(f"record {record.id} has no ledger entry yet")
        await self._session.execute(
            insert(records).values(
                **{c: getattr(record, c) for c in _RECORD_COLUMNS}, ledger_seq=record.ledger_seq
            )
        )
        if record.documents:
            await self._session.execute(
                insert(record_documents),
                [
                    {
                        "record_id": record.id,
                        "position": position,
                        **{c: getattr(d, c) for c in _DOCUMENT_COLUMNS},
                    }
                    for position, d in enumerate(record.documents)
                ],
            )

    async def ledger_problems(self) -> list[str]:
        """Records whose ledger entry is gone or belongs to something else (a truncated or
        rewritten ledger that the chain alone cannot show)."""
        rows = await self._session.execute(
            select(records.c.id, records.c.ledger_seq, ledger.c.seq, ledger.c.record_id)
            .select_from(records.outerjoin(ledger, ledger.c.seq == records.c.ledger_seq))
            .where((ledger.c.seq.is_(None)) | (ledger.c.record_id.is_distinct_from(records.c.id)))
            .order_by(records.c.ledger_seq)
        )
        problems = []
        for r in rows:
            if r.seq is None:
                problems.append(f"record {r.id}: its ledger entry {r.ledger_seq} is missing")
            else:
                problems.append(
                    f"record {r.id}: ledger entry {r.ledger_seq} belongs to record {r.record_id}"
                )
        return problems

    async def _load(self, row: Any) -> Record:
        docs = (
            await self._session.execute(
                select(record_documents)
                .where(record_documents.c.record_id == row.id)
                .order_by(record_documents.c.position)
            )
        ).all()
        return Record(
            **{c: getattr(row, c) for c in _RECORD_COLUMNS},
            documents=[
                FiledDocument(**{c: getattr(d, c) for c in _DOCUMENT_COLUMNS}) for d in docs
            ],
            ledger_seq=row.ledger_seq,
        )


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        seq=row.seq,
        at=row.at,
        kind=row.kind,
        record_id=row.record_id,
        payload=row.payload,
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )


class SqlAlchemyLedger:
    """The ledger, append-only: entries are only ever inserted, each chained to the last."""

    PAGE = 1000

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self) -> None:
        """Wait for, then hold until this transaction ends, the right to append."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY}
        )

    async def append(
        self, *, kind: str, record_id: uuid.UUID | None, payload: dict[str, Any], at: datetime
    ) -> LedgerEntry:
        # Held until this transaction ends: the next append reads the entry we write here.
        await self.lock()
        last = (
            await self._session.execute(select(ledger).order_by(ledger.c.seq.desc()).limit(1))
        ).first()
        entry = LedgerEntry.following(
            None if last is None else _entry(last),
            kind=kind,
            record_id=record_id,
            payload=payload,
            at=at,
        )
        await self._session.execute(
            insert(ledger).values(
                seq=entry.seq,
                at=entry.at,
                kind=entry.kind,
                record_id=entry.record_id,
                payload=entry.payload,
                prev_hash=entry.prev_hash,
                entry_hash=entry.entry_hash,
            )
        )
        return entry

    async def get(self, seq: int) -> LedgerEntry | None:
        row = (await self._session.execute(select(ledger).where(ledger.c.seq == seq))).first()
        return None if row is None else _entry(row)

    async def entries(self) -> AsyncIterator[LedgerEntry]:
        """Every entry in seq order, read a page at a time."""
        after = None
        while True:
            query = select(ledger).order_by(ledger.c.seq).limit(self.PAGE)
            if after is not None:
                query = query.where(ledger.c.seq > after)
            rows = (await self._session.execute(query)).all()
            for row in rows:
                yield _entry(row)
            if len(rows) < self.PAGE:
                return
            after = rows[-1].seq
