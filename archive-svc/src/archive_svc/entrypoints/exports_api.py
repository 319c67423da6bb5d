"""HTTP API of archive-svc's evidence: ledger checkpoints and evidence packages (exports).
Routes parse, check the caller's role, call a use case, map. `install` adds the periodic
checkpoint job to the runtime."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field, model_validator

from archive_svc.adapters.archive import S3Archive
from archive_svc.adapters.package_store import URL_MINUTES, PackageStore
from archive_svc.config import Settings
from archive_svc.domain.evidence import Checkpoint
from archive_svc.service_layer import exports
from archive_svc.service_layer.handlers import now
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared.auth import CurrentUser, Role, require_role
from guakao_shared.problems import ProblemError
from guakao_shared.runtime import ServiceRuntime

router = APIRouter(prefix="/v1", tags=["evidence"])
EXPORTERS = (Role.COMPLIANCE_OFFICER, Role.AUDITOR)
CHECKPOINTERS = (Role.PROCESS_ADMIN, Role.COMPLIANCE_OFFICER)
DEFAULT_CHECKPOINT_INTERVAL_S = 3600.0


class ExportCreate(BaseModel):
    record_ids: list[uuid.UUID] = Field(default_factory=list, max_length=exports.MAX_RECORDS)
    case_id: uuid.UUID | None = None
    reason: str = Field(min_length=1, max_length=2000, description="why (written to the ledger)")

    @model_validator(mode="after")
    def _what_and_why(self) -> Self:
        if not self.record_ids and self.case_id is None:
            raise ValueError("name the records (record_ids) or the case (case_id) to export")
        if not self.reason.strip():
            raise ValueError("reason: an export needs a reason")
        return self


class ExportRead(BaseModel):
    export_id: uuid.UUID
    created_by: str
    reason: str
    created_at: datetime
    record_ids: list[uuid.UUID]
    sha256: str
    size: int
    package_key: str
    package_version_id: str | None
    ledger_seq: int = Field(description="the `export` ledger entry that records this export")
    download_url: str = Field(description="a presigned GET of the package")
    expires_in_s: int = URL_MINUTES * 60

    @classmethod
    def of(cls, link: exports.ExportLink) -> ExportRead:
        e = link.export
        return cls(
            export_id=e.id,
            created_by=e.created_by,
            reason=e.reason,
            created_at=e.created_at,
            record_ids=e.record_ids,
            sha256=e.sha256,
            size=e.size,
            package_key=e.package_key,
            package_version_id=e.package_version_id,
            ledger_seq=e.ledger_seq,
            download_url=link.download_url,
        )


class CheckpointRead(BaseModel):
    id: uuid.UUID
    first_seq: int
    last_seq: int
    root_hash: str
    created_at: datetime
    ledger_seq: int

    @classmethod
    def of(cls, c: Checkpoint) -> CheckpointRead:
        return cls(
            id=c.id,
            first_seq=c.first_seq,
            last_seq=c.last_seq,
            root_hash=c.root_hash,
            created_at=c.created_at,
            ledger_seq=c.ledger_seq,
        )


class CheckpointClosed(BaseModel):
    closed: bool = Field(description="false: nothing was appended since the last checkpoint")
    checkpoint: CheckpointRead | None


def _uow(request: Request) -> ArchiveUnitOfWork:
    runtime = request.app.state.runtime
    return ArchiveUnitOfWork(runtime.session_factory, service=runtime.service)


def _store(request: Request) -> PackageStore:
    archive: S3Archive = request.app.state.archive
    return PackageStore(archive)


@router.post(
    "/ledger/checkpoints",
    response_model=CheckpointClosed,
    summary="Seal the ledger entries since the last checkpoint under a Merkle root, now",
    responses={201: {"model": CheckpointClosed, "description": "a checkpoint was closed"}},
)
async def close_checkpoint(
    user: CurrentUser, request: Request, response: Response
) -> CheckpointClosed:
    require_role(user, *CHECKPOINTERS, action="closing a ledger checkpoint")
    async with _uow(request) as uow:
        try:
            sealed = await exports.checkpoint(uow, now())
        except exports.LedgerBroken as exc:
            raise ProblemError(
                409, "The ledger does not chain", str(exc), problems=exc.problems
            ) from exc
        await uow.commit()
    response.status_code = 200 if sealed is None else 201
    return CheckpointClosed(
        closed=sealed is not None, checkpoint=None if sealed is None else CheckpointRead.of(sealed)
    )


@router.post(
    "/exports",
    response_model=ExportRead,
    status_code=201,
    summary="Export an evidence package (records, their archived bytes, the ledger proving them)",
)
async def create_export(body: ExportCreate, user: CurrentUser, request: Request) -> ExportRead:
    require_role(user, *EXPORTERS, action="exporting evidence")
    async with _uow(request) as uow:
        link = await exports.create_export(
            uow,
            _store(request),
            principal=user,
            reason=body.reason,
            record_ids=body.record_ids,
            case_id=body.case_id,
            at=now(),
        )
        await uow.commit()
    return ExportRead.of(link)


@router.get(
    "/exports/{export_id}",
    response_model=ExportRead,
    summary="An evidence package's metadata, with a fresh download URL (logged)",
)
async def get_export(
    export_id: uuid.UUID,
    user: CurrentUser,
    request: Request,
    reason: Annotated[str | None, Query(max_length=2000, description="why (logged)")] = None,
) -> ExportRead:
    require_role(user, *EXPORTERS, action="downloading evidence")
    async with _uow(request) as uow:
        link = await exports.get_export(
            uow, _store(request), export_id, principal=user, reason=reason
        )
        await uow.commit()
    return ExportRead.of(link)


def install(runtime: ServiceRuntime, app: FastAPI) -> None:
    """Close a ledger checkpoint periodically (`ARCHIVE_CHECKPOINT_INTERVAL_S`)."""
    settings = runtime.settings
    interval = (
        settings.checkpoint_interval_s
        if isinstance(settings, Settings)
        else DEFAULT_CHECKPOINT_INTERVAL_S
    )

    def uow() -> ArchiveUnitOfWork:
        return ArchiveUnitOfWork(runtime.session_factory, service=runtime.service)

    runtime.background.append(exports.checkpoint_job(uow, interval))
