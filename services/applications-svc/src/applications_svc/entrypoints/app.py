"""The applications-svc composition root.

Run: `uvicorn applications_svc.entrypoints.app:create_app --factory --reset-contextvars`.
"""

from __future__ import annotations

from fastapi import FastAPI

from applications_svc.adapters.repository import ConcurrentUpdate
from applications_svc.config import Settings, get_settings
from applications_svc.domain.model import (
    InvalidApplication,
    InvalidTransition,
    MissingMaterials,
    NotTheApplicant,
    PlanNotReady,
    RoleRequired,
)
from applications_svc.entrypoints import api
from applications_svc.service_layer import handlers
from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import events_topic

SERVICE = "applications"


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = ServiceRuntime(SERVICE, settings or get_settings())

    def uow() -> ApplicationsUnitOfWork:
        return ApplicationsUnitOfWork(runtime.session_factory, service=SERVICE)

    runtime.add_consumer(
        "approval-outcomes",
        topic=events_topic("approvals"),
        uow_factory=uow,
        handlers={
            "approval.granted": handlers.record_approval_outcome,
            "approval.rejected": handlers.record_approval_outcome,
            "approval.returned": handlers.record_approval_outcome,
            "approval.withdrawn": handlers.record_approval_outcome,
        },
    )
    return runtime.create_app(
        title="guakao applications",
        version="1",
        description="The affiliation case: application (stage 1) and plan design and review "
        "(stage 2), with documents, timeline and search.",
        routers=[api.router],
        domain_errors={
            handlers.ApplicationNotFound: 404,
            InvalidTransition: 409,
            ConcurrentUpdate: 409,
            NotTheApplicant: 403,
            InvalidApplication: 422,
            MissingMaterials: 422,
            PlanNotReady: 422,
            RoleRequired: 403,
        },
    )
