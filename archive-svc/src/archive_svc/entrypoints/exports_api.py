"""HTTP API of archive-svc's evidence: ledger checkpoints and evidence packages (exports).
Routes parse, call one use case through the bus, map the result. (The periodic checkpoint is
scheduled in `app.py`.)"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from archive_svc.entrypoints.deps import Bus
from archive_svc.entrypoints.schemas import CheckpointClosed, ExportCreate, ExportRead
from archive_svc.service_layer import exports
from archive_svc.service_layer.commands import CloseCheckpoint, CreateExport, FetchExport
from guakao_shared.api import IdempotencyKey, Now, command_response
from guakao_shared.auth import CurrentUser

router = APIRouter(prefix="/v1", tags=["evidence"])


@router.post(
    "/ledger/checkpoints",
    response_model=CheckpointClosed,
    summary="Seal the ledger entries since the last checkpoint under a Merkle root, now",
    responses={201: {"model": CheckpointClosed, "description": "a checkpoint was closed"}},
)
async def close_checkpoint(
    user: CurrentUser, bus: Bus, now: Now, response: Response
) -> CheckpointClosed:
    sealed = await bus.handle(CloseCheckpoint(actor=user, at=now), exports.close_checkpoint)
    response.status_code = 200 if sealed is None else 201
    return CheckpointClosed.of(sealed)


@router.post(
    "/exports",
    response_model=ExportRead,
    status_code=201,
    summary="Export an evidence package (records, their archived bytes, the ledger proving them)",
)
async def create_export(
    body: ExportCreate, user: CurrentUser, bus: Bus, key: IdempotencyKey = None
) -> JSONResponse:
    command = CreateExport(
        actor=user, record_ids=tuple(body.record_ids), case_id=body.case_id, reason=body.reason
    )
    result = await bus.run(
        command, exports.create_export, present=ExportRead.of, idempotency_key=key, status_code=201
    )
    return command_response(result)


@router.get(
    "/exports/{export_id}",
    response_model=ExportRead,
    summary="An evidence package's metadata, with a fresh download URL (logged)",
)
async def get_export(
    export_id: uuid.UUID,
    user: CurrentUser,
    bus: Bus,
    reason: Annotated[str | None, Query(max_length=2000, description="why (logged)")] = None,
) -> ExportRead:
    command = FetchExport(actor=user, export_id=export_id, reason=reason)
    return ExportRead.of(await bus.handle(command, exports.fetch_export))
