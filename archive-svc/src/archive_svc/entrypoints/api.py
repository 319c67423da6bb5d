"""HTTP API of archive-svc under /v1: filed records, their proof, and the ledger's proof.
Routes parse, call one use case through the bus, map the result.

Reads of the archive are commands (each is written to the ledger with its reason), run with
`bus.handle`; verification is a query."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from archive_svc.domain.model import RecordFilter
from archive_svc.entrypoints.deps import Bus, ServiceClock
from archive_svc.entrypoints.schemas import (
    DispositionCreate,
    LedgerVerificationRead,
    LegalHoldCreate,
    RecordList,
    RecordRead,
    RecordVerificationRead,
)
from archive_svc.service_layer import access, handlers
from archive_svc.service_layer.commands import (
    DownloadDocument,
    FindEligibleForDisposition,
    ReadRecord,
    RequestDisposition,
    SearchRecords,
    SetLegalHold,
)
from guakao_shared.api import IdempotencyKey, Page, Paging, command_response
from guakao_shared.auth import CurrentUser

router = APIRouter(prefix="/v1", tags=["archive"])

Reason = Annotated[str | None, Query(max_length=2000, description="why you need it (logged)")]


@router.get("/records", response_model=Page[RecordRead], summary="Search filed records")
async def list_records(
    user: CurrentUser,
    bus: Bus,
    paging: Paging,
    reason: Reason = None,
    source_id: uuid.UUID | None = None,
    source_type: Annotated[str | None, Query(max_length=50)] = None,
    case_id: uuid.UUID | None = None,
    record_class: Annotated[str | None, Query(max_length=50)] = None,
    custodian: Annotated[str | None, Query(max_length=200)] = None,
    filed_from: datetime | None = None,
    filed_to: datetime | None = None,
) -> Page[RecordRead]:
    """Compliance officers and auditors search every record; others their own (custodian).
    The search itself, with its reason, is written to the ledger."""
    where = RecordFilter(
        source_id=source_id,
        source_type=source_type,
        case_id=case_id,
        record_class=record_class,
        custodian=custodian,
        filed_from=filed_from,
        filed_to=filed_to,
    )
    command = SearchRecords(actor=user, reason=reason, where=where, page=paging)
    found = await bus.handle(command, access.search)
    return Page[RecordRead].of(found.map(RecordRead.of))


@router.get("/records/{record_id}", response_model=RecordRead, summary="A filed record")
async def get_record(
    record_id: uuid.UUID, user: CurrentUser, bus: Bus, reason: Reason = None
) -> RecordRead:
    command = ReadRecord(actor=user, record_id=record_id, reason=reason)
    return RecordRead.of(await bus.handle(command, access.read_record))


@router.get(
    "/records/{record_id}/documents/{sha256}",
    summary="Download an archived document (streamed, or ?presigned=true for a URL)",
)
async def download_document(
    record_id: uuid.UUID,
    sha256: str,
    user: CurrentUser,
    bus: Bus,
    reason: Reason = None,
    presigned: bool = False,
) -> Response:
    command = DownloadDocument(
        actor=user, record_id=record_id, sha256=sha256, reason=reason, presigned=presigned
    )
    found = await bus.handle(command, access.download)
    if found.url is not None:
        return JSONResponse({"url": found.url, "expires_in_s": 900, "sha256": sha256})
    return Response(
        found.body,
        media_type=found.document.content_type,
        headers={
            "X-Content-SHA256": sha256,
            "Content-Disposition": f'attachment; filename="{found.document.filename}"',
        },
    )


@router.post(
    "/legal-holds",
    response_model=list[RecordRead],
    summary="Put records (or a whole case) under legal hold",
)
async def set_legal_hold(
    body: LegalHoldCreate, user: CurrentUser, bus: Bus, key: IdempotencyKey = None
) -> JSONResponse:
    """The records put under hold by this request (those already held are left out)."""
    return await _legal_hold(body, user, bus, key, hold=True)


@router.post(
    "/legal-holds/release", response_model=list[RecordRead], summary="Release a legal hold"
)
async def release_legal_hold(
    body: LegalHoldCreate, user: CurrentUser, bus: Bus, key: IdempotencyKey = None
) -> JSONResponse:
    """The records released by this request."""
    return await _legal_hold(body, user, bus, key, hold=False)


async def _legal_hold(
    body: LegalHoldCreate, user: CurrentUser, bus: Bus, key: str | None, *, hold: bool
) -> JSONResponse:
    command = SetLegalHold(
        actor=user,
        hold=hold,
        record_ids=tuple(body.record_ids),
        case_id=body.case_id,
        reason=body.reason,
    )
    result = await bus.run(
        command, access.set_legal_hold, present=RecordList.of, idempotency_key=key
    )
    return command_response(result)


@router.get(
    "/dispositions/eligible",
    response_model=Page[RecordRead],
    summary="Records whose retention has ended (and are not held)",
)
async def eligible(
    user: CurrentUser,
    bus: Bus,
    clock: ServiceClock,
    paging: Paging,
    reason: Reason = None,
    now: datetime | None = None,
) -> Page[RecordRead]:
    command = FindEligibleForDisposition(
        actor=user, as_of=clock.now(now), reason=reason, page=paging
    )
    found = await bus.handle(command, access.eligible_for_disposition)
    return Page[RecordRead].of(found.map(RecordRead.of))


@router.post(
    "/dispositions",
    response_model=RecordRead,
    status_code=202,
    summary="Ask to dispose of a record whose retention ended (needs approval)",
)
async def request_disposition(
    body: DispositionCreate,
    user: CurrentUser,
    bus: Bus,
    clock: ServiceClock,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = RequestDisposition(
        actor=user,
        record_id=body.record_id,
        reason=body.reason,
        as_of=None if body.now is None else clock.now(body.now),
    )
    result = await bus.run(
        command,
        access.request_disposition,
        present=RecordRead.of,
        idempotency_key=key,
        status_code=202,
    )
    return command_response(result)


@router.get(
    "/records/{record_id}/verify",
    response_model=RecordVerificationRead,
    summary="Prove a record: re-hash each archived version, check its lock and the ledger",
)
async def verify_record(
    record_id: uuid.UUID, user: CurrentUser, bus: Bus
) -> RecordVerificationRead:
    result = await bus.query(handlers.verify_record, record_id, principal=user)
    return RecordVerificationRead.of(result)


@router.post(
    "/ledger/verify",
    response_model=LedgerVerificationRead,
    summary="Re-compute the whole hash chain of the ledger",
)
async def verify_ledger(user: CurrentUser, bus: Bus) -> LedgerVerificationRead:
    return LedgerVerificationRead.of(await bus.query(handlers.verify_ledger, principal=user))
