"""The approvals-svc composition root.

Run: `uvicorn approvals_svc.entrypoints.app:create_app --factory --reset-contextvars`.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI

from approvals_svc.adapters.records import S3RecordStore
from approvals_svc.adapters.repository import ConcurrentUpdate
from approvals_svc.config import Settings, get_settings
from approvals_svc.domain.model import CommentRequired, InvalidReturn, NotAllowed, NotOpen
from approvals_svc.entrypoints import api, consumers
from approvals_svc.service_layer import handlers
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork
from guakao_shared.runtime import ServiceRuntime

SERVICE = "approvals"


def unit_of_work(runtime: ServiceRuntime[ApprovalsUnitOfWork]) -> ApprovalsUnitOfWork:
    settings = runtime.settings
    if not isinstance(settings, Settings):
        raise TypeError("approvals-svc runs on its own Settings")
    return ApprovalsUnitOfWork(
        runtime.session_factory,
        service=SERVICE,
        records=S3RecordStore(runtime.documents, settings.records_bucket),
        clock=runtime.clock.now,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = ServiceRuntime(SERVICE, settings, unit_of_work=unit_of_work)
    consumers.subscribe(runtime)

    async def sla_sweep(now: datetime) -> None:
        await handlers.sweep_time_limits(runtime.bus, now)

    runtime.every(settings.sla_sweep_interval_s, sla_sweep, name="sla-sweep")
    return runtime.create_app(
        title="guakao approvals",
        version="1",
        description="The approval engine: cases from the process definition's policies, task "
        "inboxes, decisions, delegation, transfer, add-signer, return, withdrawal, SLA timers.",
        routers=[api.router],
        domain_errors={
            NotAllowed: 403,
            NotOpen: 409,
            ConcurrentUpdate: 409,
            CommentRequired: 422,
            InvalidReturn: 422,
        },
    )
