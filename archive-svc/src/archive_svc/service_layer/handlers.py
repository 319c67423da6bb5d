"""Use cases of archive-svc: file a source's documents into the WORM archive (retention by record
class, one ledger entry, `record.filed` back to the source), and prove records and the ledger.

Filing is idempotent per source version: a record that already exists is answered again, never
copied or chained twice. A document whose bytes do not hash to its claim check refuses the
whole filing (`record.filing_failed`) before anything is written to the archive or the ledger.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from archive_svc.adapters.archive import (
    ArchivedObject,
    ChecksumMismatch,
    SourceMissing,
    StagedDocument,
)
from archive_svc.domain.evidence import FILED
from archive_svc.domain.model import ChainVerifier, FiledDocument, Record, UnknownRecordClass
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork, DocumentArchive
from guakao_shared.events import (
    Actor,
    ArchivedDocument,
    ContractFilingRequested,
    ContractSigned,
    DocumentRef,
    Envelope,
    RecordFiled,
    RecordFilingFailed,
)
from guakao_shared.identity import Principal, Role, require_role
from guakao_shared.refusals import NotFound

log = logging.getLogger(__name__)

ARCHIVE_ACTOR = Actor(sub="archive-svc")
COMPLIANCE = "COMPLIANCE"
READERS = (Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.CUSTODIAN, Role.PROCESS_ADMIN)
VERIFIERS = (Role.COMPLIANCE_OFFICER, Role.AUDITOR)
REASON_MAX = 200  # RecordFilingFailed.reason


class RecordNotFound(NotFound):
    def __init__(self, record_id: uuid.UUID) -> None:
        super().__init__(f"record {record_id} does not exist")


def now() -> datetime:
    """The ledger's clock: entries are stamped with the real time."""
    return datetime.now(UTC)


# ---- filing ------------------------------------------------------------------------------


async def file_contract(
    envelope: Envelope, payload: ContractSigned | ContractFilingRequested, uow: ArchiveUnitOfWork
) -> None:
    """Consumer of `contract.signed` and `contract.filing_requested`: file that version."""
    await file_source(
        uow,
        source_type="contract",
        source_id=payload.contract_id,
        source_version=payload.version,
        case_id=envelope.case_id,
        record_class=payload.record_class,
        custodian=payload.custodian,
        documents=payload.documents,
    )


async def file_source(
    uow: ArchiveUnitOfWork,
    *,
    source_type: str,
    source_id: uuid.UUID,
    source_version: int,
    case_id: uuid.UUID,
    record_class: str,
    custodian: str,
    documents: Sequence[DocumentRef],
) -> Record | None:
    """File one version of a source; answer `record.filed` or `record.filing_failed`."""
    existing = await uow.records.get_by_source(source_type, source_id, source_version)
    if existing is not None:
        _answer_again(uow, existing, documents)
        return existing
    try:
        record = Record.file(
            source_type=source_type,
            source_id=source_id,
            source_version=source_version,
            case_id=case_id,
            record_class=record_class,
            custodian=custodian,
            retention=uow.retention,
            now=now(),
        )
    except UnknownRecordClass as exc:
        _refuse(uow, source_type, source_id, source_version, case_id, str(exc))
        return None

    staged: list[StagedDocument] = []
    try:
        try:  # every document is read and verified before anything is written
            for ref in documents:
                staged.append(await uow.archive.fetch(ref))
        except (ChecksumMismatch, SourceMissing) as exc:
            _refuse(uow, source_type, source_id, source_version, case_id, str(exc))
            return None
        for doc in staged:
            stored = await uow.archive.store(
                doc,
                key=record.archive_key(doc.sha256),
                retain_until=record.retention_until,
                legal_hold=record.legal_hold,
            )
            record.documents.append(_filed_document(doc, stored))
    finally:
        for doc in staged:
            doc.close()

    await uow.ledger.lock()
    # Another consumer may have filed this version while we copied: the lock orders us after it.
    existing = await uow.records.get_by_source(source_type, source_id, source_version)
    if existing is not None:
        _answer_again(uow, existing, documents)
        return existing
    entry = await uow.ledger.append(
        kind=FILED, record_id=record.id, payload=record.ledger_payload(), at=record.filed_at
    )
    record.ledger_seq = entry.seq
    await uow.records.add(record)
    uow.emit(_filed_event(record), case_id=record.case_id, actor=ARCHIVE_ACTOR)
    log.info(
        "filed %s %s v%d as record %s (%d document(s), ledger entry %d, retained until %s)",
        source_type,
        source_id,
        source_version,
        record.id,
        len(record.documents),
        entry.seq,
        record.retention_until.isoformat(),
    )
    return record


def _filed_document(doc: StagedDocument, stored: ArchivedObject) -> FiledDocument:
    ref = doc.ref
    return FiledDocument(
        source_bucket=ref.bucket,
        source_key=ref.key,
        source_version_id=ref.version_id,
        sha256=doc.sha256,
        size=doc.size,
        content_type=ref.content_type,
        filename=ref.filename,
        document_type=ref.document_type,
        archive_bucket=stored.bucket,
        archive_key=stored.key,
        archive_version_id=stored.version_id,
    )


