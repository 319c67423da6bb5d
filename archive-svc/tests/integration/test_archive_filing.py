"""Filing against REAL PostgreSQL and MinIO: a source document is copied into the Object Lock
bucket under COMPLIANCE retention that not even the root user can lift, a claim check that does
not match files nothing, filing twice files once, and the ledger proves history."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import S3Error
from minio.retention import Retention
from sqlalchemy import text

from archive_svc.adapters.archive import StorageUnavailable
from archive_svc.domain.model import Record
from archive_svc.service_layer import handlers
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_devtools.infra import Infra
from guakao_shared.auth import issue_dev_token
from guakao_shared.events import (
    Actor,
    ContractFilingRequested,
    ContractSigned,
    DocumentRef,
    Envelope,
    Money,
)
from guakao_shared.identity import Principal
from guakao_shared.runtime import ServiceRuntime

pytestmark = pytest.mark.infra

SOURCE_BUCKET = "guakao-applications"
ARCHIVE_BUCKET = "guakao-archive"
AUDITOR = Principal(sub="audrey", department="audit", roles=frozenset({"auditor"}))
Runtime = ServiceRuntime[ArchiveUnitOfWork]


# ---- helpers -------------------------------------------------------------------------------


async def _put_source(runtime: Runtime, body: bytes, name: str = "contract.pdf") -> DocumentRef:
    return await runtime.documents.put(
        bucket=SOURCE_BUCKET,
        key=f"{uuid.uuid4()}/{name}",
        stream=io.BytesIO(body),
        max_bytes=len(body),
        content_type="application/pdf",
        filename=name,
        document_type="signed_contract",
    )


def _signed(documents: list[DocumentRef], **overrides: Any) -> tuple[Envelope, ContractSigned]:
    values: dict[str, Any] = {
        "contract_id": uuid.uuid4(),
        "application_id": uuid.uuid4(),
        "contract_number": "HT-2026-007",
        "version": 1,
        "title": "Affiliation agreement",
        "value": Money(amount=Decimal("250000.00"), currency="CNY"),
        "start_date": date(2026, 4, 1),
        "end_date": date(2028, 3, 31),
        "parties": [],
        "custodian": "carol",
        "documents": documents,
        "signatures": [],
        "obligations": [],
        **overrides,
    }
    payload = ContractSigned(**values)
    envelope = Envelope.wrap(
        payload, source="contracts", case_id=payload.application_id, actor=Actor(sub="lena")
    )
    return envelope, payload


async def _file(
    runtime: Runtime, envelope: Envelope, payload: ContractSigned | ContractFilingRequested
) -> None:
    """What the filing consumer does with one message (without the inbox's dedupe)."""
    async with runtime.unit_of_work() as uow:
        await handlers.file_contract(envelope, payload, uow)
        await uow.commit()


async def _record_of(runtime: Runtime, payload: ContractSigned) -> Record | None:
    async with runtime.unit_of_work() as uow:
        return await uow.records.get_by_source("contract", payload.contract_id, payload.version)


async def _outbox(runtime: Runtime, source_id: uuid.UUID) -> list[dict[str, Any]]:
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload FROM outbox WHERE payload->'data'->>'source_id' = :id ORDER BY id"
            ),
            {"id": str(source_id)},
        )
        return [r.payload for r in rows]


async def _ledger_size(runtime: Runtime) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM ledger"))).scalar_one())


def _versions(client: Minio, prefix: str) -> list[Any]:
    return list(
        client.list_objects(ARCHIVE_BUCKET, prefix=prefix, recursive=True, include_version=True)
    )


async def _verify_ledger(runtime: Runtime) -> handlers.LedgerVerification:
    return await runtime.bus.query(handlers.verify_ledger, principal=AUDITOR)


async def _verify_record(runtime: Runtime, record_id: uuid.UUID) -> handlers.RecordVerification:
    return await runtime.bus.query(handlers.verify_record, record_id, principal=AUDITOR)


