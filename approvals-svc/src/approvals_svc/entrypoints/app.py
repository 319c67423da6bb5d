"""The approvals-svc composition root.

Run: `uvicorn approvals_svc.entrypoints.app:create_app --factory --reset-contextvars`.
"""

from __future__ import annotations

from fastapi import FastAPI
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import events_topic

from approvals_svc.adapters.repository import ConcurrentUpdate
from approvals_svc.config import Settings, get_settings
from approvals_svc.domain.model import AlreadyDecided, CommentRequired, DecisionNotAllowed
from approvals_svc.entrypoints import api
from approvals_svc.service_layer import handlers
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork

SERVICE = "approvals"


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = ServiceRuntime(SERVICE, settings or get_settings())

    def uow() -> ApprovalsUnitOfWork:
        return ApprovalsUnitOfWork(runtime.session_factory, service=SERVICE)

    runtime.add_consumer(
        "approval-requests",
        topic=events_topic("applications"),
        uow_factory=uow,
        handlers={"approval.requested": handlers.open_approval_case},
    )
    return runtime.create_app(
        title="guakao approvals",
        version="1",
        description="Approval cases, task inboxes and decisions for every guakao approval.",
        routers=[api.router],
        domain_errors={
            handlers.TaskNotFound: 404,
            DecisionNotAllowed: 403,
            AlreadyDecided: 409,
            ConcurrentUpdate: 409,
            CommentRequired: 422,
        },
    )