def _filed_event(record: Record) -> RecordFiled:
    assert record.ledger_seq is not None
    return RecordFiled(
        record_id=record.id,
        source_type=record.source_type,
        source_id=record.source_id,
        source_version=record.source_version,
        record_class=record.record_class,
        retention_until=record.retention_until,
        ledger_seq=record.ledger_seq,
        documents=[
            ArchivedDocument(
                sha256=d.sha256,
                size=d.size,
                archive_bucket=d.archive_bucket,
                archive_key=d.archive_key,
                archive_version_id=d.archive_version_id,
                source_key=d.source_key,
            )
            for d in record.documents
        ],
    )


def _answer_again(uow: ArchiveUnitOfWork, record: Record, requested: Sequence[DocumentRef]) -> None:
    """Already filed: say so again (the source may have missed the first answer)."""
    if sorted(r.sha256 for r in requested) != sorted(d.sha256 for d in record.documents):
        log.warning(
            "%s %s v%d is already filed as record %s with other documents; the filed record "
            "stands (a filed version is never changed)",
            record.source_type,
            record.source_id,
            record.source_version,
            record.id,
        )
    uow.emit(_filed_event(record), case_id=record.case_id, actor=ARCHIVE_ACTOR)


def _refuse(
    uow: ArchiveUnitOfWork,
    source_type: str,
    source_id: uuid.UUID,
    source_version: int,
    case_id: uuid.UUID,
    reason: str,
) -> None:
    log.warning("refused to file %s %s v%d: %s", source_type, source_id, source_version, reason)
    if len(reason) > REASON_MAX:
        reason = reason[: REASON_MAX - 1] + "…"
    uow.emit(
        RecordFilingFailed(
            source_type=source_type,
            source_id=source_id,
            source_version=source_version,
            reason=reason,
            retryable=False,
        ),
        case_id=case_id,
        actor=ARCHIVE_ACTOR,
    )


# ---- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerVerification:
    ok: bool
    entries: int
    problems: list[str]


@dataclass(frozen=True)
class DocumentVerification:
    filename: str
    sha256: str
    archive_bucket: str
    archive_key: str
    archive_version_id: str | None
    ok: bool
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecordVerification:
    record_id: uuid.UUID
    ok: bool
    ledger_seq: int | None
    documents: list[DocumentVerification]
    problems: list[str]


async def verify_ledger(uow: ArchiveUnitOfWork, *, principal: Principal) -> LedgerVerification:
    """Re-compute the whole chain, and check every record still has its ledger entry."""
    require_role(principal, *VERIFIERS, action="verifying the ledger")
    return await _verify_chain(uow)


async def _verify_chain(uow: ArchiveUnitOfWork) -> LedgerVerification:
    verifier = ChainVerifier()
    async for entry in uow.ledger.entries():
        verifier.feed(entry)
    problems = verifier.problems + await uow.records.ledger_problems()
    return LedgerVerification(ok=not problems, entries=verifier.entries, problems=problems)


async def verify_record(
    uow: ArchiveUnitOfWork, record_id: uuid.UUID, *, principal: Principal
) -> RecordVerification:
    """Prove one record: each archived version re-read and re-hashed, still locked at least
    until the record's retention ends; its ledger entry matching it; the chain intact."""
    require_role(principal, *READERS, action="verifying a record")
    record = await uow.records.get(record_id)
    if record is None:
        raise RecordNotFound(record_id)
    documents = [await _verify_document(uow.archive, record, d) for d in record.documents]
    problems = [p for d in documents for p in d.problems]
    if record.ledger_seq is None:
        problems.append("the record has no ledger entry")
    else:
        entry = await uow.ledger.get(record.ledger_seq)
        if entry is None:
            problems.append(f"ledger entry {record.ledger_seq} of this record is missing")
        elif entry.record_id != record.id or entry.kind != FILED:
            problems.append(
                f"ledger entry {record.ledger_seq} does not record the filing of this record "
                f"(it is a {entry.kind!r} entry for {entry.record_id})"
            )
        else:
            problems += [
                f"ledger entry {record.ledger_seq}: {difference}"
                for difference in record.differences_from(entry.payload)
            ]
    chain = await _verify_chain(uow)
    problems += [f"ledger: {p}" for p in chain.problems]
    return RecordVerification(
        record_id=record.id,
        ok=not problems,
        ledger_seq=record.ledger_seq,
        documents=documents,
        problems=problems,
    )


async def _verify_document(
    archive: DocumentArchive, record: Record, d: FiledDocument
) -> DocumentVerification:
    check = await archive.check(d.archive_bucket, d.archive_key, d.archive_version_id)
    name = f"document {d.filename} ({d.archive_key}@{d.archive_version_id})"
    problems = []
    if not check.exists:
        problems.append(f"{name}: the archived version is missing")
    else:
        if check.sha256 != d.sha256:
            problems.append(
                f"{name}: sha256 mismatch (filed as {d.sha256}, the archived bytes hash to "
                f"{check.sha256})"
            )
        if check.retention_mode != COMPLIANCE:
            problems.append(
                f"{name}: not under COMPLIANCE retention ({check.retention_mode or 'none'})"
            )
        elif check.retain_until is None or check.retain_until < record.retention_until:
            problems.append(
                f"{name}: retained only until {check.retain_until}, the record requires "
                f"{record.retention_until.isoformat()}"
            )
    return DocumentVerification(
        filename=d.filename,
        sha256=d.sha256,
        archive_bucket=d.archive_bucket,
        archive_key=d.archive_key,
        archive_version_id=d.archive_version_id,
        ok=not problems,
        problems=problems,
    )