async def _as_superuser_bypassing_triggers(runtime: Runtime, sql: str, **params: Any) -> None:
    """What an administrator with full database rights could do behind the service's back."""
    async with runtime.engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(sql), params)


@pytest.fixture
async def filed(
    runtime: Runtime,
) -> tuple[Record, bytes]:
    body = f"signed contract {uuid.uuid4()}".encode()
    envelope, signed = _signed([await _put_source(runtime, body)])
    await _file(runtime, envelope, signed)
    record = await _record_of(runtime, signed)
    assert record is not None
    return record, body


# ---- filing into the WORM bucket -----------------------------------------------------------


async def test_a_document_put_in_the_applications_bucket_is_filed_under_compliance_retention(
    runtime: Runtime,
    infra: Infra,
) -> None:
    body = b"%PDF-1.7 signed by both parties"
    ref = await _put_source(runtime, body)
    envelope, signed = _signed([ref])

    await _file(runtime, envelope, signed)

    record = await _record_of(runtime, signed)
    assert record is not None
    [doc] = record.documents
    assert doc.archive_bucket == ARCHIVE_BUCKET
    assert doc.archive_key == f"contract/{envelope.case_id}/{record.id}/{ref.sha256}"
    assert (doc.source_bucket, doc.source_key, doc.source_version_id) == (
        SOURCE_BUCKET,
        ref.key,
        ref.version_id,
    )
    root = infra.minio.client()
    stored = root.get_object(ARCHIVE_BUCKET, doc.archive_key, version_id=doc.archive_version_id)
    try:
        assert stored.read() == body
    finally:
        stored.close()
        stored.release_conn()
    retention = root.get_object_retention(
        ARCHIVE_BUCKET, doc.archive_key, version_id=doc.archive_version_id
    )
    assert retention is not None
    assert retention.mode == COMPLIANCE
    assert retention.retain_until_date == record.retention_until
    assert record.retention_until - record.filed_at >= timedelta(days=3650)
    [answer] = await _outbox(runtime, signed.contract_id)
    assert answer["event_type"] == "record.filed"
    assert answer["source"] == "archive"
    assert answer["case_id"] == str(envelope.case_id)
    assert answer["data"]["record_id"] == str(record.id)
    assert answer["data"]["ledger_seq"] == record.ledger_seq
    assert answer["data"]["documents"][0]["archive_version_id"] == doc.archive_version_id


async def test_not_even_the_root_user_can_delete_a_filed_version(
    filed: tuple[Record, bytes], infra: Infra
) -> None:
    record, body = filed
    [doc] = record.documents
    root = infra.minio.client()

    with pytest.raises(S3Error) as refused:
        root.remove_object(ARCHIVE_BUCKET, doc.archive_key, version_id=doc.archive_version_id)

    assert "WORM" in str(refused.value) or refused.value.code == "AccessDenied"
    assert root.stat_object(
        ARCHIVE_BUCKET, doc.archive_key, version_id=doc.archive_version_id
    ).size == len(body)


async def test_a_plain_delete_only_hides_the_filed_version(
    runtime: Runtime,
    filed: tuple[Record, bytes],
    infra: Infra,
) -> None:
    record, _ = filed
    [doc] = record.documents
    root = infra.minio.client()

    root.remove_object(ARCHIVE_BUCKET, doc.archive_key)  # a delete marker, nothing more

    assert any(v.is_delete_marker for v in _versions(root, doc.archive_key))
    result = await _verify_record(runtime, record.id)
    assert result.ok, result.problems


async def test_overwriting_a_filed_key_adds_a_version_and_leaves_the_filed_one_intact(
    runtime: Runtime,
    filed: tuple[Record, bytes],
    infra: Infra,
) -> None:
    record, body = filed
    [doc] = record.documents
    root = infra.minio.client()

    forged = root.put_object(ARCHIVE_BUCKET, doc.archive_key, io.BytesIO(b"forged"), 6)

    assert forged.version_id != doc.archive_version_id
    original = root.get_object(ARCHIVE_BUCKET, doc.archive_key, version_id=doc.archive_version_id)
    try:
        assert original.read() == body
    finally:
        original.close()
        original.release_conn()
    result = await _verify_record(runtime, record.id)
    assert result.ok, result.problems


