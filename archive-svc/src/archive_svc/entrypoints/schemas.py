"""API schemas of archive-svc."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from archive_svc.domain.evidence import Checkpoint
from archive_svc.domain.model import FiledDocument, Record
from archive_svc.service_layer.exports import MAX_RECORDS, ExportLink
from archive_svc.service_layer.handlers import (
    DocumentVerification,
    LedgerVerification,
    RecordVerification,
)


class RecordDocumentRead(BaseModel):
    filename: str
    document_type: str
    content_type: str
    sha256: str
    size: int
    source_bucket: str
    source_key: str
    source_version_id: str | None
    archive_bucket: str
    archive_key: str
    archive_version_id: str | None

    @classmethod
    def of(cls, d: FiledDocument) -> RecordDocumentRead:
        return cls(**d.__dict__)


class RecordRead(BaseModel):
    id: uuid.UUID
    source_type: str
    source_id: uuid.UUID
    source_version: int
    case_id: uuid.UUID
    record_class: str
    custodian: str
    filed_at: datetime
    retention_until: datetime
    legal_hold: bool
    disposition: str
    ledger_seq: int | None
    documents: list[RecordDocumentRead]

    @classmethod
    def of(cls, r: Record) -> RecordRead:
        return cls(
            id=r.id,
            source_type=r.source_type,
            source_id=r.source_id,
            source_version=r.source_version,
            case_id=r.case_id,
            record_class=r.record_class,
            custodian=r.custodian,
            filed_at=r.filed_at,
            retention_until=r.retention_until,
            legal_hold=r.legal_hold,
            disposition=r.disposition,
            ledger_seq=r.ledger_seq,
            documents=[RecordDocumentRead.of(d) for d in r.documents],
        )


class RecordList(RootModel[list[RecordRead]]):
    """The records a command changed (a result, not a collection: no paging)."""

    @classmethod
    def of(cls, records: Iterable[Record]) -> RecordList:
        return cls([RecordRead.of(r) for r in records])


class LedgerVerificationRead(BaseModel):
    ok: bool
    entries: int
    problems: list[str]

    @classmethod
    def of(cls, v: LedgerVerification) -> LedgerVerificationRead:
        return cls(ok=v.ok, entries=v.entries, problems=v.problems)


class DocumentVerificationRead(BaseModel):
    filename: str
    sha256: str
    archive_bucket: str
    archive_key: str
    archive_version_id: str | None
    ok: bool
    problems: list[str]

    @classmethod
    def of(cls, d: DocumentVerification) -> DocumentVerificationRead:
        return cls(**d.__dict__)


class RecordVerificationRead(BaseModel):
    record_id: uuid.UUID
    ok: bool
    ledger_seq: int | None
    documents: list[DocumentVerificationRead]
    problems: list[str]

    @classmethod
    def of(cls, v: RecordVerification) -> RecordVerificationRead:
        return cls(
            record_id=v.record_id,
            ok=v.ok,
            ledger_seq=v.ledger_seq,
            documents=[DocumentVerificationRead.of(d) for d in v.documents],
            problems=v.problems,
        )


class LegalHoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    case_id: uuid.UUID | None = None
    reason: str = Field(min_length=1, max_length=2000)


class DispositionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=2000)
    now: datetime | None = Field(default=None, description="clock override (tests, drills)")


# ---- evidence ------------------------------------------------------------------------------


class ExportCreate(BaseModel):
    record_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_RECORDS)
    case_id: uuid.UUID | None = None
    reason: str = Field(min_length=1, max_length=2000, description="why (written to the ledger)")

    @model_validator(mode="after")
    def _what_and_why(self) -> Self:
        if not self.record_ids and self.case_id is None:
            raise ValueError("name the records (record_ids) or the case (case_id) to export")
        if not self.reason.strip():
            raise ValueError("reason: an export needs a reason")
        return self


class ExportRead(BaseModel):
    export_id: uuid.UUID
    created_by: str
    reason: str
    created_at: datetime
    record_ids: list[uuid.UUID]
    sha256: str
    size: int
    package_key: str
    package_version_id: str | None
    ledger_seq: int = Field(description="the `export` ledger entry that records this export")
    download_url: str = Field(description="a presigned GET of the package")
    expires_in_s: int

    @classmethod
    def of(cls, link: ExportLink) -> ExportRead:
        e = link.export
        return cls(
            export_id=e.id,
            created_by=e.created_by,
            reason=e.reason,
            created_at=e.created_at,
            record_ids=e.record_ids,
            sha256=e.sha256,
            size=e.size,
            package_key=e.package_key,
            package_version_id=e.package_version_id,
            ledger_seq=e.ledger_seq,
            download_url=link.download_url,
            expires_in_s=link.expires_in_s,
        )


class CheckpointRead(BaseModel):
    id: uuid.UUID
    first_seq: int
    last_seq: int
    root_hash: str
    created_at: datetime
    ledger_seq: int

    @classmethod
    def of(cls, c: Checkpoint) -> CheckpointRead:
        return cls(
            id=c.id,
            first_seq=c.first_seq,
            last_seq=c.last_seq,
            root_hash=c.root_hash,
            created_at=c.created_at,
            ledger_seq=c.ledger_seq,
        )


class CheckpointClosed(BaseModel):
    closed: bool = Field(description="false: nothing was appended since the last checkpoint")
    checkpoint: CheckpointRead | None

    @classmethod
    def of(cls, sealed: Checkpoint | None) -> CheckpointClosed:
        return cls(
            closed=sealed is not None,
            checkpoint=None if sealed is None else CheckpointRead.of(sealed),
        )
