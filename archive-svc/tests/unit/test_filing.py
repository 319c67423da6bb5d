"""Filing a signed contract, with fakes for the database and the archive: what is copied, what
the ledger gets, what is answered, and that filing the same version again files it once."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import urllib3
from minio import Minio

from archive_svc.adapters.archive import (
    ArchivedObject,
    ChecksumMismatch,
    ObjectCheck,
    S3Archive,
    SourceMissing,
    StagedDocument,
    StorageUnavailable,
)
from archive_svc.domain.model import LedgerEntry, Record, RetentionSchedule, verify_chain
from archive_svc.service_layer import handlers
from guakao_shared.events import (
    Actor,
    ContractFilingRequested,
    ContractSigned,
    DocumentRef,
    Envelope,
    EventData,
    Money,
    RecordFiled,
    RecordFilingFailed,
)
from guakao_shared.inbox import TRANSIENT_ERRORS

ARCHIVE = "guakao-archive"
RETENTION = RetentionSchedule({"contract": 3650, "minutes": 3650, "evaluation": 1825})
SIGNED_PDF = b"%PDF-1.7 the signed contract"
EVIDENCE = b'{"signatures": []}'


# ---- fakes ---------------------------------------------------------------------------------


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

    async def add(self, record: Record) -> None:
        assert record.ledger_seq is not None
        assert (
            await self.get_by_source(record.source_type, record.source_id, record.source_version)
            is None
        ), "unique (source_type, source_id, source_version)"
        self.rows[record.id] = record

    async def ledger_problems(self) -> list[str]:
        return []


class FakeLedger:
    def __init__(self) -> None:
        self.entries_: list[LedgerEntry] = []
        self.locked = False

    async def lock(self) -> None:
        self.locked = True

    async def append(
        self, *, kind: str, record_id: uuid.UUID | None, payload: dict[str, Any], at: datetime
    ) -> LedgerEntry:
        assert self.locked, "appending without the ledger lock"
        entry = LedgerEntry.following(
            self.entries_[-1] if self.entries_ else None,
            kind=kind,
            record_id=record_id,
            payload=payload,
            at=at,
        )
        self.entries_.append(entry)
        return entry

    async def get(self, seq: int) -> LedgerEntry | None:
        return next((e for e in self.entries_ if e.seq == seq), None)

    async def entries(self) -> AsyncIterator[LedgerEntry]:
        for entry in self.entries_:
            yield entry


@dataclass
class FakeUnitOfWork:
    """Commits what a handler did, as the inbox consumer does after it returns."""

    records: FakeRecords = field(default_factory=FakeRecords)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    pending: list[tuple[EventData, uuid.UUID, Actor]] = field(default_factory=list)
    published: list[tuple[EventData, uuid.UUID, Actor]] = field(default_factory=list)

    def emit(self, data: EventData, *, case_id: uuid.UUID, actor: Actor) -> None:
        self.pending.append((data, case_id, actor))

    async def commit(self) -> None:
        self.published += self.pending
        self.pending = []
        self.ledger.locked = False

    def events(self, kind: type[EventData] = EventData) -> list[Any]:
        return [e for e, _, _ in self.published if isinstance(e, kind)]


class FakeArchive:
    """Source buckets and a WORM archive in memory (nothing stored is ever removed)."""

    def __init__(self) -> None:
        self.sources: dict[tuple[str, str, str | None], bytes] = {}
        self.stored: dict[tuple[str, str], bytes] = {}
        self.retained: dict[tuple[str, str], datetime] = {}
        self.writes: list[str] = []
        self.staged: list[StagedDocument] = []
        self.outage = False

    def put_source(self, key: str, body: bytes, *, sha256: str | None = None) -> DocumentRef:
        version = f"v-{len(self.sources) + 1}"
        self.sources[("guakao-contracts", key, version)] = body
        return DocumentRef(
            bucket="guakao-contracts",
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
        staged.spool.seek(0)
        self.stored[(key, f"av-{len(self.writes)}")] = staged.spool.read()
        self.retained[(key, f"av-{len(self.writes)}")] = retain_until
        return ArchivedObject(ARCHIVE, key, f"av-{len(self.writes)}")

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


@pytest.fixture
def archive() -> FakeArchive:
    return FakeArchive()


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _signed(
    documents: list[DocumentRef],
    *,
    contract_id: uuid.UUID | None = None,
    version: int = 1,
    record_class: str = "contract",
    case_id: uuid.UUID | None = None,
) -> tuple[Envelope, ContractSigned]:
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


def _requested(signed: ContractSigned, attempt: int = 2) -> ContractFilingRequested:
    return ContractFilingRequested(
        contract_id=signed.contract_id,
        application_id=signed.application_id,
        version=signed.version,
        custodian=signed.custodian,
        record_class=signed.record_class,
        documents=signed.documents,
        attempt=attempt,
    )


async def _file(
    uow: FakeUnitOfWork,
    archive: FakeArchive,
    envelope: Envelope,
    payload: ContractSigned | ContractFilingRequested,
) -> None:
    filing = handlers.Filing(archive=archive, retention=RETENTION)  # type: ignore[arg-type]
    await handlers.file_contract(envelope, payload, uow, filing=filing)  # type: ignore[arg-type]
    await uow.commit()


# ---- filing --------------------------------------------------------------------------------


async def test_filing_copies_every_document_and_answers_record_filed(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    pdf = archive.put_source("c1/v1.pdf", SIGNED_PDF)
    evidence = archive.put_source("c1/v1-signatures.json", EVIDENCE)
    envelope, signed = _signed([pdf, evidence])
    before = datetime.now(UTC)

    await _file(uow, archive, envelope, signed)

    [record] = uow.records.rows.values()
    [filed] = uow.events(RecordFiled)
    assert filed.record_id == record.id
    assert (filed.source_type, filed.source_id, filed.source_version) == (
        "contract",
        signed.contract_id,
        1,
    )
    assert filed.record_class == "contract"
    assert filed.ledger_seq == 1
    assert before + timedelta(days=3650) <= filed.retention_until
    assert filed.retention_until <= datetime.now(UTC) + timedelta(days=3650, seconds=1)
    assert [d.sha256 for d in filed.documents] == [pdf.sha256, evidence.sha256]
    assert [d.source_key for d in filed.documents] == ["c1/v1.pdf", "c1/v1-signatures.json"]
    assert [d.archive_key for d in filed.documents] == [
        f"contract/{envelope.case_id}/{record.id}/{pdf.sha256}",
        f"contract/{envelope.case_id}/{record.id}/{evidence.sha256}",
    ]
    assert all(d.archive_bucket == ARCHIVE for d in filed.documents)
    assert sorted(archive.stored.values()) == sorted([SIGNED_PDF, EVIDENCE])
    assert set(archive.retained.values()) == {record.retention_until}


async def test_the_answer_goes_to_the_case_as_the_archive_service(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = _signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])

    await _file(uow, archive, envelope, signed)

    [(_, case_id, actor)] = uow.published
    assert case_id == envelope.case_id
    assert actor.sub == "archive-svc"


async def test_filing_writes_one_ledger_entry_with_the_record_and_each_document_hash(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    pdf = archive.put_source("c1/v1.pdf", SIGNED_PDF)
    evidence = archive.put_source("c1/v1-signatures.json", EVIDENCE)
    envelope, signed = _signed([pdf, evidence])

    await _file(uow, archive, envelope, signed)

    [record] = uow.records.rows.values()
    [entry] = uow.ledger.entries_
    assert (entry.seq, entry.kind, entry.record_id) == (1, "filed", record.id)
    assert entry.at == record.filed_at
    assert entry.payload["source_id"] == str(signed.contract_id)
    assert entry.payload["source_version"] == 1
    assert entry.payload["case_id"] == str(envelope.case_id)
    assert entry.payload["record_class"] == "contract"
    assert entry.payload["custodian"] == "carol"
    assert entry.payload["retention_until"] == record.retention_until.isoformat()
    assert [d["sha256"] for d in entry.payload["documents"]] == [pdf.sha256, evidence.sha256]
    assert record.ledger_seq == 1
    assert record.differences_from(entry.payload) == []


async def test_filing_the_same_version_twice_files_it_once_and_answers_again(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = _signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, archive, envelope, signed)

    await _file(uow, archive, envelope, signed)

    assert len(uow.records.rows) == 1
    assert len(uow.ledger.entries_) == 1
    assert len(archive.writes) == 1
    first, second = uow.events(RecordFiled)
    assert second == first


async def test_a_filing_request_after_the_signature_is_answered_from_the_filed_record(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = _signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, archive, envelope, signed)
    archive.sources.clear()  # the answer must not need the sources again

    await _file(uow, archive, envelope, _requested(signed))

    assert len(archive.writes) == 1
    assert len(uow.ledger.entries_) == 1
    first, again = uow.events(RecordFiled)
    assert again.record_id == first.record_id
    assert again.ledger_seq == 1


async def test_a_filing_request_alone_files_the_version(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = _signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])

    await _file(uow, archive, envelope, _requested(signed, attempt=1))

    [filed] = uow.events(RecordFiled)
    assert filed.source_id == signed.contract_id
    assert len(archive.writes) == 1


async def test_each_version_of_a_contract_is_its_own_record_chained_in_order(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    contract_id, case_id = uuid.uuid4(), uuid.uuid4()
    v1 = _signed(
        [archive.put_source("c/v1.pdf", SIGNED_PDF)], contract_id=contract_id, case_id=case_id
    )
    v2 = _signed(
        [archive.put_source("c/v2.pdf", SIGNED_PDF + b" amended")],
        contract_id=contract_id,
        version=2,
        case_id=case_id,
    )

    await _file(uow, archive, *v1)
    await _file(uow, archive, *v2)

    first, second = uow.events(RecordFiled)
    assert first.record_id != second.record_id
    assert (first.ledger_seq, second.ledger_seq) == (1, 2)
    assert verify_chain(uow.ledger.entries_) == []


async def test_the_spooled_copies_are_released_after_filing(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = _signed(
        [archive.put_source("c/a.pdf", SIGNED_PDF), archive.put_source("c/b.json", EVIDENCE)]
    )

    await _file(uow, archive, envelope, signed)

    assert archive.staged and all(s.spool.closed for s in archive.staged)


# ---- refusals ------------------------------------------------------------------------------


async def test_a_sha256_mismatch_files_nothing_and_answers_a_permanent_failure(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    ref = archive.put_source("c/v1.pdf", SIGNED_PDF, sha256="e" * 64)
    envelope, signed = _signed([ref])

    await _file(uow, archive, envelope, signed)

    assert archive.writes == []
    assert uow.records.rows == {}
    assert uow.ledger.entries_ == []
    [failed] = uow.events()
    assert isinstance(failed, RecordFilingFailed)
    assert (failed.source_type, failed.source_id, failed.source_version) == (
        "contract",
        signed.contract_id,
        1,
    )
    assert failed.retryable is False
    assert "sha256 mismatch" in failed.reason
    assert "c/v1.pdf" in failed.reason


async def test_one_mismatched_document_keeps_every_document_out_of_the_archive(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    good = archive.put_source("c/v1.pdf", SIGNED_PDF)
    bad = archive.put_source("c/v1-signatures.json", EVIDENCE, sha256="0" * 64)
    envelope, signed = _signed([good, bad])

    await _file(uow, archive, envelope, signed)

    assert archive.writes == []
    assert uow.ledger.entries_ == []
    assert [type(e) for e in uow.events()] == [RecordFilingFailed]
    assert all(s.spool.closed for s in archive.staged)


async def test_a_mismatch_can_be_filed_later_from_corrected_references(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    ref = archive.put_source("c/v1.pdf", SIGNED_PDF)
    envelope, signed = _signed([ref.model_copy(update={"sha256": "e" * 64})])
    await _file(uow, archive, envelope, signed)

    corrected = _requested(signed).model_copy(update={"documents": [ref]})
    await _file(uow, archive, envelope, corrected)

    assert [type(e) for e in uow.events()] == [RecordFilingFailed, RecordFiled]
    assert uow.events(RecordFiled)[0].ledger_seq == 1


async def test_an_unknown_record_class_is_refused(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = _signed([archive.put_source("c/v1.pdf", SIGNED_PDF)], record_class="memo")

    await _file(uow, archive, envelope, signed)

    [failed] = uow.events()
    assert isinstance(failed, RecordFilingFailed)
    assert failed.retryable is False
    assert "unknown record class 'memo'" in failed.reason
    assert archive.writes == [] and uow.ledger.entries_ == []


async def test_a_missing_source_version_is_refused(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    ref = archive.put_source("c/v1.pdf", SIGNED_PDF)
    archive.sources.clear()
    envelope, signed = _signed([ref])

    await _file(uow, archive, envelope, signed)

    [failed] = uow.events()
    assert isinstance(failed, RecordFilingFailed)
    assert "not found (NoSuchVersion)" in failed.reason
    assert archive.writes == []


async def test_a_long_refusal_reason_is_shortened_to_fit_the_event(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    ref = archive.put_source("c/" + "x" * 240 + ".pdf", SIGNED_PDF, sha256="e" * 64)
    envelope, signed = _signed([ref])

    await _file(uow, archive, envelope, signed)

    [failed] = uow.events()
    assert len(failed.reason) == 200
    assert failed.reason.endswith("…")


async def test_a_storage_outage_raises_a_connection_error_and_changes_nothing(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = _signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    archive.outage = True

    with pytest.raises(StorageUnavailable) as raised:
        await _file(uow, archive, envelope, signed)

    assert isinstance(raised.value, TRANSIENT_ERRORS)  # the inbox retries until storage is back
    assert uow.pending == [] and uow.published == []
    assert uow.ledger.entries_ == [] and archive.writes == []


def test_a_refused_connection_to_the_object_store_is_a_connection_error() -> None:
    client = Minio(
        "127.0.0.1:9",  # discard port: nothing listens
        access_key="k",
        secret_key="s",
        secure=False,
        http_client=urllib3.PoolManager(retries=urllib3.Retry(total=0)),
    )
    archive = S3Archive(client, ARCHIVE)
    ref = DocumentRef(
        bucket="guakao-contracts",
        key="c/v1.pdf",
        sha256="a" * 64,
        size=1,
        content_type="application/pdf",
        filename="v1.pdf",
        document_type="signed_contract",
    )

    async def fetch() -> None:
        await archive.fetch(ref)

    with pytest.raises(ConnectionError, match="object storage unreachable"):
        asyncio.run(fetch())


# ---- verification --------------------------------------------------------------------------


async def test_a_filed_record_verifies(uow: FakeUnitOfWork, archive: FakeArchive) -> None:
    envelope, signed = _signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, archive, envelope, signed)
    [record] = uow.records.rows.values()

    result = await handlers.verify_record(uow, archive, record.id)  # type: ignore[arg-type]

    assert result.ok, result.problems
    assert result.ledger_seq == 1
    assert [d.ok for d in result.documents] == [True]


async def test_changed_archived_bytes_are_reported_for_that_document(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = _signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, archive, envelope, signed)
    [record] = uow.records.rows.values()
    [location] = archive.stored
    archive.stored[location] = b"forged"

    result = await handlers.verify_record(uow, archive, record.id)  # type: ignore[arg-type]

    assert not result.ok
    [problem] = result.problems
    assert problem.startswith(f"document v1.pdf ({location[0]}@{location[1]}): sha256 mismatch")
    assert hashlib.sha256(b"forged").hexdigest() in problem


async def test_a_record_that_differs_from_its_ledger_entry_is_reported(
    uow: FakeUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = _signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, archive, envelope, signed)
    [record] = uow.records.rows.values()
    record.custodian = "mallory"
    record.retention_until -= timedelta(days=1000)

    result = await handlers.verify_record(uow, archive, record.id)  # type: ignore[arg-type]

    assert result.problems == [
        "ledger entry 1: custodian is 'mallory' here but 'carol' in the ledger",
        f"ledger entry 1: retention_until is '{record.retention_until.isoformat()}' here but "
        f"'{(record.retention_until + timedelta(days=1000)).isoformat()}' in the ledger",
    ]


async def test_verifying_an_unknown_record_is_not_found(uow: FakeUnitOfWork) -> None:
    with pytest.raises(handlers.RecordNotFound):
        await handlers.verify_record(uow, FakeArchive(), uuid.uuid4())  # type: ignore[arg-type]
