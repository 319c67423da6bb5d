"""The approvals-svc composition root.

Run: `uvicorn approvals_svc.entrypoints.app:create_app --factory --reset-contextvars`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from fastapi import FastAPI

from approvals_svc.adapters.repository import ConcurrentUpdate
from approvals_svc.config import Settings, get_settings
from approvals_svc.domain.model import CommentRequired, InvalidReturn, NotAllowed, NotOpen
from approvals_svc.entrypoints import api
from approvals_svc.service_layer import handlers
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import events_topic

SERVICE = "approvals"
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = ServiceRuntime(SERVICE, settings)

    def uow() -> ApprovalsUnitOfWork:
        return ApprovalsUnitOfWork(runtime.session_factory, service=SERVICE)

    runtime.add_consumer(
        "approval-requests",
        # every service that asks for approvals: applications (stages 1-2), contracts (3),
        # the archive (disposition)
        topic=[events_topic("applications"), events_topic("contracts"), events_topic("archive")],
        uow_factory=uow,
        handlers={
            "approval.requested": handlers.open_approval_case,
            "application.withdrawn": handlers.withdraw_on_request,
        },
    )
    app = runtime.create_app(
        title="guakao approvals",
        version="1",
        description="The approval engine: cases from the process definition's policies, task "
        "inboxes, decisions, delegation, transfer, add-signer, return, withdrawal, SLA timers.",
        routers=[api.router],
        domain_errors={
            handlers.TaskNotFound: 404,
            handlers.CaseNotFound: 404,
            NotAllowed: 403,
            NotOpen: 409,
            ConcurrentUpdate: 409,
            CommentRequired: 422,
            InvalidReturn: 422,
        },
    )

    async def sla_loop() -> None:
        while True:
            await asyncio.sleep(settings.sla_sweep_interval_s)
            try:
                await api.sweep_all(app, datetime.now(UTC))
            except Exception:
                log.exception("SLA sweep failed; retrying at the next interval")

    runtime.background.append(sla_loop)
    return app