async def test_retention_cannot_be_shortened_or_weakened(
    filed: tuple[Record, bytes], infra: Infra
) -> None:
    record, _ = filed
    [doc] = record.documents
    root = infra.minio.client()

    with pytest.raises(S3Error):
        root.set_object_retention(
            ARCHIVE_BUCKET,
            doc.archive_key,
            Retention(COMPLIANCE, record.retention_until - timedelta(days=1)),
            version_id=doc.archive_version_id,
        )
    with pytest.raises(S3Error):
        root.set_object_retention(
            ARCHIVE_BUCKET,
            doc.archive_key,
            Retention(GOVERNANCE, record.retention_until),
            version_id=doc.archive_version_id,
        )

    retention = root.get_object_retention(
        ARCHIVE_BUCKET, doc.archive_key, version_id=doc.archive_version_id
    )
    assert retention is not None
    assert (retention.mode, retention.retain_until_date) == (COMPLIANCE, record.retention_until)


async def test_a_sha256_mismatch_files_nothing(
    runtime: Runtime,
    infra: Infra,
) -> None:
    good = await _put_source(runtime, b"the signed contract", "contract.pdf")
    tampered = await _put_source(runtime, b"the real evidence", "evidence.json")
    wrong = tampered.model_copy(update={"sha256": hashlib.sha256(b"other").hexdigest()})
    envelope, signed = _signed([good, wrong])
    ledger_before = await _ledger_size(runtime)

    await _file(runtime, envelope, signed)

    assert await _record_of(runtime, signed) is None
    assert await _ledger_size(runtime) == ledger_before
    assert _versions(infra.minio.client(), f"contract/{envelope.case_id}/") == []
    [answer] = await _outbox(runtime, signed.contract_id)
    assert answer["event_type"] == "record.filing_failed"
    assert answer["data"]["retryable"] is False
    assert "sha256 mismatch for evidence.json" in answer["data"]["reason"]


async def test_filing_the_same_version_twice_files_it_once(
    runtime: Runtime,
    infra: Infra,
) -> None:
    envelope, signed = _signed(
        [
            await _put_source(runtime, b"contract v1", "contract.pdf"),
            await _put_source(runtime, b"signatures v1", "signatures.json"),
        ]
    )
    await _file(runtime, envelope, signed)
    ledger_after_first = await _ledger_size(runtime)
    request = ContractFilingRequested(
        contract_id=signed.contract_id,
        application_id=signed.application_id,
        version=1,
        custodian="carol",
        documents=signed.documents,
        attempt=2,
    )

    await _file(runtime, envelope, signed)
    await _file(runtime, envelope, request)

    assert await _ledger_size(runtime) == ledger_after_first
    assert len(_versions(infra.minio.client(), f"contract/{envelope.case_id}/")) == 2
    answers = await _outbox(runtime, signed.contract_id)
    assert [a["event_type"] for a in answers] == ["record.filed"] * 3
    assert len({json.dumps(a["data"], sort_keys=True) for a in answers}) == 1


async def test_concurrent_filings_of_one_version_file_it_once(
    runtime: Runtime,
) -> None:
    envelope, signed = _signed([await _put_source(runtime, b"raced contract")])
    ledger_before = await _ledger_size(runtime)

    await asyncio.gather(*(_file(runtime, envelope, signed) for _ in range(4)))

    assert await _ledger_size(runtime) == ledger_before + 1
    answers = await _outbox(runtime, signed.contract_id)
    assert len(answers) == 4
    assert len({a["data"]["ledger_seq"] for a in answers}) == 1


