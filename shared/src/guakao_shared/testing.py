"""Test support for handler tests that need no infrastructure: a unit of work that keeps
everything in memory and records the events a handler emits.

Mix it in front of a service's own unit of work so the handler under test gets the type it
declares: `class FakeApprovalsUoW(RecordingUnitOfWork, ApprovalsUnitOfWork)`, then set the
repositories to in-memory fakes in `__init__`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from guakao_shared.events import Envelope, EventData
from guakao_shared.idempotency import IdempotencyKeyReused, StoredResponse

E = TypeVar("E", bound=EventData)


class MemoryIdempotencyStore:
    """The idempotency store's behaviour, in a dict."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], tuple[str, StoredResponse | None]] = {}
        self._claimed: tuple[str, str, str] | None = None

    async def claim(self, principal: str, key: str, fingerprint: str) -> StoredResponse | None:
        found = self.stored.get((principal, key))
        if found is None:
            self._claimed = (principal, key, fingerprint)
            return None
        if found[0] != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used for a different request"
            )
        return found[1]

    async def save(self, status_code: int, body: Any) -> None:
        if self._claimed is not None:
            principal, key, fingerprint = self._claimed
            self.stored[(principal, key)] = (fingerprint, StoredResponse(status_code, body))


class RecordingUnitOfWork:
    """A unit of work with no database: `published` holds what committed units emitted."""

    service = "test"

    def __init__(self, now: datetime = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)) -> None:
        self.clock_at = now  # tests move it forward by assigning
        self._clock = lambda: self.clock_at
        self._pending: list[Envelope] = []
        self.published: list[Envelope] = []
        self.commits = 0
        self.idempotency: Any = MemoryIdempotencyStore()

    async def __aenter__(self) -> Self:
        self._pending = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pending = []

    async def commit(self) -> None:
        self.published += self._pending
        self._pending = []
        self.commits += 1

    async def rollback(self) -> None:
        self._pending = []

    def events(self, kind: type[E]) -> list[E]:
        """The payloads of committed events of one kind, in the order they were emitted."""
        found = []
        for envelope in self.published:
            if envelope.event_type == kind.event_type:
                payload = envelope.payload()
                if isinstance(payload, kind):
                    found.append(payload)
        return found
