"""What applications-svc consumes: the outcomes of the approvals it requested."""

from __future__ import annotations

from applications_svc.service_layer import handlers
from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork
from guakao_shared.events import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalReturned,
    ApprovalWithdrawn,
)
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import events_topic


def subscribe(runtime: ServiceRuntime[ApplicationsUnitOfWork]) -> None:
    (
        runtime.consumer("approval-outcomes", topics=[events_topic("approvals")])
        .on(ApprovalGranted, handlers.record_approval_outcome)
        .on(ApprovalRejected, handlers.record_approval_outcome)
        .on(ApprovalReturned, handlers.record_approval_outcome)
        .on(ApprovalWithdrawn, handlers.record_approval_outcome)
    )
