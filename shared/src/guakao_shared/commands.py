"""Commands and the bus that runs them.

A command is a frozen dataclass naming one use case and everything it needs; its fingerprint is
the whole command (all fields but the actor, who is the idempotency key's owner), so reusing an
Idempotency-Key with a different body is refused instead of silently answered with the first
result. The bus runs a handler inside one unit of work, stores the presented answer with the key
in the same transaction, and commits; a retry with the key returns the stored answer unchanged.
Queries run on a unit of work that is never committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from guakao_shared.identity import Principal
from guakao_shared.uow import SqlAlchemyUnitOfWork

U = TypeVar("U", bound=SqlAlchemyUnitOfWork)
C = TypeVar("C", bound="Command")
R = TypeVar("R")
P = ParamSpec("P")


@dataclass(frozen=True, kw_only=True)
class Command:
    """Base of every command: who asks, and (in subclasses) what they ask for."""

    actor: Principal

    def fingerprint(self) -> str:
        fields = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "actor"
        }
        raw = json.dumps(
            [type(self).__name__, _plain(fields)],
            sort_keys=True,
            default=str,
            separators=(",", ":"),
        )
        return hashlib.sha256(raw.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """Nested dataclasses, mappings and sequences as JSON-ready values (stable order)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    if hasattr(value, "model_dump"):  # a pydantic value inside a command
        return value.model_dump(mode="json")
    return value


@dataclass(frozen=True)
class CommandResult:
    status_code: int
    body: Any
    replayed: bool = False


class CommandBus(Generic[U]):
    """Runs commands and queries of one service on fresh units of work."""

    def __init__(self, uow_factory: Callable[[], U]) -> None:
        self.uow_factory = uow_factory

    async def run(
        self,
        command: C,
        handler: Callable[[C, U], Awaitable[R]],
        *,
        present: Callable[[R], Any] = lambda result: result,
        idempotency_key: str | None = None,
        status_code: int = 200,
    ) -> CommandResult:
        """Run `handler(command, uow)` in one transaction; `present` turns its result into the
        JSON body that is stored with the Idempotency-Key and answered."""
        async with self.uow_factory() as uow:
            if idempotency_key:
                stored = await uow.idempotency.claim(
                    command.actor.sub, idempotency_key, command.fingerprint()
                )
                if stored is not None:
                    return CommandResult(stored.status_code, stored.body, replayed=True)
            body = _json_ready(present(await handler(command, uow)))
            await uow.idempotency.save(status_code, body)
            await uow.commit()
        return CommandResult(status_code, body)

    async def handle(self, command: C, handler: Callable[[C, U], Awaitable[R]]) -> R:
        """Run a command with no Idempotency-Key and return the handler's own result."""
        async with self.uow_factory() as uow:
            result = await handler(command, uow)
            await uow.commit()
        return result

    async def query(
        self, handler: Callable[Concatenate[U, P], Awaitable[R]], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a read-only use case; nothing it does is committed."""
        async with self.uow_factory() as uow:
            return await handler(uow, *args, **kwargs)


def _json_ready(body: Any) -> Any:
    if hasattr(body, "model_dump"):
        return body.model_dump(mode="json")
    return body
