"""The archive unit of work: records, the ledger and the evidence (checkpoints, exports) on one
transaction, plus the outbox; and what the use cases need besides the database: the WORM
archive, the package store and the retention schedule.

The repositories and adapters are typed by what the use cases need (Protocols), so handler
tests hand in in-memory fakes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from archive_svc.adapters.archive import ArchivedObject, ObjectCheck, StagedDocument
from archive_svc.adapters.evidence_repository import SqlAlchemyEvidence
from archive_svc.adapters.repository import SqlAlchemyLedger, SqlAlchemyRecordRepository
from archive_svc.domain.evidence import Checkpoint, Export
from archive_svc.domain.model import LedgerEntry, Record, RecordFilter, RetentionSchedule
from guakao_shared.events import DocumentRef
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.uow import SqlAlchemyUnitOfWork

T = TypeVar("T")


class Records(Protocol):
    async def get(self, record_id: uuid.UUID) -> Record | None: ...
    async def get_by_source(
        self, source_type: str, source_id: uuid.UUID, source_version: int
    ) -> Record | None: ...
    async def search(self, where: RecordFilter, page: PageRequest) -> Slice[Record]: ...
    async def by_disposition_request(self, request_id: uuid.UUID) -> Record | None: ...
    async def add(self, record: Record) -> None: ...
    async def update_state(self, record: Record) -> None: ...
    async def ledger_problems(self) -> list[str]: ...


class Ledger(Protocol):
    async def lock(self) -> None: ...
    async def append(
        self, *, kind: str, record_id: uuid.UUID | None, payload: dict[str, Any], at: datetime
    ) -> LedgerEntry: ...
    async def get(self, seq: int) -> LedgerEntry | None: ...
    def entries(self) -> AsyncIterator[LedgerEntry]: ...


class Evidence(Protocol):
    def entries_from(self, first_seq: int) -> AsyncIterator[LedgerEntry]: ...
    async def last_checkpoint(self) -> Checkpoint | None: ...
    async def checkpoint_covering(self, seq: int) -> Checkpoint | None: ...
    async def checkpoints_from(self, first_seq: int) -> list[Checkpoint]: ...
    async def add_checkpoint(self, checkpoint: Checkpoint) -> None: ...
    async def add_export(self, export: Export) -> None: ...
    async def get_export(self, export_id: uuid.UUID) -> Export | None: ...


class DocumentArchive(Protocol):
    """The WORM store (`adapters.archive.S3Archive`)."""

    async def fetch(self, ref: DocumentRef) -> StagedDocument: ...
    async def store(
        self, staged: StagedDocument, *, key: str, retain_until: datetime, legal_hold: bool = False
    ) -> ArchivedObject: ...
    async def check(self, bucket: str, key: str, version_id: str | None) -> ObjectCheck: ...
    async def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> None: ...
    async def remove(self, key: str, version_id: str | None) -> None: ...
    async def read(self, key: str, version_id: str | None) -> bytes: ...
    async def presigned_get(self, key: str, version_id: str | None, minutes: int = 15) -> str: ...


class Packages(Protocol):
    """Where evidence packages are built from and stored (`adapters.package_store`)."""

    @property
    def bucket(self) -> str: ...
    def chunks(self, bucket: str, key: str, version_id: str | None) -> Iterator[bytes]: ...
    def put(self, key: str, package: BinaryIO, size: int, sha256: str) -> str | None: ...
    async def presigned_url(self, key: str, version_id: str | None) -> str: ...
    async def run(self, call: Callable[[], T]) -> T: ...


class ArchiveUnitOfWork(SqlAlchemyUnitOfWork):
    records: Records
    ledger: Ledger
    evidence: Evidence
    archive: DocumentArchive
    packages: Packages
    retention: RetentionSchedule

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        service: str,
        archive: DocumentArchive,
        packages: Packages,
        retention: RetentionSchedule,
    ) -> None:
        super().__init__(session_factory, service=service)
        self.archive, self.packages, self.retention = archive, packages, retention

    def _open(self) -> None:
        self.records = SqlAlchemyRecordRepository(self.session)
        self.ledger = SqlAlchemyLedger(self.session)
        self.evidence = SqlAlchemyEvidence(self.session)
