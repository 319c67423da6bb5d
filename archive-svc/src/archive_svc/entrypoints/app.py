"""The archive-svc composition root.

Run: `uvicorn archive_svc.entrypoints.app:create_app --factory --reset-contextvars`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import FastAPI

from archive_svc.adapters.archive import S3Archive, StorageUnavailable
from archive_svc.adapters.package_store import PackageStore
from archive_svc.config import Settings, get_settings
from archive_svc.domain.model import RetentionSchedule
from archive_svc.entrypoints import api, consumers, exports_api
from archive_svc.service_layer import exports
from archive_svc.service_layer.commands import CloseCheckpoint
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared.identity import system_principal
from guakao_shared.runtime import ServiceRuntime

SERVICE = "archive"
log = logging.getLogger(__name__)


def unit_of_work(runtime: ServiceRuntime[ArchiveUnitOfWork]) -> ArchiveUnitOfWork:
    """The archive's unit of work, with the WORM archive, the package store and the retention
    schedule the use cases need besides the database."""
    settings = runtime.settings
    if not isinstance(settings, Settings):
        raise TypeError("archive-svc runs on archive_svc.config.Settings")
    archive = S3Archive(runtime.documents.client, settings.archive_bucket)
    return ArchiveUnitOfWork(
        runtime.session_factory,
        service=SERVICE,
        archive=archive,
        packages=PackageStore(archive),
        retention=RetentionSchedule(settings.retention_days),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = ServiceRuntime(SERVICE, settings, unit_of_work=unit_of_work)
    consumers.subscribe(runtime)

    async def ledger_checkpoints(now: datetime) -> None:
        """Seal what was appended to the ledger since the last checkpoint."""
        command = CloseCheckpoint(actor=system_principal(SERVICE), at=now)
        try:
            await runtime.bus.handle(command, exports.scheduled_checkpoint)
        except exports.LedgerBroken as exc:  # never certified; said loudly, tried again later
            log.error("%s", exc)

    runtime.every(settings.checkpoint_interval_s, ledger_checkpoints, name="ledger_checkpoints")
    return runtime.create_app(
        title="guakao archive",
        version="1",
        description="The WORM archive: filed records (S3 Object Lock, COMPLIANCE retention by "
        "record class), the hash-chained ledger, and verification of both.",
        routers=[api.router, exports_api.router],
        domain_errors={StorageUnavailable: 503},
    )
