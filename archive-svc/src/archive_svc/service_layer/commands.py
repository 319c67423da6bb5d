"""The commands of archive-svc: one per use case, holding the whole request, so that the
idempotency fingerprint covers everything a caller sent (reasons, targets, the time asked for).

Reads of the archive are commands too: each one is written to the ledger with its reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from archive_svc.domain.model import RecordFilter
from guakao_shared.commands import Command
from guakao_shared.paging import PageRequest

# ---- compliance access ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SearchRecords(Command):
    reason: str | None
    where: RecordFilter = field(default_factory=RecordFilter)
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True, kw_only=True)
class ReadRecord(Command):
    record_id: uuid.UUID
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class DownloadDocument(Command):
    record_id: uuid.UUID
    sha256: str
    reason: str | None
    presigned: bool = False


# ---- legal hold and disposition ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SetLegalHold(Command):
    """Put (`hold=True`) or release (`hold=False`) a legal hold on records, or a whole case."""

    hold: bool
    record_ids: tuple[uuid.UUID, ...] = ()
    case_id: uuid.UUID | None = None
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class FindEligibleForDisposition(Command):
    as_of: datetime
    reason: str | None
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True, kw_only=True)
class RequestDisposition(Command):
    record_id: uuid.UUID
    reason: str | None
    as_of: datetime | None = None  # None: now (a later time only where the clock may be set)


# ---- evidence ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CloseCheckpoint(Command):
    at: datetime


@dataclass(frozen=True, kw_only=True)
class CreateExport(Command):
    record_ids: tuple[uuid.UUID, ...] = ()
    case_id: uuid.UUID | None = None
    reason: str


@dataclass(frozen=True, kw_only=True)
class FetchExport(Command):
    export_id: uuid.UUID
    reason: str | None = None
