"""Kafka consumers of monitoring-svc: the process log reads every other service's topic."""

from __future__ import annotations

from guakao_shared.events import EVENT_TYPES
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import SERVICES, events_topic
from monitoring_svc.service_layer import handlers
from monitoring_svc.service_layer.unit_of_work import MonitoringUnitOfWork

SERVICE = "monitoring"


def subscribe(runtime: ServiceRuntime[MonitoringUnitOfWork]) -> None:
    log = runtime.consumer(
        "process-log", topics=[events_topic(s) for s in SERVICES if s != SERVICE]
    )
    for event in dict.fromkeys(EVENT_TYPES.values()):  # each known event type once
        log.on(event, handlers.record_process_event)
