"""FastAPI building blocks every service's routers use: the Idempotency-Key header and the
response of a command run through `run_command`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse

from guakao_shared.commands import CommandResult

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
