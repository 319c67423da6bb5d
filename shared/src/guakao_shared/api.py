"""FastAPI building blocks every service's entrypoints use: the Idempotency-Key header, the
command bus, the clock, paging, and the response of a command run through the bus.

A service's `entrypoints/deps.py` narrows these to its own unit of work with typed aliases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from guakao_shared.clock import Clock
from guakao_shared.commands import CommandBus, CommandResult
from guakao_shared.paging import MAX_LIMIT, PageRequest, Slice

T = TypeVar("T")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="Retry-safe key: a retried command with the same key returns the first result",
    ),
]


def command_response(result: CommandResult) -> JSONResponse:
    headers = {"Idempotency-Replayed": "true"} if result.replayed else None
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


def command_bus(request: Request) -> CommandBus[Any]:
    bus: CommandBus[Any] = request.app.state.runtime.bus
    return bus


def runtime_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.runtime.clock
    return clock


# The runtime's clock, for a time named in a request body (a sweep's `now`): `clock.now(body.now)`
# refuses it unless the service allows clock overrides.
RuntimeClock = Annotated[Clock, Depends(runtime_clock)]


def clock(
    request: Request,
    override: Annotated[
        datetime | None,
        Header(
            alias="X-Guakao-Clock",
            description="Act as of this time (tests and drills; refused unless the service "
            "allows a clock override)",
        ),
    ] = None,
) -> datetime:
    now: datetime = request.app.state.runtime.clock.now(override)
    return now


Now = Annotated[datetime, Depends(clock)]


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="items to skip")] = 0,
    cursor: Annotated[
        str | None,
        Query(max_length=100, description="next_cursor of the previous page (wins over offset)"),
    ] = None,
) -> PageRequest:
    return PageRequest.of(limit=limit, offset=offset, cursor=cursor)


Paging = Annotated[PageRequest, Depends(page_request)]


class Page(BaseModel, Generic[T]):
    """One page of a list: the same shape and query parameters on every list endpoint."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = None

    @classmethod
    def of(cls, found: Slice[Any]) -> Page[T]:
        return cls(
            items=list(found.items),
            total=found.total,
            limit=found.request.limit,
            offset=found.request.offset,
            next_cursor=found.next_cursor,
        )
