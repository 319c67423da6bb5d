"""Running a mutating command: one unit of work, honouring an optional Idempotency-Key.

The handler does the domain work inside the open unit of work and returns the response body;
the body is stored with the key in the same transaction, so a retry returns it unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from guakao_shared.idempotency import fingerprint
from guakao_shared.uow import SqlAlchemyUnitOfWork

U = TypeVar("U", bound=SqlAlchemyUnitOfWork)


@dataclass(frozen=True)
class CommandResult:
    status_code: int
    body: Any
    replayed: bool = False


async def run_command(
    uow: U,
    execute: Callable[[U], Awaitable[Any]],
    *,
    principal: str,
    idempotency_key: str | None,
    request: tuple[Any, ...],
    status_code: int = 200,
) -> CommandResult:
    async with uow:
        if idempotency_key:
            stored = await uow.idempotency.claim(principal, idempotency_key, fingerprint(*request))
            if stored is not None:
                return CommandResult(stored.status_code, stored.body, replayed=True)
        body = await execute(uow)
        await uow.idempotency.save(status_code, body)
        await uow.commit()
    return CommandResult(status_code, body)
