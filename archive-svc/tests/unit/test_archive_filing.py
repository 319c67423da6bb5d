"""Filing a signed contract, on a unit of work in memory (records, ledger, WORM archive): what
is copied, what the ledger gets, what is answered, that filing the same version again files it
once, and how a filed record is proved."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import urllib3
from archive_builders import (
    ARCHIVE,
    AUDREY,
    EVE,
    EVIDENCE,
    SIGNED_PDF,
    FakeArchive,
    FakeArchiveUnitOfWork,
    contract_signed,
    filing_requested,
)
from minio import Minio

from archive_svc.adapters.archive import S3Archive, StorageUnavailable
from archive_svc.domain.model import verify_chain
from archive_svc.service_layer import handlers
from guakao_shared.events import (
    ContractFilingRequested,
    ContractSigned,
    DocumentRef,
    Envelope,
    RecordFiled,
    RecordFilingFailed,
)
from guakao_shared.inbox import TRANSIENT_ERRORS
from guakao_shared.refusals import NotPermitted


@pytest.fixture
def archive() -> FakeArchive:
    return FakeArchive()


@pytest.fixture
def uow(archive: FakeArchive) -> FakeArchiveUnitOfWork:
    return FakeArchiveUnitOfWork(archive)


async def _file(
    uow: FakeArchiveUnitOfWork,
    envelope: Envelope,
    payload: ContractSigned | ContractFilingRequested,
) -> None:
    """As the inbox consumer does: the handler, then the commit."""
    await handlers.file_contract(envelope, payload, uow)
    await uow.commit()


# ---- filing --------------------------------------------------------------------------------


async def test_filing_copies_every_document_and_answers_record_filed(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    pdf = archive.put_source("c1/v1.pdf", SIGNED_PDF)
    evidence = archive.put_source("c1/v1-signatures.json", EVIDENCE)
    envelope, signed = contract_signed([pdf, evidence])
    before = datetime.now(UTC)

    await _file(uow, envelope, signed)

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
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = contract_signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])

    await _file(uow, envelope, signed)

    [answer] = uow.published
    assert answer.case_id == envelope.case_id
    assert answer.actor.sub == "archive-svc"


async def test_filing_writes_one_ledger_entry_with_the_record_and_each_document_hash(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    pdf = archive.put_source("c1/v1.pdf", SIGNED_PDF)
    evidence = archive.put_source("c1/v1-signatures.json", EVIDENCE)
    envelope, signed = contract_signed([pdf, evidence])

    await _file(uow, envelope, signed)

    [record] = uow.records.rows.values()
    [entry] = uow.ledger.rows
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
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = contract_signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, envelope, signed)

    await _file(uow, envelope, signed)

    assert len(uow.records.rows) == 1
    assert len(uow.ledger.rows) == 1
    assert len(archive.writes) == 1
    first, second = uow.events(RecordFiled)
    assert second == first


async def test_a_filing_request_after_the_signature_is_answered_from_the_filed_record(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = contract_signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, envelope, signed)
    archive.sources.clear()  # the answer must not need the sources again

    await _file(uow, envelope, filing_requested(signed))

    assert len(archive.writes) == 1
    assert len(uow.ledger.rows) == 1
    first, again = uow.events(RecordFiled)
    assert again.record_id == first.record_id
    assert again.ledger_seq == 1


async def test_a_filing_request_alone_files_the_version(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = contract_signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])

    await _file(uow, envelope, filing_requested(signed, attempt=1))

    [filed] = uow.events(RecordFiled)
    assert filed.source_id == signed.contract_id
    assert len(archive.writes) == 1


async def test_each_version_of_a_contract_is_its_own_record_chained_in_order(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    contract_id, case_id = uuid.uuid4(), uuid.uuid4()
    v1 = contract_signed(
        [archive.put_source("c/v1.pdf", SIGNED_PDF)], contract_id=contract_id, case_id=case_id
    )
    v2 = contract_signed(
        [archive.put_source("c/v2.pdf", SIGNED_PDF + b" amended")],
        contract_id=contract_id,
        version=2,
        case_id=case_id,
    )

    await _file(uow, *v1)
    await _file(uow, *v2)

    first, second = uow.events(RecordFiled)
    assert first.record_id != second.record_id
    assert (first.ledger_seq, second.ledger_seq) == (1, 2)
    assert verify_chain(uow.ledger.rows) == []


async def test_the_spooled_copies_are_released_after_filing(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = contract_signed(
        [archive.put_source("c/a.pdf", SIGNED_PDF), archive.put_source("c/b.json", EVIDENCE)]
    )

    await _file(uow, envelope, signed)

    assert archive.staged and all(s.spool.closed for s in archive.staged)


# ---- refusals ------------------------------------------------------------------------------


async def test_a_sha256_mismatch_files_nothing_and_answers_a_permanent_failure(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    ref = archive.put_source("c/v1.pdf", SIGNED_PDF, sha256="e" * 64)
    envelope, signed = contract_signed([ref])

    await _file(uow, envelope, signed)

    assert archive.writes == []
    assert uow.records.rows == {}
    assert uow.ledger.rows == []
    [failed] = uow.events(RecordFilingFailed)
    assert (failed.source_type, failed.source_id, failed.source_version) == (
        "contract",
        signed.contract_id,
        1,
    )
    assert failed.retryable is False
    assert "sha256 mismatch" in failed.reason
    assert "c/v1.pdf" in failed.reason


async def test_one_mismatched_document_keeps_every_document_out_of_the_archive(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    good = archive.put_source("c/v1.pdf", SIGNED_PDF)
    bad = archive.put_source("c/v1-signatures.json", EVIDENCE, sha256="0" * 64)
    envelope, signed = contract_signed([good, bad])

    await _file(uow, envelope, signed)

    assert archive.writes == []
    assert uow.ledger.rows == []
    assert [e.event_type for e in uow.published] == [RecordFilingFailed.event_type]
    assert all(s.spool.closed for s in archive.staged)


async def test_a_mismatch_can_be_filed_later_from_corrected_references(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    ref = archive.put_source("c/v1.pdf", SIGNED_PDF)
    envelope, signed = contract_signed([ref.model_copy(update={"sha256": "e" * 64})])
    await _file(uow, envelope, signed)

    corrected = filing_requested(signed).model_copy(update={"documents": [ref]})
    await _file(uow, envelope, corrected)

    assert [e.event_type for e in uow.published] == [
        RecordFilingFailed.event_type,
        RecordFiled.event_type,
    ]
    assert uow.events(RecordFiled)[0].ledger_seq == 1


async def test_an_unknown_record_class_is_refused(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = contract_signed(
        [archive.put_source("c/v1.pdf", SIGNED_PDF)], record_class="memo"
    )

    await _file(uow, envelope, signed)

    [failed] = uow.events(RecordFilingFailed)
    assert failed.retryable is False
    assert "unknown record class 'memo'" in failed.reason
    assert archive.writes == [] and uow.ledger.rows == []


async def test_a_missing_source_version_is_refused(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    ref = archive.put_source("c/v1.pdf", SIGNED_PDF)
    archive.sources.clear()
    envelope, signed = contract_signed([ref])

    await _file(uow, envelope, signed)

    [failed] = uow.events(RecordFilingFailed)
    assert "not found (NoSuchVersion)" in failed.reason
    assert archive.writes == []


async def test_a_long_refusal_reason_is_shortened_to_fit_the_event(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    ref = archive.put_source("c/" + "x" * 240 + ".pdf", SIGNED_PDF, sha256="e" * 64)
    envelope, signed = contract_signed([ref])

    await _file(uow, envelope, signed)

    [failed] = uow.events(RecordFilingFailed)
    assert len(failed.reason) == 200
    assert failed.reason.endswith("…")


async def test_a_storage_outage_raises_a_connection_error_and_changes_nothing(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = contract_signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    archive.outage = True

    with pytest.raises(StorageUnavailable) as raised:
        await _file(uow, envelope, signed)

    assert isinstance(raised.value, TRANSIENT_ERRORS)  # the inbox retries until storage is back
    assert uow.published == [] and uow.commits == 0
    assert uow.ledger.rows == [] and archive.writes == []


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


async def test_a_filed_record_verifies(uow: FakeArchiveUnitOfWork, archive: FakeArchive) -> None:
    envelope, signed = contract_signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, envelope, signed)
    [record] = uow.records.rows.values()

    result = await handlers.verify_record(uow, record.id, principal=AUDREY)

    assert result.ok, result.problems
    assert result.ledger_seq == 1
    assert [d.ok for d in result.documents] == [True]


async def test_changed_archived_bytes_are_reported_for_that_document(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = contract_signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, envelope, signed)
    [record] = uow.records.rows.values()
    [location] = archive.stored
    archive.stored[location] = b"forged"

    result = await handlers.verify_record(uow, record.id, principal=AUDREY)

    assert not result.ok
    [problem] = result.problems
    assert problem.startswith(f"document v1.pdf ({location[0]}@{location[1]}): sha256 mismatch")
    assert hashlib.sha256(b"forged").hexdigest() in problem


async def test_a_record_that_differs_from_its_ledger_entry_is_reported(
    uow: FakeArchiveUnitOfWork, archive: FakeArchive
) -> None:
    envelope, signed = contract_signed([archive.put_source("c/v1.pdf", SIGNED_PDF)])
    await _file(uow, envelope, signed)
    [record] = uow.records.rows.values()
    record.custodian = "mallory"
    record.retention_until -= timedelta(days=1000)

    result = await handlers.verify_record(uow, record.id, principal=AUDREY)

    assert result.problems == [
        "ledger entry 1: custodian is 'mallory' here but 'carol' in the ledger",
        f"ledger entry 1: retention_until is '{record.retention_until.isoformat()}' here but "
        f"'{(record.retention_until + timedelta(days=1000)).isoformat()}' in the ledger",
    ]


async def test_verifying_an_unknown_record_is_not_found(uow: FakeArchiveUnitOfWork) -> None:
    with pytest.raises(handlers.RecordNotFound):
        await handlers.verify_record(uow, uuid.uuid4(), principal=AUDREY)


async def test_only_compliance_auditors_custodians_and_admins_verify(
    uow: FakeArchiveUnitOfWork,
) -> None:
    with pytest.raises(NotPermitted, match="verifying a record requires one of the roles"):
        await handlers.verify_record(uow, uuid.uuid4(), principal=EVE)
    with pytest.raises(NotPermitted, match="verifying the ledger"):
        await handlers.verify_ledger(uow, principal=EVE)
