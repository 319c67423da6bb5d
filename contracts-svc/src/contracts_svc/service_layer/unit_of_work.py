"""The contracts unit of work: the contract repository on one transaction (plus the outbox),
and what the use cases need besides: document storage, the renderer, the signature provider,
the clause library, the expiry reminder thresholds and the clock. `entrypoints/app.py` builds
it for the bus, the consumers and the sweep; handler tests build a fake with the same
attributes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts_svc.adapters.esign import SignatureProvider
from contracts_svc.adapters.repository import SqlAlchemyContractRepository
from contracts_svc.domain.model import Contract, Filing, LibraryClause, Status, Version
from guakao_shared.events import DocumentRef
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.uow import SqlAlchemyUnitOfWork


class ContractRepository(Protocol):
    async def get(self, contract_id: uuid.UUID, *, for_update: bool = False) -> Contract | None:
        """The contract, locked for this transaction when `for_update`; None if it is not."""

    async def exists_for_plan(self, application_id: uuid.UUID, plan_version: int) -> bool: ...

    async def add(self, c: Contract) -> None: ...

    async def save(self, c: Contract) -> None:
        """Store a changed contract; raises ConcurrentUpdate if it changed since it was read."""

    async def ids(
        self, *, status: Status | None = None, filing: Filing | None = None
    ) -> list[uuid.UUID]: ...

    async def search(
        self,
        *,
        application_id: uuid.UUID | None,
        status: str | None,
        counterparty: str | None,
        value_min: Decimal | None,
        value_max: Decimal | None,
        ends_before: date | None,
        ends_after: date | None,
        visible_to: tuple[str, str | None] | None,
        page: PageRequest,
    ) -> Slice[Contract]: ...


class DocumentStore(Protocol):
    """Where rendered versions and signature evidence are kept (claim checks)."""

    async def put(
        self, key: str, body: bytes, *, content_type: str, filename: str, document_type: str
    ) -> DocumentRef: ...

    async def read(self, ref: DocumentRef) -> bytes: ...


class Renderer(Protocol):
    def render(self, contract: Contract, version: Version) -> bytes:
        """The readable document of one version: what its signers sign."""


class ContractsUnitOfWork(SqlAlchemyUnitOfWork):
    contracts: ContractRepository

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        service: str,
        documents: DocumentStore,
        renderer: Renderer,
        signatures: SignatureProvider,
        library: list[LibraryClause],
        reminder_days: tuple[int, ...],
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(session_factory, service=service, clock=clock)
        self.documents, self.renderer, self.signatures = documents, renderer, signatures
        self.library, self.reminder_days = library, reminder_days

    def _open(self) -> None:
        self.contracts = SqlAlchemyContractRepository(self.session)
