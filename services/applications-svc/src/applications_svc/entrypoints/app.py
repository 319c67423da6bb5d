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
from applications_svc.entrypoints import api, consumers
from applications_svc.service_layer import handlers
from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork
from guakao_shared.runtime import ServiceRuntime

SERVICE = "applications"


def unit_of_work(runtime: ServiceRuntime[ApplicationsUnitOfWork]) -> ApplicationsUnitOfWork:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return ApplicationsUnitOfWork(
        runtime.session_factory,
        service=runtime.service,
        documents=runtime.documents,
        documents_bucket=settings.documents_bucket,
        max_upload_bytes=settings.max_upload_bytes,
        clock=runtime.clock.now,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime: ServiceRuntime[ApplicationsUnitOfWork] = ServiceRuntime(
        SERVICE, settings or get_settings(), unit_of_work=unit_of_work
    )
    consumers.subscribe(runtime)
    return runtime.create_app(
        title="guakao applications",
        version="1",
        description="The affiliation case: application (stage 1) and plan design and review "
        "(stage 2), with documents, timeline and search.",
        routers=[api.router],
        domain_errors={
            InvalidTransition: 409,
            ConcurrentUpdate: 409,
            NotTheApplicant: 403,
            InvalidApplication: 422,
            MissingMaterials: 422,
            PlanNotReady: 422,
            RoleRequired: 403,
            handlers.NothingToChange: 422,
            handlers.UploadTooLarge: 413,
            handlers.UnsupportedContentType: 415,
        },
    )