async def test_concurrent_filings_chain_one_after_another_without_forks(
    runtime: Runtime,
) -> None:
    filings = [_signed([await _put_source(runtime, f"contract {i}".encode())]) for i in range(8)]
    ledger_before = await _ledger_size(runtime)

    await asyncio.gather(*(_file(runtime, e, p) for e, p in filings))

    records = [await _record_of(runtime, p) for _, p in filings]
    seqs = sorted(r.ledger_seq for r in records if r is not None and r.ledger_seq is not None)
    assert seqs == list(range(ledger_before + 1, ledger_before + 9))
    result = await _verify_ledger(runtime)
    assert result.ok, result.problems


async def test_a_redelivered_event_is_applied_once_by_the_inbox(
    runtime: Runtime,
) -> None:
    envelope, signed = _signed([await _put_source(runtime, b"delivered twice")])
    [consumer] = [c for c in runtime.consumers if c.name == "filing"]  # as the app registers it
    body = envelope.model_dump_json().encode()

    outcomes = [await consumer.process(body, {}, {"key": str(envelope.case_id)}) for _ in "ab"]

    assert outcomes == ["applied", "duplicate"]
    assert [a["event_type"] for a in await _outbox(runtime, signed.contract_id)] == ["record.filed"]


async def test_a_storage_outage_is_retried_not_refused_and_filing_succeeds_once_it_is_back(
    runtime: Runtime,
    infra: Infra,
) -> None:
    envelope, signed = _signed([await _put_source(runtime, b"filed after an outage")])
    infra.minio.stop()
    try:
        with pytest.raises(StorageUnavailable) as raised:
            await _file(runtime, envelope, signed)
        assert isinstance(raised.value, ConnectionError)
        assert await _outbox(runtime, signed.contract_id) == []
    finally:
        infra.start(infra.minio, lambda _: None)

    await _file(runtime, envelope, signed)

    [answer] = await _outbox(runtime, signed.contract_id)
    assert answer["event_type"] == "record.filed"


async def test_archiving_the_same_bytes_again_reuses_the_version_and_only_extends_retention(
    runtime: Runtime, infra: Infra
) -> None:
    """A filing retried after a crash (objects written, transaction lost) reuses them."""
    ref = await _put_source(runtime, b"written before the crash")
    key = f"contract/{uuid.uuid4()}/{uuid.uuid4()}/{ref.sha256}"
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    archive = runtime.unit_of_work().archive  # the S3 archive the service files into
    staged = await archive.fetch(ref)
    try:
        first = await archive.store(staged, key=key, retain_until=until)
        again = await archive.store(staged, key=key, retain_until=until + timedelta(hours=1))
        shorter = await archive.store(staged, key=key, retain_until=until - timedelta(hours=1))
    finally:
        staged.close()

    assert first.version_id == again.version_id == shorter.version_id
    root = infra.minio.client()
    assert len(_versions(root, key)) == 1
    retention = root.get_object_retention(ARCHIVE_BUCKET, key, version_id=first.version_id)
    assert retention is not None
    assert retention.retain_until_date == until + timedelta(hours=1)


# ---- the ledger ----------------------------------------------------------------------------


async def test_the_database_refuses_to_update_or_delete_ledger_entries(
    runtime: Runtime,
    filed: tuple[Record, bytes],
) -> None:
    record, _ = filed
    for sql in (
        "UPDATE ledger SET payload = '{}'::jsonb WHERE seq = :seq",
        "DELETE FROM ledger WHERE seq = :seq",
    ):
        with pytest.raises(Exception, match="append-only"):
            async with runtime.engine.begin() as conn:
                await conn.execute(text(sql), {"seq": record.ledger_seq})


