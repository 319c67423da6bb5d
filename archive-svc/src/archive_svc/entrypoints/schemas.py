"""API schemas of archive-svc."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from archive_svc.domain.model import FiledDocument, Record
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
