"""The archive-svc composition root.

Run: `uvicorn archive_svc.entrypoints.app:create_app --factory --reset-contextvars`.
"""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from archive_svc.adapters.archive import S3Archive, StorageUnavailable
from archive_svc.config import Settings, get_settings
from archive_svc.domain.model import RetentionSchedule
from archive_svc.entrypoints import api, exports_api
from archive_svc.service_layer import access, handlers
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import events_topic

SERVICE = "archive"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = ServiceRuntime(SERVICE, settings)
    archive = S3Archive(runtime.documents.client, settings.archive_bucket)
    filing = handlers.Filing(archive=archive, retention=RetentionSchedule(settings.retention_days))

    def uow() -> ArchiveUnitOfWork:
        return ArchiveUnitOfWork(runtime.session_factory, service=SERVICE)

    file_contract = partial(handlers.file_contract, filing=filing)
    runtime.add_consumer(
        "filing",
        topic=events_topic("contracts"),
        uow_factory=uow,
        handlers={
            "contract.signed": file_contract,
            "contract.filing_requested": file_contract,
        },
    )
    decided = partial(access.disposition_decided, archive=archive)
    runtime.add_consumer(
        "disposition-outcomes",
        topic=events_topic("approvals"),
        uow_factory=uow,
        handlers={
            "approval.granted": decided,
            "approval.rejected": decided,
            "approval.returned": decided,
        },
    )
    app = runtime.create_app(
        title="guakao archive",
        version="1",
        description="The WORM archive: filed records (S3 Object Lock, COMPLIANCE retention by "
        "record class), the hash-chained ledger, and verification of both.",
        routers=[api.router, exports_api.router],
        domain_errors={
            handlers.RecordNotFound: 404,
            StorageUnavailable: 503,
        },
    )
    app.state.archive = archive
    exports_api.install(runtime, app)
    return app
