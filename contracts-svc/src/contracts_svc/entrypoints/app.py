"""The contracts-svc composition root.

Run: `uvicorn contracts_svc.entrypoints.app:create_app --factory --reset-contextvars`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from contracts_svc.adapters.esign import BuiltinSignatureProvider
from contracts_svc.adapters.library import clause_library
from contracts_svc.adapters.repository import ConcurrentUpdate
from contracts_svc.config import Settings, get_settings
from contracts_svc.domain.model import (
    ContractError,
    InvalidState,
    MissingClauses,
    NotAllowed,
    WrongVersion,
)
from contracts_svc.entrypoints import api
from contracts_svc.service_layer import handlers
from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared.runtime import ServiceRuntime
from guakao_shared.topology import events_topic

SERVICE = "contracts"
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = ServiceRuntime(SERVICE, settings)
    clause_library()  # a broken clause library stops the service at start
    docs = handlers.Documents(runtime.documents, settings.documents_bucket)

    def uow() -> ContractsUnitOfWork:
        return ContractsUnitOfWork(runtime.session_factory, service=SERVICE)

    async def drafting(envelope: Any, payload: Any, unit: ContractsUnitOfWork) -> None:
        await handlers.draft_from_plan(envelope, payload, unit, docs)

    runtime.add_consumer(
        "plans",
        topic=events_topic("applications"),
        uow_factory=uow,
        handlers={"plan.approved": drafting},
    )
    outcome = handlers.record_approval_outcome
    runtime.add_consumer(
        "approval-outcomes",
        topic=events_topic("approvals"),
        uow_factory=uow,
        handlers={
            "approval.granted": outcome,
            "approval.rejected": outcome,
            "approval.returned": outcome,
        },
    )
    runtime.add_consumer(
        "filing-answers",
        topic=events_topic("archive"),
        uow_factory=uow,
        handlers={
            "record.filed": handlers.record_filed,
            "record.filing_failed": handlers.record_filing_failed,
        },
    )
    app = runtime.create_app(
        title="guakao contracts",
        version="1",
        description="Contracts drafted from the approved plan: mandatory clauses, versions, "
        "approval, signatures, obligations, custody and filing with the archive (stage 3).",
        routers=[api.router],
        domain_errors={
            handlers.ContractNotFound: 404,
            NotAllowed: 403,
            InvalidState: 409,
            ConcurrentUpdate: 409,
            WrongVersion: 409,
            MissingClauses: 422,
            ContractError: 422,
        },
    )
    app.state.signature_provider = BuiltinSignatureProvider(
        settings.esign_secret.get_secret_value().encode()
    )

    async def sweep_loop() -> None:
        while True:
            await asyncio.sleep(settings.sweep_interval_s)
            try:
                await api.sweep_all(app, datetime.now(UTC))
            except Exception:
                log.exception("contracts sweep failed; retrying at the next interval")

    runtime.background.append(sweep_loop)
    return app
