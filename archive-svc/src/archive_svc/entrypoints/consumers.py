"""Kafka consumers of archive-svc: filing what contracts-svc signs, and the outcome of the
disposition approvals it asked approvals-svc for."""

from __future__ import annotations

from archive_svc.service_layer import access, handlers
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared.events import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalReturned,
    ContractFilingRequested,
    ContractSigned,
)
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import events_topic


def subscribe(runtime: ServiceRuntime[ArchiveUnitOfWork]) -> None:
    (
        runtime.consumer("filing", topics=[events_topic("contracts")])
        .on(ContractSigned, handlers.file_contract)
        .on(ContractFilingRequested, handlers.file_contract)
    )
    (
        runtime.consumer("disposition-outcomes", topics=[events_topic("approvals")])
        .on(ApprovalGranted, access.disposition_decided)
        .on(ApprovalRejected, access.disposition_decided)
        .on(ApprovalReturned, access.disposition_decided)
    )
