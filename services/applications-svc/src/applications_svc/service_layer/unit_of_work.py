"""The applications unit of work: the case repository on one transaction, plus the outbox, and
what the use cases need beside the database (the document store, its bucket and upload limit,
the clock). Repositories and adapters are typed by what the use cases use, so tests hand in
fakes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from applications_svc.adapters.repository import SqlAlchemyApplicationRepository
from applications_svc.domain.model import Application, CaseStatus, CaseSummary
from guakao_shared.events import DocumentRef
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.uow import SqlAlchemyUnitOfWork


class ApplicationRepository(Protocol):
    async def get(
        self, application_id: uuid.UUID, *, for_update: bool = False
    ) -> Application | None: ...

    async def add(self, app: Application) -> None: ...

    async def save(self, app: Application) -> None: ...

    async def search(
        self,
        *,
        departments: list[str] | None,
        applicant: str,
        statuses: list[CaseStatus] | None,
        department: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        text: str | None,
        sort: str,
        page: PageRequest,
    ) -> Slice[CaseSummary]: ...


class DocumentStore(Protocol):
    async def put(
        self,
        *,
        bucket: str,
        key: str,
        stream: BinaryIO,
        max_bytes: int,
        content_type: str,
        filename: str,
        document_type: str,
    ) -> DocumentRef: ...

    async def delete(self, ref: DocumentRef) -> None: ...


class ApplicationsUnitOfWork(SqlAlchemyUnitOfWork):
    applications: ApplicationRepository
    documents: DocumentStore
    documents_bucket: str
    max_upload_bytes: int

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        service: str,
        documents: DocumentStore,
        documents_bucket: str,
        max_upload_bytes: int,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(session_factory, service=service, clock=clock)
        self.documents = documents
        self.documents_bucket = documents_bucket
        self.max_upload_bytes = max_upload_bytes

    def _open(self) -> None:
        self.applications = SqlAlchemyApplicationRepository(self.session)
