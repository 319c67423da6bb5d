"""Evidence packages against REAL PostgreSQL and MinIO: a filed document is sealed by a ledger
checkpoint, exported, downloaded from S3 with its presigned URL and verified offline with
nothing but `archive_svc.domain.evidence` (what `guakao verify` runs); one byte flipped in the
package is named."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from archive_svc.domain.evidence import MANIFEST, document_path, read_manifest, verify_package
from archive_svc.domain.model import Record
from archive_svc.service_layer import exports as exports_service
from archive_svc.service_layer import handlers
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_devtools.cli import main as guakao
from guakao_devtools.testing import InProcessService
from guakao_shared.auth import issue_dev_token
from guakao_shared.events import Actor, ContractSigned, DocumentRef, Envelope, Money
from guakao_shared.runtime import ServiceRuntime

pytestmark = pytest.mark.infra

SOURCE_BUCKET = "guakao-applications"
Runtime = ServiceRuntime[ArchiveUnitOfWork]


def _as(*roles: str, sub: str = "tester") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(sub, list(roles))}"}


async def _file(runtime: Runtime, body: bytes) -> Record:
    ref: DocumentRef = await runtime.documents.put(
        bucket=SOURCE_BUCKET,
        key=f"{uuid.uuid4()}/contract.pdf",
        stream=io.BytesIO(body),
        max_bytes=len(body),
        content_type="application/pdf",
        filename="contract.pdf",
        document_type="signed_contract",
    )
    signed = ContractSigned(
        contract_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        contract_number="HT-2026-042",
        version=1,
        title="Affiliation agreement",
        value=Money(amount=Decimal("120000.00"), currency="CNY"),
        start_date=date(2026, 4, 1),
        end_date=date(2027, 3, 31),
        parties=[],
        custodian="carol",
        documents=[ref],
        signatures=[],
        obligations=[],
    )
    envelope = Envelope.wrap(
        signed, source="contracts", case_id=signed.application_id, actor=Actor(sub="lena")
    )
    async with runtime.unit_of_work() as uow:
        record = await handlers.file_source(
            uow,
            source_type="contract",
            source_id=signed.contract_id,
            source_version=1,
            case_id=envelope.case_id,
            record_class=signed.record_class,
            custodian=signed.custodian,
            documents=signed.documents,
        )
        await uow.commit()
    assert record is not None
    return record


async def _ledger_entry(runtime: Runtime, seq: int) -> Any:
    async with runtime.engine.connect() as conn:
        return (
            (await conn.execute(text("SELECT * FROM ledger WHERE seq = :seq"), {"seq": seq}))
            .mappings()
            .one()
        )


def _flip_one_byte_of(path: Path, member: str) -> None:
    """Flip a byte in the middle of a stored member's data, right inside the ZIP file."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    raw = bytearray(path.read_bytes())
    header = info.header_offset
    start = (
        header
        + 30
        + int.from_bytes(raw[header + 26 : header + 28], "little")
        + int.from_bytes(raw[header + 28 : header + 30], "little")
    )
    raw[start + info.compress_size // 2] ^= 0x01
    path.write_bytes(bytes(raw))


async def test_a_filed_document_is_checkpointed_exported_and_verified_offline(
    api: httpx.AsyncClient,
    runtime: Runtime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = f"%PDF-1.7 signed contract {uuid.uuid4()}".encode() * 50
    record = await _file(runtime, body)
    [doc] = record.documents
    assert record.ledger_seq is not None

    # a checkpoint seals everything up to the filing
    closed = await api.post("/v1/ledger/checkpoints", headers=_as("process_admin"))
    assert closed.status_code == 201, closed.text
    checkpoint = closed.json()["checkpoint"]
    assert checkpoint["first_seq"] <= record.ledger_seq <= checkpoint["last_seq"]
    sealed = await _ledger_entry(runtime, checkpoint["ledger_seq"])
    assert sealed["kind"] == "checkpoint"
    assert sealed["payload"] == {
        "first_seq": checkpoint["first_seq"],
        "last_seq": checkpoint["last_seq"],
        "root_hash": checkpoint["root_hash"],
    }
    # nothing but the checkpoint's own entry since: nothing new to seal
    again = await api.post("/v1/ledger/checkpoints", headers=_as("compliance_officer"))
    assert again.status_code == 200
    assert again.json() == {"closed": False, "checkpoint": None}

    exported = await api.post(
        "/v1/exports",
        json={"record_ids": [str(record.id)], "reason": "external audit FY2026"},
        headers=_as("auditor", sub="ana"),
    )

    assert exported.status_code == 201, exported.text
    export = exported.json()
    assert export["record_ids"] == [str(record.id)]
    assert export["created_by"] == "ana"
    assert export["package_key"] == f"exports/{export['export_id']}.zip"
    assert export["expires_in_s"] == 900
    async with httpx.AsyncClient() as s3:
        download = await s3.get(export["download_url"])
    assert download.status_code == 200, download.text
    package = tmp_path / "package.zip"
    package.write_bytes(download.content)
    assert len(download.content) == export["size"]

    assert verify_package(package) == []
    manifest = read_manifest(package)
    [filed] = manifest["records"]
    assert filed["record_id"] == str(record.id)
    assert filed["documents"][0]["archive_version_id"] == doc.archive_version_id
    seqs = [e["seq"] for e in manifest["ledger"]["entries"]]
    assert seqs[0] <= record.ledger_seq
    assert seqs == list(range(seqs[0], seqs[-1] + 1))
    assert checkpoint["id"] in [c["id"] for c in manifest["ledger"]["checkpoints"]]
    with zipfile.ZipFile(package) as zf:
        assert zf.read(document_path(record.id, doc.sha256)) == body
    assert guakao(["verify", str(package)]) == 0
    assert capsys.readouterr().out.startswith("OK: 1 records, 1 documents, ")

    # the export itself is in the ledger, with the package's SHA-256
    logged = await _ledger_entry(runtime, export["ledger_seq"])
    assert logged["kind"] == "export"
    assert logged["payload"]["actor"] == "ana"
    assert logged["payload"]["reason"] == "external audit FY2026"
    assert logged["payload"]["record_ids"] == [str(record.id)]
    assert logged["payload"]["package"]["sha256"] == export["sha256"]
    assert logged["payload"]["package"]["sha256"] == hashlib.sha256(download.content).hexdigest()

    # one byte flipped inside the package's copy of the document
    path = document_path(record.id, doc.sha256)
    _flip_one_byte_of(package, path)

    problems = verify_package(package)
    assert problems, "a flipped byte must be detected"
    assert all(p.startswith(f"{path}: ") for p in problems), problems
    assert guakao(["verify", str(package)]) == 1
    assert path in capsys.readouterr().out


async def test_an_export_is_fetched_again_with_a_fresh_url_and_the_fetch_is_logged(
    api: httpx.AsyncClient,
    runtime: Runtime,
) -> None:
    record = await _file(runtime, b"exported by case")
    created = await api.post(
        "/v1/exports",
        json={"case_id": str(record.case_id), "reason": "litigation"},
        headers=_as("compliance_officer"),
    )
    assert created.status_code == 201, created.text
    export_id = created.json()["export_id"]

    fetched = await api.get(
        f"/v1/exports/{export_id}", params={"reason": "handing over"}, headers=_as("auditor")
    )

    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["sha256"] == created.json()["sha256"]
    assert fetched.json()["record_ids"] == [str(record.id)]
    async with httpx.AsyncClient() as s3:
        download = await s3.get(fetched.json()["download_url"])
    assert download.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(download.content)).read(MANIFEST)
    async with runtime.engine.connect() as conn:
        logged = (
            await conn.execute(
                text(
                    "SELECT payload FROM ledger WHERE kind = 'access' "
                    "AND payload->>'export_id' = :id"
                ),
                {"id": export_id},
            )
        ).scalar_one()
    assert logged["action"] == "export_download"
    assert logged["reason"] == "handing over"


async def test_exports_need_a_reason_a_known_record_and_the_right_role(
    api: httpx.AsyncClient,
    runtime: Runtime,
) -> None:
    record = await _file(runtime, b"guarded")
    ids = [str(record.id)]

    no_reason = await api.post(
        "/v1/exports", json={"record_ids": ids, "reason": "  "}, headers=_as("auditor")
    )
    nothing = await api.post("/v1/exports", json={"reason": "x"}, headers=_as("auditor"))
    unknown = await api.post(
        "/v1/exports",
        json={"record_ids": [str(uuid.uuid4())], "reason": "x"},
        headers=_as("auditor"),
    )
    custodian = await api.post(
        "/v1/exports", json={"record_ids": ids, "reason": "x"}, headers=_as("custodian")
    )
    checkpoint_by_auditor = await api.post("/v1/ledger/checkpoints", headers=_as("auditor"))
    missing = await api.get(f"/v1/exports/{uuid.uuid4()}", headers=_as("auditor"))

    assert no_reason.status_code == 422
    assert no_reason.headers["content-type"] == "application/problem+json"
    assert nothing.status_code == 422
    assert unknown.status_code == 404
    assert custodian.status_code == 403
    assert checkpoint_by_auditor.status_code == 403
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_the_app_closes_checkpoints_in_the_background(archive_service: InProcessService) -> None:
    app = archive_service.app

    assert "ledger_checkpoints" in [job.__name__ for job in archive_service.runtime.background]
    assert {"/v1/exports", "/v1/exports/{export_id}", "/v1/ledger/checkpoints"} <= set(
        app.openapi()["paths"]
    )


async def test_a_checkpoint_refuses_to_seal_a_ledger_that_does_not_chain(
    runtime: Runtime,
) -> None:
    async with runtime.unit_of_work() as uow:
        await exports_service.checkpoint(uow, datetime.now(UTC))
        await uow.commit()
    record = await _file(runtime, b"to be forged")
    seq = record.ledger_seq
    assert seq is not None
    original = (await _ledger_entry(runtime, seq))["payload"]

    async def as_superuser(payload: dict[str, Any]) -> None:
        async with runtime.engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                text("UPDATE ledger SET payload = CAST(:p AS jsonb) WHERE seq = :seq"),
                {"p": json.dumps(payload), "seq": seq},
            )

    await as_superuser({**original, "custodian": "mallory"})
    try:
        async with runtime.unit_of_work() as uow:
            with pytest.raises(exports_service.LedgerBroken) as refused:
                await exports_service.checkpoint(uow, datetime.now(UTC))
    finally:
        await as_superuser(original)

    assert refused.value.problems == [f"entry {seq}: hash mismatch"]
