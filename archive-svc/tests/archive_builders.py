"""Builders for archive-svc tests: who acts, the contract events that are filed, the commands,
and a unit of work that keeps everything in memory (records, the ledger, the evidence, a WORM
archive and the package store).

Import as `archive_builders` (each service's tests folder is on the path).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, BinaryIO, TypeVar

from archive_svc.adapters.archive import (
    ArchivedObject,
    ChecksumMismatch,
    ObjectCheck,
    SourceMissing,
    StagedDocument,
    StorageUnavailable,
)
from archive_svc.adapters.package_store import ArchivedVersionMissing
from archive_svc.domain.evidence import Checkpoint, Export
from archive_svc.domain.model import LedgerEntry, Record, RecordFilter, RetentionSchedule
from archive_svc.service_layer.commands import ReadRecord, RequestDisposition, SetLegalHold
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared.events import (
    Actor,
    ApprovalGranted,
    ApprovalRejected,
    ContractFilingRequested,
    ContractSigned,
    DocumentRef,
    Envelope,
    Money,
)
from guakao_shared.identity import Principal
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.testing import RecordingUnitOfWork

T = TypeVar("T")

ARCHIVE = "guakao-archive"
SOURCES = "guakao-contracts"
RETENTION = RetentionSchedule({"contract": 3650, "minutes": 3650, "evaluation": 1825})
SIGNED_PDF = b"%PDF-1.7 the signed contract"
EVIDENCE = b'{"signatures": []}'

# ---- who acts -----------------------------------------------------------------------------


def principal(sub: str, *roles: str, department: str | None = "compliance") -> Principal:
    return Principal(sub=sub, department=department, roles=frozenset(roles))


CORA = principal("cora", "compliance_officer")  # compliance: reads all, holds, disposes
AUDREY = principal("audrey", "auditor", department="audit")  # reads all, exports
CAROL = principal("carol", "custodian", department="legal")  # the custodian of what is filed
ADA = principal("ada", "process_admin", department="it")
EVE = principal("eve", "applicant", department="it")  # nobody the archive owes anything

# ---- what is filed ------------------------------------------------------------------------


def contract_signed(
    documents: list[DocumentRef],
    *,
    contract_id: uuid.UUID | None = None,
    version: int = 1,
    record_class: str = "contract",
    case_id: uuid.UUID | None = None,
) -> tuple[Envelope, ContractSigned]:
    """contract.signed for `documents`, kept by carol, as contracts-svc publishes it."""
    payload = ContractSigned(
        contract_id=contract_id or uuid.uuid4(),
        application_id=uuid.uuid4(),
        contract_number="HT-2026-001",
        version=version,
        title="Affiliation agreement",
        value=Money(amount=Decimal("120000.00"), currency="CNY"),
        start_date=date(2026, 4, 1),
        end_date=date(2027, 3, 31),
        parties=[],
        custodian="carol",
        record_class=record_class,
        documents=documents,
        signatures=[],
        obligations=[],
    )
    envelope = Envelope.wrap(
        payload, source="contracts", case_id=case_id or uuid.uuid4(), actor=Actor(sub="lena")
    )
    return envelope, payload


def filing_requested(signed: ContractSigned, attempt: int = 2) -> ContractFilingRequested:
    """contract.filing_requested for the same version (the contract asks again)."""
    return ContractFilingRequested(
        contract_id=signed.contract_id,
        application_id=signed.application_id,
        version=signed.version,
        custodian=signed.custodian,
        record_class=signed.record_class,
        documents=signed.documents,
        attempt=attempt,
    )


def approval(
    record: Record, *, granted: bool = True, by: str = "leo"
) -> tuple[Envelope, ApprovalGranted | ApprovalRejected]:
    """The outcome of the disposition approval the archive asked for `record`."""
    assert record.disposition_request_id is not None
    kind = ApprovalGranted if granted else ApprovalRejected
    payload = kind(
        request_id=record.disposition_request_id,
        approval_case_id=uuid.uuid4(),
        subject_type="disposition",
        subject_id=record.id,
        decided_by=by,
        comment="dispose" if granted else "keep it",
    )
    envelope = Envelope.wrap(
        payload, source="approvals", case_id=record.case_id, actor=Actor(sub=by)
    )
    return envelope, payload


# ---- commands -----------------------------------------------------------------------------


def read(record: Record, by: Principal = AUDREY, reason: str | None = "annual audit") -> ReadRecord:
    return ReadRecord(actor=by, record_id=record.id, reason=reason)


def hold(
    *records: Record, case_id: uuid.UUID | None = None, by: Principal = CORA, on: bool = True
) -> SetLegalHold:
    return SetLegalHold(
        actor=by,
        hold=on,
        record_ids=tuple(r.id for r in records),
        case_id=case_id,
        reason="litigation 2027-17",
    )


def dispose(
    record: Record, *, as_of: datetime | None = None, by: Principal = CORA
) -> RequestDisposition:
    return RequestDisposition(actor=by, record_id=record.id, reason="retention over", as_of=as_of)


def after_retention(record: Record) -> datetime:
    return record.retention_until + timedelta(days=1)


# ---- a unit of work in memory -------------------------------------------------------------


class FakeRecords:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Record] = {}

    async def get(self, record_id: uuid.UUID) -> Record | None:
        return self.rows.get(record_id)

    async def get_by_source(
        self, source_type: str, source_id: uuid.UUID, source_version: int
    ) -> Record | None:
        return next(
            (
                r
                for r in self.rows.values()
                if (r.source_type, r.source_id, r.source_version)
                == (source_type, source_id, source_version)
            ),
            None,
        )

    async def search(self, where: RecordFilter, page: PageRequest) -> Slice[Record]:
        found = sorted(
            (r for r in self.rows.values() if _matches(r, where)), key=lambda r: (r.filed_at, r.id)
        )
        return Slice(found[page.offset : page.offset + page.limit], len(found), page)

    async def by_disposition_request(self, request_id: uuid.UUID) -> Record | None:
        return next((r for r in self.rows.values() if r.disposition_request_id == request_id), None)

    async def add(self, record: Record) -> None:
        assert record.ledger_seq is not None
        assert (
            await self.get_by_source(record.source_type, record.source_id, record.source_version)
            is None
        ), "unique (source_type, source_id, source_version)"
        self.rows[record.id] = record

    async def update_state(self, record: Record) -> None:
        assert record.id in self.rows

    async def ledger_problems(self) -> list[str]:
        return []

    def only(self) -> Record:
        [record] = self.rows.values()
        return record


def _matches(record: Record, where: RecordFilter) -> bool:
    for f in fields(where):
        wanted = getattr(where, f.name)
        if wanted is None:
            continue
        if f.name == "filed_from" and record.filed_at < wanted:
            return False
        if f.name == "filed_to" and record.filed_at >= wanted:
            return False
        if f.name == "retention_ended_by" and not (
            record.retention_until <= wanted
            and not record.legal_hold
            and record.disposition in ("NONE", "REFUSED")
        ):
            return False
        if hasattr(record, f.name) and getattr(record, f.name) != wanted:
            return False
    return True


class FakeLedger:
    def __init__(self) -> None:
        self.rows: list[LedgerEntry] = []
        self.locked = False

    async def lock(self) -> None:
        self.locked = True  # until the unit of work ends

    async def append(
        self, *, kind: str, record_id: uuid.UUID | None, payload: dict[str, Any], at: datetime
    ) -> LedgerEntry:
        await self.lock()
        entry = LedgerEntry.following(
            self.rows[-1] if self.rows else None,
            kind=kind,
            record_id=record_id,
            payload=payload,
            at=at,
        )
        self.rows.append(entry)
        return entry

    async def get(self, seq: int) -> LedgerEntry | None:
        return next((e for e in self.rows if e.seq == seq), None)

    async def entries(self) -> AsyncIterator[LedgerEntry]:
        for entry in self.rows:
            yield entry

    def kinds(self, record: Record | None = None) -> list[str]:
        return [e.kind for e in self.rows if record is None or e.record_id == record.id]


class FakeEvidence:
    def __init__(self, ledger: FakeLedger) -> None:
        self._ledger = ledger
        self.checkpoints: list[Checkpoint] = []
        self.exports: dict[uuid.UUID, Export] = {}

    async def entries_from(self, first_seq: int) -> AsyncIterator[LedgerEntry]:
        for entry in self._ledger.rows:
            if entry.seq >= first_seq:
                yield entry

    async def last_checkpoint(self) -> Checkpoint | None:
        return max(self.checkpoints, key=lambda c: c.last_seq, default=None)

    async def checkpoint_covering(self, seq: int) -> Checkpoint | None:
        return next((c for c in self.checkpoints if c.covers(seq)), None)

    async def checkpoints_from(self, first_seq: int) -> list[Checkpoint]:
        return sorted(
            (c for c in self.checkpoints if c.first_seq >= first_seq), key=lambda c: c.first_seq
        )

    async def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.checkpoints.append(checkpoint)

    async def add_export(self, export: Export) -> None:
        self.exports[export.id] = export

    async def get_export(self, export_id: uuid.UUID) -> Export | None:
        return self.exports.get(export_id)


@dataclass
class FakeArchive:
    """Source buckets and a WORM archive in memory: nothing is removed while its retention
    lasts or it is held, as S3 Object Lock refuses."""

    sources: dict[tuple[str, str, str | None], bytes] = field(default_factory=dict)
    stored: dict[tuple[str, str], bytes] = field(default_factory=dict)
    retained: dict[tuple[str, str], datetime] = field(default_factory=dict)
    held: set[tuple[str, str]] = field(default_factory=set)
    writes: list[str] = field(default_factory=list)
    staged: list[StagedDocument] = field(default_factory=list)
    outage: bool = False

    def put_source(self, key: str, body: bytes, *, sha256: str | None = None) -> DocumentRef:
        version = f"v-{len(self.sources) + 1}"
        self.sources[(SOURCES, key, version)] = body
        return DocumentRef(
            bucket=SOURCES,
            key=key,
            version_id=version,
            sha256=sha256 or hashlib.sha256(body).hexdigest(),
            size=len(body),
            content_type="application/pdf",
            filename=key.rsplit("/", 1)[-1],
            document_type="signed_contract",
        )

    async def fetch(self, ref: DocumentRef) -> StagedDocument:
        if self.outage:
            raise StorageUnavailable("object storage unreachable: connection refused")
        body = self.sources.get((ref.bucket, ref.key, ref.version_id))
        if body is None:
            raise SourceMissing(ref.bucket, ref.key, ref.version_id, "NoSuchVersion")
        actual = hashlib.sha256(body).hexdigest()
        if actual != ref.sha256:
            raise ChecksumMismatch(ref, actual)
        staged = StagedDocument(ref=ref, sha256=actual, size=len(body), spool=io.BytesIO(body))
        self.staged.append(staged)
        return staged

    async def store(
        self, staged: StagedDocument, *, key: str, retain_until: datetime, legal_hold: bool = False
    ) -> ArchivedObject:
        self.writes.append(key)
        version = f"av-{len(self.writes)}"
        staged.spool.seek(0)
        self.stored[(key, version)] = staged.spool.read()
        self.retained[(key, version)] = retain_until
        if legal_hold:
            self.held.add((key, version))
        return ArchivedObject(ARCHIVE, key, version)

    async def check(self, bucket: str, key: str, version_id: str | None) -> ObjectCheck:
        body = self.stored.get((key, version_id or ""))
        if body is None:
            return ObjectCheck(exists=False)
        return ObjectCheck(
            exists=True,
            sha256=hashlib.sha256(body).hexdigest(),
            size=len(body),
            retention_mode="COMPLIANCE",
            retain_until=self.retained[(key, version_id or "")],
        )

    async def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> None:
        (self.held.add if on else self.held.discard)((key, version_id or ""))

    async def remove(self, key: str, version_id: str | None) -> None:
        where = (key, version_id or "")
        if where in self.held or self.retained[where] > datetime.now(UTC):
            raise PermissionError("Object is WORM protected and cannot be overwritten")
        del self.stored[where]

    async def read(self, key: str, version_id: str | None) -> bytes:
        return self.stored[(key, version_id or "")]

    async def presigned_get(self, key: str, version_id: str | None, minutes: int = 15) -> str:
        return f"https://archive.invalid/{key}?versionId={version_id}&minutes={minutes}"


class FakePackages:
    """The package store on the in-memory archive: packages are kept in `packages`."""

    bucket = ARCHIVE

    def __init__(self, archive: FakeArchive) -> None:
        self._archive = archive
        self.packages: dict[str, bytes] = {}

    def chunks(self, bucket: str, key: str, version_id: str | None) -> Iterator[bytes]:
        body = self._archive.stored.get((key, version_id or ""))
        if body is None:
            raise ArchivedVersionMissing(bucket, key, version_id, "NoSuchVersion")
        yield from (body[:7], body[7:])

    def put(self, key: str, package: BinaryIO, size: int, sha256: str) -> str | None:
        self.packages[key] = package.read()
        assert len(self.packages[key]) == size
        return f"pv-{len(self.packages)}"

    async def presigned_url(self, key: str, version_id: str | None) -> str:
        return f"https://archive.invalid/{key}?versionId={version_id}"

    async def run(self, call: Callable[[], T]) -> T:
        return call()


class FakeArchiveUnitOfWork(RecordingUnitOfWork, ArchiveUnitOfWork):
    """The archive's unit of work with everything in memory; `published` holds what committed
    units emitted (`events(RecordFiled)`)."""

    records: FakeRecords
    ledger: FakeLedger
    evidence: FakeEvidence
    archive: FakeArchive
    packages: FakePackages

    def __init__(self, archive: FakeArchive | None = None) -> None:
        super().__init__()
        self.records = FakeRecords()
        self.ledger = FakeLedger()
        self.evidence = FakeEvidence(self.ledger)
        self.archive = archive or FakeArchive()
        self.packages = FakePackages(self.archive)
        self.retention = RETENTION

    async def commit(self) -> None:
        await super().commit()
        self.ledger.locked = False  # the advisory lock ends with the transaction

    async def rollback(self) -> None:
        await super().rollback()
        self.ledger.locked = False
