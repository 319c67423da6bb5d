"""The monitoring-svc composition root: the reference skeleton every service follows.

Run: `uvicorn monitoring_svc.entrypoints.app:create_app --factory --reset-contextvars`.
"""

from __future__ import annotations

from fastapi import FastAPI

from guakao_shared.runtime import ServiceRuntime
from monitoring_svc.config import Settings, get_settings
from monitoring_svc.domain.model import InvalidRisk
from monitoring_svc.entrypoints import api, consumers
from monitoring_svc.service_layer.unit_of_work import MonitoringUnitOfWork

SERVICE = "monitoring"


def unit_of_work(runtime: ServiceRuntime[MonitoringUnitOfWork]) -> MonitoringUnitOfWork:
    return MonitoringUnitOfWork(runtime.session_factory, service=SERVICE, clock=runtime.clock.now)


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = ServiceRuntime(SERVICE, settings or get_settings(), unit_of_work=unit_of_work)
    consumers.subscribe(runtime)
    return runtime.create_app(
        title="guakao monitoring",
        version="1",
        description="What is measured: a case's risk register and the process event log of "
        "every case (stages 5-7 and the process monitoring platform grow from here).",
        routers=[api.router],
        domain_errors={InvalidRisk: 422},
    )