async def test_the_ledger_verifies_and_detects_a_row_altered_in_the_database(
    runtime: Runtime,
    filed: tuple[Record, bytes],
) -> None:
    record, _ = filed
    seq = record.ledger_seq
    assert (await _verify_ledger(runtime)).ok
    async with runtime.engine.connect() as conn:
        original = (
            await conn.execute(text("SELECT payload FROM ledger WHERE seq = :seq"), {"seq": seq})
        ).scalar_one()
    forged = {**original, "custodian": "mallory"}

    await _as_superuser_bypassing_triggers(
        runtime,
        "UPDATE ledger SET payload = CAST(:p AS jsonb) WHERE seq = :seq",
        p=json.dumps(forged),
        seq=seq,
    )
    try:
        ledger = await _verify_ledger(runtime)
        proof = await _verify_record(runtime, record.id)
    finally:
        await _as_superuser_bypassing_triggers(
            runtime,
            "UPDATE ledger SET payload = CAST(:p AS jsonb) WHERE seq = :seq",
            p=json.dumps(original),
            seq=seq,
        )

    assert not ledger.ok
    assert ledger.problems == [f"entry {seq}: hash mismatch"]
    assert not proof.ok
    assert proof.problems == [
        f"ledger entry {seq}: custodian is 'carol' here but 'mallory' in the ledger",
        f"ledger: entry {seq}: hash mismatch",
    ]
    assert (await _verify_ledger(runtime)).ok  # restored: the chain is whole again


async def test_a_deleted_ledger_entry_is_detected_by_the_chain_and_by_its_record(
    runtime: Runtime,
    filed: tuple[Record, bytes],
) -> None:
    record, _ = filed
    seq = record.ledger_seq
    async with runtime.engine.connect() as conn:
        row = (
            (await conn.execute(text("SELECT * FROM ledger WHERE seq = :seq"), {"seq": seq}))
            .mappings()
            .one()
        )

    await _as_superuser_bypassing_triggers(runtime, "DELETE FROM ledger WHERE seq = :seq", seq=seq)
    try:
        ledger = await _verify_ledger(runtime)
    finally:
        await _as_superuser_bypassing_triggers(
            runtime,
            "INSERT INTO ledger (seq, at, kind, record_id, payload, prev_hash, entry_hash) "
            "VALUES (:seq, :at, :kind, :record_id, CAST(:payload AS jsonb), :prev_hash, "
            ":entry_hash)",
            **{**row, "payload": json.dumps(row["payload"])},
        )

    assert f"record {record.id}: its ledger entry {seq} is missing" in ledger.problems
    assert (await _verify_ledger(runtime)).ok


async def test_a_record_document_altered_in_the_database_fails_verification(
    runtime: Runtime,
    filed: tuple[Record, bytes],
) -> None:
    record, body = filed
    [doc] = record.documents
    forged = "f" * 64

    await _as_superuser_bypassing_triggers(
        runtime,
        "UPDATE record_documents SET sha256 = :f WHERE record_id = :id",
        f=forged,
        id=record.id,
    )
    try:
        proof = await _verify_record(runtime, record.id)
    finally:
        await _as_superuser_bypassing_triggers(
            runtime,
            "UPDATE record_documents SET sha256 = :s WHERE record_id = :id",
            s=doc.sha256,
            id=record.id,
        )

    name = f"document {doc.filename} ({doc.archive_key}@{doc.archive_version_id})"
    assert proof.problems == [
        f"{name}: sha256 mismatch (filed as {forged}, the archived bytes hash to "
        f"{hashlib.sha256(body).hexdigest()})",
        f"ledger entry {record.ledger_seq}: the documents (hashes, keys or versions) differ "
        "from those in the ledger",
    ]


# ---- the HTTP API --------------------------------------------------------------------------


def _as(*roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token('tester', list(roles))}"}


