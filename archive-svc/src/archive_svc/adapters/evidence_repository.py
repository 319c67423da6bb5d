"""Checkpoints, exports, and the ledger read from a given entry on (for checkpoints and
evidence packages). Appending to the ledger stays with `SqlAlchemyLedger`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from archive_svc.adapters.orm import ledger
from archive_svc.adapters.orm_evidence import exports, ledger_checkpoints
from archive_svc.domain.evidence import Checkpoint, Export
from archive_svc.domain.model import LedgerEntry


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(
        id=row.id,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        root_hash=row.root_hash,
        created_at=row.created_at,
        ledger_seq=row.ledger_seq,
    )


def _export(row: Any) -> Export:
    return Export(
        id=row.id,
        created_by=row.created_by,
        reason=row.reason,
        created_at=row.created_at,
        record_ids=[uuid.UUID(r) for r in row.record_ids],
        package_bucket=row.package_bucket,
        package_key=row.package_key,
        package_version_id=row.package_version_id,
        sha256=row.sha256,
        size=row.size,
        ledger_seq=row.ledger_seq,
    )


class SqlAlchemyEvidence:
    PAGE = 1000

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ---- the ledger, read from an entry on ----

    async def entries_from(self, first_seq: int) -> AsyncIterator[LedgerEntry]:
        """The entries with seq >= `first_seq`, in seq order, read a page at a time."""
        after = first_seq - 1
        while True:
            rows = (
                await self._session.execute(
                    select(ledger)
                    .where(ledger.c.seq > after)
                    .order_by(ledger.c.seq)
                    .limit(self.PAGE)
                )
            ).all()
            for row in rows:
                yield LedgerEntry(
                    seq=row.seq,
                    at=row.at,
                    kind=row.kind,
                    record_id=row.record_id,
                    payload=row.payload,
                    prev_hash=row.prev_hash,
                    entry_hash=row.entry_hash,
                )
            if len(rows) < self.PAGE:
                return
            after = rows[-1].seq

    # ---- checkpoints ----

    async def last_checkpoint(self) -> Checkpoint | None:
        row = (
            await self._session.execute(
                select(ledger_checkpoints).order_by(ledger_checkpoints.c.last_seq.desc()).limit(1)
            )
        ).first()
        return None if row is None else _checkpoint(row)

    async def checkpoint_covering(self, seq: int) -> Checkpoint | None:
        row = (
            await self._session.execute(
                select(ledger_checkpoints).where(
                    ledger_checkpoints.c.first_seq <= seq, ledger_checkpoints.c.last_seq >= seq
                )
            )
        ).first()
        return None if row is None else _checkpoint(row)

    async def checkpoints_from(self, first_seq: int) -> list[Checkpoint]:
        """The checkpoints whose span starts at or after `first_seq`, in ledger order."""
        rows = await self._session.execute(
            select(ledger_checkpoints)
            .where(ledger_checkpoints.c.first_seq >= first_seq)
            .order_by(ledger_checkpoints.c.first_seq)
        )
        return [_checkpoint(row) for row in rows]

    async def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        await self._session.execute(
            insert(ledger_checkpoints).values(
                id=checkpoint.id,
                first_seq=checkpoint.first_seq,
                last_seq=checkpoint.last_seq,
                root_hash=checkpoint.root_hash,
                created_at=checkpoint.created_at,
                ledger_seq=checkpoint.ledger_seq,
            )
        )

    # ---- exports ----

    async def add_export(self, export: Export) -> None:
        await self._session.execute(
            insert(exports).values(
                id=export.id,
                created_by=export.created_by,
                reason=export.reason,
                created_at=export.created_at,
                record_ids=[str(r) for r in export.record_ids],
                package_bucket=export.package_bucket,
                package_key=export.package_key,
                package_version_id=export.package_version_id,
                sha256=export.sha256,
                size=export.size,
                ledger_seq=export.ledger_seq,
            )
        )

    async def get_export(self, export_id: uuid.UUID) -> Export | None:
        row = (
            await self._session.execute(select(exports).where(exports.c.id == export_id))
        ).first()
        return None if row is None else _export(row)
