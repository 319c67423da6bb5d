"""The unit of work: one database transaction per command. Events recorded during the command
are written to the outbox in the same transaction, with the caller's trace context, and the
relay is woken by a NOTIFY that PostgreSQL delivers only when the transaction commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from opentelemetry import propagate
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from guakao_shared.db import OUTBOX_CHANNEL, outbox
from guakao_shared.events import Actor, Envelope, EventData
from guakao_shared.idempotency import IdempotencyStore
from guakao_shared.topology import events_topic


class SqlAlchemyUnitOfWork:
    """Base unit of work; services extend it with their repositories in `_open()`."""

    session: AsyncSession

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        service: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._session_factory = session_factory
        self.service = service
        self._clock = clock
        self._pending: list[Envelope] = []

    def now(self) -> datetime:
        """The time a use case acts at: the runtime's clock. Kept out of commands, so that a
        retried command fingerprints the same as the first."""
        return self._clock()

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        self._pending = []
        self.idempotency = IdempotencyStore(self.session)
        self._open()
        return self

    def _open(self) -> None:
        """Hook for subclasses: build repositories on `self.session`."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()  # no-op after a commit
        await self.session.close()

    def emit(self, data: EventData, *, case_id: uuid.UUID, actor: Actor) -> Envelope:
        """Record an event to be published if, and only if, this unit of work commits."""
        envelope = Envelope.wrap(data, source=self.service, case_id=case_id, actor=actor)
        self._pending.append(envelope)
        return envelope

    async def commit(self) -> None:
        if self._pending:
            carrier: dict[str, Any] = {}
            propagate.inject(carrier)
            await self.session.execute(
                insert(outbox),
                [
                    {
                        "event_id": e.event_id,
                        "event_type": e.event_type,
                        "topic": events_topic(self.service),
                        "key": str(e.case_id),
                        "payload": e.model_dump(mode="json"),
                        "headers": carrier,
                    }
                    for e in self._pending
                ],
            )
            await self.session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        await self.session.commit()
        self._pending = []

    async def rollback(self) -> None:
        self._pending = []
        await self.session.rollback()
