"""Idempotency keys for mutating HTTP commands: the first result is stored in the same
transaction as the command's effect; a retry with the same key returns it unchanged.

A concurrent retry blocks on the primary key until the first transaction ends, then sees the
stored answer, so two racing retries still have one effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from guakao_shared.db import idempotency_keys


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


class IdempotencyKeyReused(Exception):
    """The key was used before for a different request."""


class IdempotencyStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._claimed: tuple[str, str, str] | None = None

    async def claim(
        self, principal: str, key: str, request_fingerprint: str
    ) -> StoredResponse | None:
        """Reserve `key` for this transaction, or return the answer stored for it earlier."""
        inserted = await self._session.execute(
            insert(idempotency_keys)
            .values(
                principal=principal,
                key=key,
                fingerprint=request_fingerprint,
                status_code=0,
                response={},
            )
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        if inserted.first() is not None:
            self._claimed = (principal, key, request_fingerprint)
            return None
        row = (
            await self._session.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
                )
            )
        ).one()
        if row.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used for a different request"
            )
        return StoredResponse(row.status_code, row.response)

    async def save(self, status_code: int, body: Any) -> None:
        if self._claimed is None:
            return
        principal, key, _ = self._claimed
        await self._session.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.principal == principal, idempotency_keys.c.key == key)
            .values(status_code=status_code, response=body)
        )
