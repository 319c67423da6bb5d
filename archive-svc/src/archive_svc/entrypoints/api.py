"""HTTP API of archive-svc under /v1: filed records, their proof, and the ledger's proof.
Routes parse, check the caller's role, call a use case, map."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from archive_svc.adapters.archive import S3Archive
from archive_svc.entrypoints.schemas import (
    LedgerVerificationRead,
    RecordRead,
    RecordVerificationRead,
)
from archive_svc.service_layer import handlers
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared.auth import CurrentUser, Role, require_role

router = APIRouter(prefix="/v1", tags=["archive"])
READERS = (Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.CUSTODIAN, Role.PROCESS_ADMIN)
VERIFIERS = (Role.COMPLIANCE_OFFICER, Role.AUDITOR)


def _uow(request: Request) -> ArchiveUnitOfWork:
    runtime = request.app.state.runtime
    return ArchiveUnitOfWork(runtime.session_factory, service=runtime.service)


def _archive(request: Request) -> S3Archive:
    archive: S3Archive = request.app.state.archive
    return archive


@router.get("/records", response_model=list[RecordRead], summary="Filed records")
async def list_records(
    user: CurrentUser,
    request: Request,
    source_id: uuid.UUID | None = None,
    source_type: Annotated[str | None, Query(max_length=50)] = None,
    case_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[RecordRead]:
    """Records in filing order, optionally those of one source (e.g. a contract's versions)."""
    require_role(user, *READERS, action="reading the archive")
    async with _uow(request) as uow:
        found = await uow.records.search(
            source_id=source_id,
            source_type=source_type,
            case_id=case_id,
            limit=limit,
            offset=offset,
        )
    return [RecordRead.of(r) for r in found]


@router.get("/records/{record_id}", response_model=RecordRead, summary="A filed record")
async def get_record(record_id: uuid.UUID, user: CurrentUser, request: Request) -> RecordRead:
    require_role(user, *READERS, action="reading the archive")
    async with _uow(request) as uow:
        record = await uow.records.get(record_id)
    if record is None:
        raise handlers.RecordNotFound(record_id)
    return RecordRead.of(record)


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
