"""The contracts-svc composition root.

Run: `uvicorn contracts_svc.entrypoints.app:create_app --factory --reset-contextvars`.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI

from contracts_svc.adapters.documents import ContractDocuments
from contracts_svc.adapters.esign import BuiltinSignatureProvider
from contracts_svc.adapters.library import clause_library
from contracts_svc.adapters.render import MarkdownRenderer
from contracts_svc.adapters.repository import ConcurrentUpdate
from contracts_svc.config import Settings, get_settings
from contracts_svc.domain.model import (
    ContractError,
    InvalidState,
    MissingClauses,
    NotAllowed,
    WrongVersion,
)
from contracts_svc.entrypoints import api, consumers
from contracts_svc.service_layer import handlers
from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared.runtime import ServiceRuntime

SERVICE = "contracts"


def unit_of_work(runtime: ServiceRuntime[ContractsUnitOfWork]) -> ContractsUnitOfWork:
    """The unit of work with the adapters every contracts use case gets."""
    settings = runtime.settings
    if not isinstance(settings, Settings):
        raise TypeError("contracts-svc runs on its own Settings")
    return ContractsUnitOfWork(
        runtime.session_factory,
        service=runtime.service,
        documents=ContractDocuments(runtime.documents, settings.documents_bucket),
        renderer=MarkdownRenderer(),
        signatures=BuiltinSignatureProvider(settings.esign_secret.get_secret_value().encode()),
        library=clause_library(),
        reminder_days=tuple(settings.expiry_reminder_days),
        clock=runtime.clock.now,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = ServiceRuntime(SERVICE, settings, unit_of_work=unit_of_work)
    clause_library()  # a broken clause library stops the service at start
    consumers.subscribe(runtime)

    async def sweep(now: datetime) -> None:
        await handlers.sweep(runtime.bus, now)

    runtime.every(settings.sweep_interval_s, sweep, name="contracts-sweep")
    return runtime.create_app(
        title="guakao contracts",
        version="1",
        description="Contracts drafted from the approved plan: mandatory clauses, versions, "
        "approval, signatures, obligations, custody and filing with the archive (stage 3).",
        routers=[api.router],
        domain_errors={
            NotAllowed: 403,
            InvalidState: 409,
            ConcurrentUpdate: 409,
            WrongVersion: 409,
            MissingClauses: 422,
            ContractError: 422,
        },
    )
