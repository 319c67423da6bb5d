"""What contracts-svc listens to: approved plans (drafting), approval outcomes of contracts,
and the archive's filing answers. Each consumer group is `contracts.<name>`."""

from __future__ import annotations

from contracts_svc.service_layer import handlers
from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared.events import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalReturned,
    PlanApproved,
    RecordFiled,
    RecordFilingFailed,
)
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import events_topic


def subscribe(runtime: ServiceRuntime[ContractsUnitOfWork]) -> None:
    runtime.consumer("plans", topics=[events_topic("applications")]).on(
        PlanApproved, handlers.draft_from_plan
    )
    (
        runtime.consumer("approval-outcomes", topics=[events_topic("approvals")])
        .on(ApprovalGranted, handlers.record_approval_outcome)
        .on(ApprovalRejected, handlers.record_approval_outcome)
        .on(ApprovalReturned, handlers.record_approval_outcome)
    )
    (
        runtime.consumer("filing-answers", topics=[events_topic("archive")])
        .on(RecordFiled, handlers.record_filed)
        .on(RecordFilingFailed, handlers.record_filing_failed)
    )
