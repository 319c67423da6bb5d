"""HTTP API of archive-svc under /v1: filed records, their proof, and the ledger's proof.
Routes parse, check the caller's role, call a use case, map."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from archive_svc.adapters.archive import S3Archive
from archive_svc.entrypoints.schemas import (
    DispositionCreate,
    LedgerVerificationRead,
    LegalHoldCreate,
    RecordRead,
    RecordVerificationRead,
)
from archive_svc.service_layer import access, handlers
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared.auth import CurrentUser, Principal, Role, require_role
from guakao_shared.problems import ProblemError

router = APIRouter(prefix="/v1", tags=["archive"])
READERS = (Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.CUSTODIAN, Role.PROCESS_ADMIN)
VERIFIERS = (Role.COMPLIANCE_OFFICER, Role.AUDITOR)


def _uow(request: Request) -> ArchiveUnitOfWork:
    runtime = request.app.state.runtime
    return ArchiveUnitOfWork(runtime.session_factory, service=runtime.service)


def _archive(request: Request) -> S3Archive:
    archive: S3Archive = request.app.state.archive
    return archive


Reason = Annotated[str | None, Query(max_length=2000, description="why you need it (logged)")]


@router.get("/records", response_model=list[RecordRead], summary="Search filed records")
async def list_records(
    user: CurrentUser,
    request: Request,
    reason: Reason = None,
    source_id: uuid.UUID | None = None,
    source_type: Annotated[str | None, Query(max_length=50)] = None,
    case_id: uuid.UUID | None = None,
    record_class: Annotated[str | None, Query(max_length=50)] = None,
    custodian: Annotated[str | None, Query(max_length=200)] = None,
    filed_from: datetime | None = None,
    filed_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[RecordRead]:
    """Compliance officers and auditors search every record; others their own (custodian).
    The search itself, with its reason, is written to the ledger."""
    filters = {
        "source_id": source_id,
        "source_type": source_type,
        "case_id": case_id,
        "record_class": record_class,
        "custodian": custodian,
        "filed_from": filed_from,
        "filed_to": filed_to,
    }
    async with _uow(request) as uow:
        found = await access.search(uow, user, reason, filters, limit, offset)
        await uow.commit()
    return [RecordRead.of(r) for r in found]


@router.get("/records/{record_id}", response_model=RecordRead, summary="A filed record")
async def get_record(
    record_id: uuid.UUID, user: CurrentUser, request: Request, reason: Reason = None
) -> RecordRead:
    async with _uow(request) as uow:
        record = await access.read_record(uow, record_id, user, reason)
        await uow.commit()
    return RecordRead.of(record)


@router.get(
    "/records/{record_id}/documents/{sha256}",
    summary="Download an archived document (streamed, or ?presigned=true for a URL)",
)
async def download_document(
    record_id: uuid.UUID,
    sha256: str,
    user: CurrentUser,
    request: Request,
    reason: Reason = None,
    presigned: bool = False,
) -> Response:
    async with _uow(request) as uow:
        body, url, document = await access.download(
            uow, _archive(request), record_id, sha256, user, reason, presigned
        )
        await uow.commit()
    if url is not None:
        return JSONResponse({"url": url, "expires_in_s": 900, "sha256": sha256})
    return Response(
        body,
        media_type=document.content_type,
        headers={
            "X-Content-SHA256": sha256,
            "Content-Disposition": f'attachment; filename="{document.filename}"',
        },
    )


@router.post(
    "/legal-holds",
    response_model=list[RecordRead],
    summary="Put records (or a whole case) under legal hold",
)
async def set_legal_hold(
    body: LegalHoldCreate, user: CurrentUser, request: Request
) -> list[RecordRead]:
    return await _legal_hold(body, user, request, on=True)


@router.post(
    "/legal-holds/release", response_model=list[RecordRead], summary="Release a legal hold"
)
async def release_legal_hold(
    body: LegalHoldCreate, user: CurrentUser, request: Request
) -> list[RecordRead]:
    return await _legal_hold(body, user, request, on=False)


async def _legal_hold(
    body: LegalHoldCreate, user: Principal, request: Request, on: bool
) -> list[RecordRead]:
    require_role(user, Role.COMPLIANCE_OFFICER, action="setting or releasing a legal hold")
    async with _uow(request) as uow:
        changed = await access.set_legal_hold(
            uow,
            _archive(request),
            on=on,
            record_ids=body.record_ids,
            case_id=body.case_id,
            reason=body.reason,
            principal=user,
        )
        await uow.commit()
    return [RecordRead.of(r) for r in changed]


@router.get(
    "/dispositions/eligible",
    response_model=list[RecordRead],
    summary="Records whose retention has ended (and are not held)",
)
async def eligible(
    user: CurrentUser, request: Request, reason: Reason = None, now: datetime | None = None
) -> list[RecordRead]:
    require_role(user, Role.COMPLIANCE_OFFICER, action="reviewing disposition")
    at = _clock(request, now)
    async with _uow(request) as uow:
        found = await access.search(uow, user, reason, {"retention_ended_by": at}, 200, 0)
        await uow.commit()
    return [RecordRead.of(r) for r in found]


@router.post(
    "/dispositions",
    response_model=RecordRead,
    status_code=202,
    summary="Ask to dispose of a record whose retention ended (needs approval)",
)
async def request_disposition(
    body: DispositionCreate, user: CurrentUser, request: Request
) -> RecordRead:
    require_role(user, Role.COMPLIANCE_OFFICER, action="requesting disposition")
    async with _uow(request) as uow:
        record = await access.request_disposition(
            uow,
            record_id=body.record_id,
            reason=body.reason,
            principal=user,
            at=_clock(request, body.now),
        )
        await uow.commit()
    return RecordRead.of(record)


def _clock(request: Request, now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if not request.app.state.runtime.settings.allow_clock_override:
        raise ProblemError(
            403,
            "Forbidden",
            "now: clock override is disabled here (ARCHIVE_ALLOW_CLOCK_OVERRIDE)",
            rule="clock_override",
        )
    return now


@router.get(
    "/records/{record_id}/verify",
    response_model=RecordVerificationRead,
    summary="Prove a record: re-hash each archived version, check its lock and the ledger",
)
async def verify_record(
    record_id: uuid.UUID, user: CurrentUser, request: Request
) -> RecordVerificationRead:
    require_role(user, *READERS, action="verifying a record")
    async with _uow(request) as uow:
        result = await handlers.verify_record(uow, _archive(request), record_id)
    return RecordVerificationRead.of(result)


@router.post(
    "/ledger/verify",
    response_model=LedgerVerificationRead,
    summary="Re-compute the whole hash chain of the ledger",
)
async def verify_ledger(user: CurrentUser, request: Request) -> LedgerVerificationRead:
    require_role(user, *VERIFIERS, action="verifying the ledger")
    async with _uow(request) as uow:
        result = await handlers.verify_ledger(uow)
    return LedgerVerificationRead.of(result)