async def test_compliance_reads_a_record_with_a_reason_and_others_are_refused(
    api: httpx.AsyncClient, filed: tuple[Record, bytes]
) -> None:
    record, _ = filed
    why = {"reason": "quarterly compliance review"}

    for role in ("compliance_officer", "auditor"):
        response = await api.get(f"/v1/records/{record.id}", headers=_as(role), params=why)
        assert response.status_code == 200, response.text
        assert response.json()["ledger_seq"] == record.ledger_seq
    no_reason = await api.get(f"/v1/records/{record.id}", headers=_as("auditor"))
    assert no_reason.status_code == 422
    assert no_reason.headers["content-type"] == "application/problem+json"
    # not theirs: refused without revealing that the record exists
    refused = await api.get(
        f"/v1/records/{record.id}", headers=_as("applicant", "legal"), params=why
    )
    assert refused.status_code == 404
    missing = await api.get(f"/v1/records/{uuid.uuid4()}", headers=_as("auditor"), params=why)
    assert missing.status_code == 404
    assert (await api.get(f"/v1/records/{record.id}", params=why)).status_code == 401


async def test_the_records_of_a_source_are_listed(
    api: httpx.AsyncClient, filed: tuple[Record, bytes]
) -> None:
    record, _ = filed

    response = await api.get(
        "/v1/records",
        params={"source_id": str(record.source_id), "reason": "audit"},
        headers=_as("auditor"),
    )

    assert response.status_code == 200
    page = response.json()
    assert [r["id"] for r in page["items"]] == [str(record.id)]
    assert (page["total"], page["offset"], page["next_cursor"]) == (1, 0, None)
    assert page["items"][0]["documents"][0]["sha256"] == record.documents[0].sha256


async def test_the_ledger_and_a_record_are_verified_over_http(
    api: httpx.AsyncClient, filed: tuple[Record, bytes]
) -> None:
    record, _ = filed

    ledger = await api.post("/v1/ledger/verify", headers=_as("compliance_officer"))
    proof = await api.get(f"/v1/records/{record.id}/verify", headers=_as("auditor"))
    refused = await api.post("/v1/ledger/verify", headers=_as("custodian"))

    assert ledger.status_code == 200
    assert ledger.json()["ok"] is True
    assert ledger.json()["entries"] >= 1
    assert ledger.json()["problems"] == []
    assert proof.status_code == 200
    assert proof.json()["ok"] is True
    assert proof.json()["documents"][0]["ok"] is True
    assert refused.status_code == 403


async def test_a_reused_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    api: httpx.AsyncClient, filed: tuple[Record, bytes]
) -> None:
    """The whole request is the fingerprint: the reason and the time asked for count too."""
    record, _ = filed
    compliance = _as("compliance_officer")
    hold = {"record_ids": [str(record.id)], "reason": "litigation 2027-17"}
    key = {**compliance, "Idempotency-Key": f"hold-{uuid.uuid4()}"}

    first = await api.post("/v1/legal-holds", json=hold, headers=key)
    again = await api.post("/v1/legal-holds", json=hold, headers=key)
    other_reason = await api.post(
        "/v1/legal-holds", json={**hold, "reason": "another matter"}, headers=key
    )
    released_with_it = await api.post("/v1/legal-holds/release", json=hold, headers=key)

    assert first.status_code == 200, first.text
    assert [r["id"] for r in first.json()] == [str(record.id)]
    assert (again.status_code, again.json()) == (200, first.json())
    assert again.headers["Idempotency-Replayed"] == "true"
    for refused in (other_reason, released_with_it):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"

    await api.post("/v1/legal-holds/release", json=hold, headers=compliance)
    later = (record.retention_until + timedelta(days=1)).isoformat()
    disposal = {"record_id": str(record.id), "reason": "retention over", "now": later}
    key = {**compliance, "Idempotency-Key": f"dispose-{uuid.uuid4()}"}
    requested = await api.post("/v1/dispositions", json=disposal, headers=key)
    replayed = await api.post("/v1/dispositions", json=disposal, headers=key)
    another_time = await api.post(
        "/v1/dispositions",
        json={**disposal, "now": (record.retention_until + timedelta(days=2)).isoformat()},
        headers=key,
    )

    assert requested.status_code == 202, requested.text
    assert requested.json()["disposition"] == "REQUESTED"
    assert (replayed.status_code, replayed.json()) == (202, requested.json())
    assert another_time.status_code == 422
