"""The events approvals-svc consumes, each through the inbox (once per event id)."""

from __future__ import annotations

from approvals_svc.service_layer import handlers
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork
from guakao_shared.events import ApplicationWithdrawn, ApprovalRequested
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import events_topic

# Every service that asks for approvals: applications (stages 1-2), contracts (stage 3) and
# the archive (disposition).
REQUESTERS = ("applications", "contracts", "archive")


def subscribe(runtime: ServiceRuntime[ApprovalsUnitOfWork]) -> None:
    (
        runtime.consumer("approval-requests", topics=[events_topic(s) for s in REQUESTERS])
        .on(ApprovalRequested, handlers.open_approval_case)
        .on(ApplicationWithdrawn, handlers.withdraw_on_request)
    )
