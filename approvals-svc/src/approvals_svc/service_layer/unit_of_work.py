"""The approvals unit of work: the cases, the directory and the delegations on one
transaction, the store of decision records, the clock, and the outbox.

Repositories and adapters are typed by what the use cases need (the Protocols below), so the
handler tests can hand in in-memory fakes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals_svc.adapters.repository import (
    SqlAlchemyApprovalRepository,
    SqlAlchemyDelegations,
    SqlAlchemyPeople,
)
from approvals_svc.adapters.views import DelegationEntry, DirectoryEntry, InboxQuery, InboxTask
from approvals_svc.domain.model import ApprovalCase, Delegation, Directory
from guakao_shared.events import DocumentRef
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.uow import SqlAlchemyUnitOfWork


class ApprovalCases(Protocol):
    async def exists_for_request(self, request_id: uuid.UUID) -> bool: ...
    async def get(self, case_id: uuid.UUID) -> ApprovalCase | None: ...
    async def get_by_request(self, request_id: uuid.UUID) -> ApprovalCase | None: ...
    async def get_by_task(self, task_id: uuid.UUID) -> ApprovalCase | None: ...
    async def add(self, case: ApprovalCase) -> None: ...
    async def save(self, case: ApprovalCase) -> None:
        """Raises ConcurrentUpdate when the case changed since it was read."""

    async def inbox(self, query: InboxQuery, page: PageRequest) -> Slice[InboxTask]: ...
    async def open_case_ids(self) -> list[uuid.UUID]: ...


class People(Protocol):
    async def directory(self) -> Directory: ...
    async def put(self, entry: DirectoryEntry) -> None: ...
    async def list(self, page: PageRequest) -> Slice[DirectoryEntry]: ...


class Delegations(Protocol):
    async def add(self, entry: DelegationEntry) -> None: ...
    async def active_for(self, delegate: str, now: datetime) -> list[Delegation]: ...
    async def given_or_received(self, sub: str, page: PageRequest) -> Slice[DelegationEntry]: ...
    async def revoke(self, delegation_id: uuid.UUID, *, delegator: str, now: datetime) -> bool: ...


class RecordStore(Protocol):
    """Where the generated decision records (minutes) go."""

    async def put(self, *, key: str, body: bytes, filename: str) -> DocumentRef: ...


class ApprovalsUnitOfWork(SqlAlchemyUnitOfWork):
    cases: ApprovalCases
    people: People
    delegations: Delegations
    records: RecordStore

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        service: str,
        records: RecordStore,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(session_factory, service=service, clock=clock)
        self.records = records

    def _open(self) -> None:
        self.cases = SqlAlchemyApprovalRepository(self.session)
        self.people = SqlAlchemyPeople(self.session)
        self.delegations = SqlAlchemyDelegations(self.session)

    async def directory(self) -> Directory:
        return await self.people.directory()
