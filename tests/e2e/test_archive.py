"""The WORM archive end to end, fed as in production by contract.signed on Kafka: compliance
access with reasons in the ledger, legal hold at the storage level, disposition through an
approval (and S3 still refusing an early delete), duplicate filing, MinIO down while filing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from minio.error import S3Error

from guakao_devtools.infra import Infra
from guakao_devtools.services import ServiceProcess
from guakao_devtools.testing import bearer, envelope, eventually, publish_raw, query, read_topic

CORA = bearer("cora", "compliance_officer", dept="compliance")
CLARA = bearer("clara", "compliance_officer", dept="compliance")
AUDITOR = bearer("audrey", "auditor", dept="audit")
CARL = bearer("carl", "custodian", dept="legal")  # the custodian of what we file here
LEGAL = bearer("leo", "legal", dept="legal")


def signed_contract(
    infra: Infra,
    body: bytes,
    *,
    contract_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
) -> tuple[bytes, uuid.UUID, str]:
    """Store a document like contracts-svc does and build its contract.signed envelope."""
    contract_id, case_id = contract_id or uuid.uuid4(), case_id or uuid.uuid4()
    client = infra.minio.client()
    key = f"{contract_id}/v1.md"
    put = client.put_object(
        "guakao-contracts", key, io.BytesIO(body), len(body), content_type="text/markdown"
    )
    sha = hashlib.sha256(body).hexdigest()
    data = {
        "contract_id": str(contract_id),
        "application_id": str(case_id),
        "contract_number": "GK-TEST",
        "version": 1,
        "title": "Archive test",
        "value": {"amount": "1000.00", "currency": "CNY"},
        "start_date": "2027-01-01",
        "end_date": "2027-12-31",
        "parties": [{"name": "Guakao Group", "kind": "organisation", "signatory": "olga"}],
        "custodian": "carl",
        "documents": [
            {
                "bucket": "guakao-contracts",
                "key": key,
                "version_id": put.version_id,
                "sha256": sha,
                "size": len(body),
                "content_type": "text/markdown",
                "filename": "contract.md",
                "document_type": "signed_contract",
            }
        ],
        "signatures": [],
        "obligations": [],
    }
    return envelope("contract.signed", data, case_id=case_id, source="contracts"), contract_id, sha


async def filed(archive: httpx.Client, contract_id: uuid.UUID, timeout: float = 30) -> Any:
    async def probe() -> Any:
        found = archive.get(
            "/v1/records",
            headers=CORA,
            params={"source_id": str(contract_id), "reason": "test: wait"},
        )
        items = found.json()["items"] if found.status_code == 200 else []
        return items[0] if items else None

    return await eventually(probe, timeout=timeout, what=f"contract {contract_id} to be filed")


@pytest.fixture(scope="module")
def archive(services: dict[str, ServiceProcess]) -> Any:
    with httpx.Client(base_url=services["archive"].url, timeout=30) as client:
        yield client


async def test_compliance_reads_and_downloads_with_a_reason_and_every_access_is_logged(
    archive: httpx.Client, infra: Infra
) -> None:
    body = b"# Contract\n\nSigned and filed.\n"
    event, contract_id, sha = signed_contract(infra, body)
    await publish_raw(infra.cfg.kafka_bootstrap, "guakao.contracts.v1", event, key="k")
    record = await filed(archive, contract_id)
    url = f"/v1/records/{record['id']}"

    no_reason = archive.get(url, headers=CORA)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    assert (
        archive.get(
            url, headers=bearer("eve", "applicant"), params={"reason": "curious"}
        ).status_code
        == 404
    )
    assert archive.get(url, headers=CARL, params={"reason": "custody check"}).status_code == 200
    read = archive.get(url, headers=AUDITOR, params={"reason": "annual audit"})
    assert read.status_code == 200 and read.json()["documents"][0]["sha256"] == sha

    streamed = archive.get(
        f"{url}/documents/{sha}", headers=CORA, params={"reason": "litigation request 42"}
    )
    assert streamed.status_code == 200 and hashlib.sha256(streamed.content).hexdigest() == sha
    presigned = archive.get(
        f"{url}/documents/{sha}",
        headers=CORA,
        params={"reason": "regulator copy", "presigned": "true"},
    )
    assert httpx.get(presigned.json()["url"]).content == body

    logged = await query(
        infra,
        "archive",
        "SELECT payload FROM ledger WHERE kind = 'access' AND record_id = $1 ORDER BY seq",
        uuid.UUID(record["id"]),
    )
    entries = [json.loads(r["payload"]) for r in logged]
    seen = {(e["actor"], e["action"], e["reason"]) for e in entries}
    assert {
        ("carl", "read", "custody check"),
        ("audrey", "read", "annual audit"),
        ("cora", "download", "litigation request 42"),
        ("cora", "download", "regulator copy"),
    } <= seen
    verified = archive.post("/v1/ledger/verify", headers=AUDITOR)
    assert verified.status_code == 200 and verified.json()["ok"] is True


async def test_a_legal_hold_blocks_deletion_at_the_storage_level(
    archive: httpx.Client, infra: Infra
) -> None:
    case_id = uuid.uuid4()
    event, contract_id, _ = signed_contract(infra, b"held contract", case_id=case_id)
    await publish_raw(infra.cfg.kafka_bootstrap, "guakao.contracts.v1", event, key="k")
    record = await filed(archive, contract_id)
    doc = record["documents"][0]
    client = infra.minio.client()

    refused = archive.post(
        "/v1/legal-holds", headers=AUDITOR, json={"case_id": str(case_id), "reason": "litigation"}
    )
    assert refused.status_code == 403
    held = archive.post(
        "/v1/legal-holds",
        headers=CORA,
        json={"case_id": str(case_id), "reason": "litigation 2027-17"},
    )
    assert held.status_code == 200 and held.json()[0]["legal_hold"] is True
    assert client.is_object_legal_hold_enabled(
        "guakao-archive", doc["archive_key"], version_id=doc["archive_version_id"]
    )
    with pytest.raises(S3Error):
        client.remove_object(
            "guakao-archive", doc["archive_key"], version_id=doc["archive_version_id"]
        )
    released = archive.post(
        "/v1/legal-holds/release",
        headers=CORA,
        json={"record_ids": [record["id"]], "reason": "case closed"},
    )
    assert released.json()[0]["legal_hold"] is False
    assert not client.is_object_legal_hold_enabled(
        "guakao-archive", doc["archive_key"], version_id=doc["archive_version_id"]
    )


async def test_a_held_object_without_retention_still_cannot_be_deleted(infra: Infra) -> None:
    """The legal hold alone (no retention at all) stops even the root credentials."""
    from archive_svc.adapters.archive import S3Archive

    client = infra.minio.client()
    key = f"legal-hold-probe/{uuid.uuid4()}"
    put = client.put_object("guakao-archive", key, io.BytesIO(b"x"), 1)
    archive = S3Archive(client, "guakao-archive")
    await archive.set_legal_hold(key, put.version_id, True)
    with pytest.raises(S3Error):
        client.remove_object("guakao-archive", key, version_id=put.version_id)
    await archive.set_legal_hold(key, put.version_id, False)
    client.remove_object("guakao-archive", key, version_id=put.version_id)  # now it may go


async def test_disposition_needs_an_approval_and_storage_still_refuses_before_retention_ends(
    archive: httpx.Client, services: dict[str, ServiceProcess], infra: Infra
) -> None:
    event, contract_id, _ = signed_contract(infra, b"old contract")
    await publish_raw(infra.cfg.kafka_bootstrap, "guakao.contracts.v1", event, key="k")
    record = await filed(archive, contract_id)
    early = archive.post(
        "/v1/dispositions",
        headers=CORA,
        json={"record_id": record["id"], "reason": "retention over"},
    )
    assert early.status_code == 409 and "retention runs until" in early.json()["detail"]

    later = (datetime.now(UTC) + timedelta(days=11 * 365)).isoformat()
    requested = archive.post(
        "/v1/dispositions",
        headers=CORA,
        json={"record_id": record["id"], "reason": "retention over", "now": later},
    )
    assert requested.status_code == 202 and requested.json()["disposition"] == "REQUESTED"

    with httpx.Client(base_url=services["approvals"].url, timeout=30) as approvals:
        for who in (CLARA, LEGAL):  # the requester (cora) may not approve her own request

            async def task(who: dict[str, str] = who) -> Any:
                inbox = approvals.get("/v1/tasks", headers=who, params={"limit": 200}).json()
                return next((t for t in inbox["items"] if t["subject_id"] == record["id"]), None)

            found = await eventually(task, what="a disposition approval task")
            decided = approvals.post(
                f"/v1/tasks/{found['id']}/decision",
                headers=who,
                json={"decision": "approve", "comment": "dispose"},
            )
            assert decided.status_code == 200, decided.text

    async def outcome() -> Any:
        body = archive.get(
            f"/v1/records/{record['id']}", headers=CORA, params={"reason": "disposition follow-up"}
        ).json()
        return body if body["disposition"] not in ("REQUESTED",) else None

    # Approved, but the objects' COMPLIANCE retention has years to run: storage refuses.
    assert (await eventually(outcome, what="the disposition outcome"))["disposition"] == "BLOCKED"
    doc = record["documents"][0]
    assert infra.minio.client().stat_object(
        "guakao-archive", doc["archive_key"], version_id=doc["archive_version_id"]
    )
    kinds = [
        r["kind"]
        for r in await query(
            infra,
            "archive",
            "SELECT kind FROM ledger WHERE record_id = $1 ORDER BY seq",
            uuid.UUID(record["id"]),
        )
    ]
    assert kinds[0] == "filed"
    assert kinds.index("disposition.requested") < kinds.index("disposition.blocked")
    assert "access" in kinds  # the reads made while following it up are logged too


async def test_the_same_filing_request_twice_files_once(
    archive: httpx.Client, infra: Infra
) -> None:
    event, contract_id, _ = signed_contract(infra, b"twice")
    again = json.dumps({**json.loads(event), "event_id": str(uuid.uuid4())}).encode()
    for message in (event, again):
        await publish_raw(infra.cfg.kafka_bootstrap, "guakao.contracts.v1", message, key="k")
    record = await filed(archive, contract_id)
    answers = []

    async def both_answered() -> bool:
        found = await read_topic(
            infra.cfg.kafka_bootstrap,
            "guakao.archive.v1",
            match=lambda r: (
                json.loads(r.value)["event_type"] == "record.filed"
                and json.loads(r.value)["data"]["source_id"] == str(contract_id)
            ),
        )
        answers.append(found)
        rows = await query(
            infra, "archive", "SELECT count(*) AS n FROM records WHERE source_id = $1", contract_id
        )
        return bool(rows[0]["n"] == 1)

    assert await eventually(both_answered, what="one record for two requests")
    assert json.loads(answers[-1].value)["data"]["record_id"] == record["id"]


async def test_minio_down_during_filing_is_retried_and_files_once_when_it_is_back(
    archive: httpx.Client, services: dict[str, ServiceProcess], infra: Infra
) -> None:
    event, contract_id, _ = signed_contract(infra, b"filed after an outage")
    event_id = json.loads(event)["event_id"]
    await asyncio.to_thread(infra.minio.stop)
    try:
        await publish_raw(infra.cfg.kafka_bootstrap, "guakao.contracts.v1", event, key="k")

        async def retrying() -> bool:
            return event_id in services["archive"].tail(400)

        await eventually(retrying, timeout=60, what="the archive to retry while MinIO is down")
    finally:
        await asyncio.to_thread(infra.start, infra.minio)
    await filed(archive, contract_id, timeout=120)
    rows = await query(
        infra, "archive", "SELECT count(*) AS n FROM records WHERE source_id = $1", contract_id
    )
    assert rows[0]["n"] == 1
