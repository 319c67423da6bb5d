"""Stage 3a end to end: from plan.approved to a contract drafted with the mandatory clauses,
edited in versions, approved, signed by every party over exactly the approved document, and
published as contract.signed; refusals change nothing; a signed contract is only amended."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx

from guakao_devtools.demo import Demo
from guakao_devtools.infra import Infra
from guakao_devtools.services import ServiceProcess
from guakao_devtools.testing import bearer, eventually, read_topic

LEGAL = bearer("leo", "legal", dept="legal")
OLGA = bearer("olga", "dept_head", dept="it")  # signs for the organisation
VICTOR = bearer("victor", "applicant", dept="vendor")  # signs for the counterparty
STANDARD_IP = (
    "All intellectual property created under this contract belongs to the "
    "organisation; pre-existing rights of each party remain with that party."
)


async def approved_plan(services: Any) -> str:
    demo = Demo(services["applications"].url, services["approvals"].url, say=lambda _: None)
    return await asyncio.to_thread(demo.run)


async def drafted(contracts: httpx.Client, application_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = contracts.get(
            "/v1/contracts", headers=LEGAL, params={"application_id": application_id}
        ).json()["items"]
        return found[0] if found else None

    return await eventually(probe, what="the contract drafted from plan.approved")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_a_contract_goes_from_the_approved_plan_to_signed(
    services: dict[str, ServiceProcess],
    contracts: httpx.Client,
    approvals: httpx.Client,
    infra: Infra,
) -> None:
    application_id = await approved_plan(services)
    contract = await drafted(contracts, application_id)
    cid = contract["id"]
    assert contract["status"] == "DRAFT" and contract["missing_clauses"] == []
    assert len(contract["current_version"]["clauses"]) == 7
    # The demo's plan proposed its own wording: every clause is flagged for legal review.
    assert len(contract["current_version"]["deviations"]) == 7

    refused = contracts.post(f"/v1/contracts/{cid}/submit", headers=LEGAL)
    assert refused.status_code == 422
    assert "no custodian is assigned" in refused.json()["problems"]

    edited = ok(
        contracts.put(
            f"/v1/contracts/{cid}/clauses/ip_ownership", headers=LEGAL, json={"text": STANDARD_IP}
        )
    )
    assert "ip_ownership" not in edited["current_version"]["deviations"]
    changes = ok(
        contracts.get(f"/v1/contracts/{cid}/diff", headers=LEGAL, params={"from": 1, "to": 2})
    )
    assert changes["changed"] == ["ip_ownership"]
    ok(
        contracts.put(
            f"/v1/contracts/{cid}/parties",
            headers=LEGAL,
            json={
                "parties": [
                    {"name": "Guakao Group", "kind": "organisation", "signatory": "olga"},
                    {"name": "Vendor Ltd", "kind": "counterparty", "signatory": "victor"},
                ]
            },
        )
    )
    ok(
        contracts.put(
            f"/v1/contracts/{cid}/obligations",
            headers=LEGAL,
            json={
                "obligations": [
                    {
                        "kind": "deliverable",
                        "description": "ERP go-live",
                        "due_date": "2027-09-30",
                        "owner": "tina",
                    },
                    {
                        "kind": "payment",
                        "description": "first milestone",
                        "due_date": "2027-04-30",
                        "owner": "fiona",
                        "amount": "500000.00",
                        "currency": "CNY",
                    },
                    {
                        "kind": "reporting",
                        "description": "monthly progress report",
                        "due_date": "2027-02-28",
                        "owner": "tina",
                    },
                ]
            },
        )
    )
    # The project's side reviews what legal drafted; legal does not review itself.
    tina = bearer("tina", "tech_lead", dept="it")
    vague = contracts.post(
        f"/v1/contracts/{cid}/reviews",
        headers=tina,
        json={"version": 2, "verdict": "changes_requested"},
    )
    assert vague.status_code == 422 and vague.json()["errors"][0]["field"] == "comment"
    assert (
        contracts.post(
            f"/v1/contracts/{cid}/reviews", headers=LEGAL, json={"version": 2, "verdict": "approve"}
        ).status_code
        == 403
    )
    reviewed = ok(
        contracts.post(
            f"/v1/contracts/{cid}/reviews",
            headers=tina,
            json={
                "version": 2,
                "verdict": "changes_requested",
                "comment": "name the test environment",
            },
        )
    )
    assert reviewed["reviews"][0]["by"] == "tina"
    ok(
        contracts.put(
            f"/v1/contracts/{cid}/custodian",
            headers=LEGAL,
            json={"custodian": "carl", "reason": "contracts office"},
        )
    )
    submitted = ok(contracts.post(f"/v1/contracts/{cid}/submit", headers=LEGAL))
    assert submitted["status"] == "IN_APPROVAL"
    version = submitted["current_version"]["number"]

    async def legal_task() -> dict[str, Any] | None:
        tasks = approvals.get("/v1/tasks", headers=LEGAL, params={"limit": 200}).json()["items"]
        return next((t for t in tasks if t["subject_id"] == cid), None)

    task = await eventually(legal_task, what="the legal review task of the contract")
    assert task["policy"] == "contract.approval"
    ok(
        approvals.post(
            f"/v1/tasks/{task['id']}/decision",
            headers=LEGAL,
            json={"decision": "approve", "comment": "clauses reviewed"},
        )
    )

    async def approved() -> dict[str, Any] | None:
        body = contracts.get(f"/v1/contracts/{cid}", headers=LEGAL).json()
        return body if body["status"] == "APPROVED" else None

    contract = await eventually(approved, what="the contract to be APPROVED")
    assert contract["approved_version"] == version
    document = contracts.get(f"/v1/contracts/{cid}/versions/{version}/document", headers=VICTOR)
    sha = hashlib.sha256(document.content).hexdigest()
    assert sha == document.headers["X-Content-SHA256"]

    def sign(who: dict[str, str], party: str, **overrides: Any) -> httpx.Response:
        body = {"party": party, "version": version, "document_sha256": sha, **overrides}
        return contracts.post(f"/v1/contracts/{cid}/signatures", headers=who, json=body)

    assert sign(OLGA, "Guakao Group", version=version - 1).status_code == 409
    assert sign(OLGA, "Guakao Group", document_sha256="0" * 64).status_code == 409
    impostor = sign(VICTOR, "Guakao Group")
    assert impostor.status_code == 403 and impostor.json()["rule"] == "signatory"
    assert ok(contracts.get(f"/v1/contracts/{cid}", headers=LEGAL))["signatures"] == []
    ok(sign(OLGA, "Guakao Group"))
    signed = ok(sign(VICTOR, "Vendor Ltd"))
    assert signed["status"] == "SIGNED"
    assert {s["document_sha256"] for s in signed["signatures"]} == {sha}
    assert all(s["method"] == "builtin-hmac-sha256" and s["evidence"] for s in signed["signatures"])

    record = await read_topic(
        infra.cfg.kafka_bootstrap,
        "guakao.contracts.v1",
        match=lambda r: (
            json.loads(r.value)["event_type"] == "contract.signed"
            and json.loads(r.value)["data"]["contract_id"] == cid
        ),
    )
    event = json.loads(record.value)["data"]
    assert event["custodian"] == "carl" and len(event["obligations"]) == 3
    documents = {d["document_type"]: d for d in event["documents"]}
    stored = (
        infra.minio.client()
        .get_object(
            documents["signed_contract"]["bucket"],
            documents["signed_contract"]["key"],
            version_id=documents["signed_contract"]["version_id"],
        )
        .read()
    )
    assert hashlib.sha256(stored).hexdigest() == sha == documents["signed_contract"]["sha256"]

    # The archive files it (WORM) and answers; the contract shows FILED with the record id.
    async def filed() -> dict[str, Any] | None:
        body = contracts.get(f"/v1/contracts/{cid}", headers=LEGAL).json()
        return body if body["filing"]["status"] == "FILED" else None

    record_id = (await eventually(filed, what="the archive to file the contract"))["filing"][
        "record_id"
    ]
    compliance = bearer("cora", "compliance_officer", dept="compliance")
    with httpx.Client(base_url=services["archive"].url) as archive:
        record = ok(
            archive.get(
                f"/v1/records/{record_id}", headers=compliance, params={"reason": "filing check"}
            )
        )
        assert sha in {d["sha256"] for d in record["documents"]}
        verified = ok(archive.get(f"/v1/records/{record_id}/verify", headers=compliance))
        assert verified["ok"] is True, verified

    swept = contracts.post(
        "/v1/admin/sweep",
        headers=bearer("ada", "process_admin"),
        json={"now": "2027-12-21T08:00:00Z"},
    )
    assert swept.status_code == 200, swept.text
    reminder = await read_topic(
        infra.cfg.kafka_bootstrap,
        "guakao.contracts.v1",
        match=lambda r: (
            json.loads(r.value)["event_type"] == "contract.expiry_reminder"
            and json.loads(r.value)["data"]["contract_id"] == cid
        ),
    )
    assert json.loads(reminder.value)["data"]["days_left"] == 10

    immutable = contracts.put(
        f"/v1/contracts/{cid}/clauses/scope_of_cooperation",
        headers=LEGAL,
        json={"text": "something else"},
    )
    assert immutable.status_code == 409 and "amendment" in immutable.json()["detail"]
    amended = ok(
        contracts.post(
            f"/v1/contracts/{cid}/amendments", headers=LEGAL, json={"reason": "extend the term"}
        )
    )
    assert amended["status"] == "DRAFT"
    assert amended["current_version"]["amendment_of"] == version

    # The amendment is approved and signed again, and filed as its own record.
    ok(
        contracts.put(
            f"/v1/contracts/{cid}/clauses/scope_of_cooperation",
            headers=LEGAL,
            json={"text": "ERP delivery for finance and procurement"},
        )
    )
    resubmitted = ok(contracts.post(f"/v1/contracts/{cid}/submit", headers=LEGAL))
    new_version = resubmitted["current_version"]["number"]
    again = await eventually(legal_task, what="the legal review of the amendment")
    ok(
        approvals.post(
            f"/v1/tasks/{again['id']}/decision",
            headers=LEGAL,
            json={"decision": "approve", "comment": "amendment reviewed"},
        )
    )
    await eventually(approved, what="the amendment to be APPROVED")
    document = contracts.get(f"/v1/contracts/{cid}/versions/{new_version}/document", headers=VICTOR)
    new_sha = hashlib.sha256(document.content).hexdigest()
    assert new_sha != sha
    for who, party in ((OLGA, "Guakao Group"), (VICTOR, "Vendor Ltd")):
        ok(
            contracts.post(
                f"/v1/contracts/{cid}/signatures",
                headers=who,
                json={"party": party, "version": new_version, "document_sha256": new_sha},
            )
        )
    refiled = await eventually(filed, what="the archive to file the amendment")
    assert refiled["filing"]["version"] == new_version
    assert refiled["filing"]["record_id"] != record_id


async def test_a_missing_mandatory_clause_is_refused_by_name_and_nothing_changes(
    services: dict[str, ServiceProcess], contracts: httpx.Client
) -> None:
    application_id = await approved_plan(services)
    cid = (await drafted(contracts, application_id))["id"]
    ok(
        contracts.put(
            f"/v1/contracts/{cid}/clauses/breach_liability", headers=LEGAL, json={"text": ""}
        )
    )
    ok(contracts.put(f"/v1/contracts/{cid}/custodian", headers=LEGAL, json={"custodian": "carl"}))
    before = ok(contracts.get(f"/v1/contracts/{cid}", headers=LEGAL))
    refused = contracts.post(f"/v1/contracts/{cid}/submit", headers=LEGAL)
    assert refused.status_code == 422
    assert refused.json()["missing_clauses"] == ["breach_liability"]
    after = ok(contracts.get(f"/v1/contracts/{cid}", headers=LEGAL))
    assert after == before
    not_legal = contracts.put(
        f"/v1/contracts/{cid}/clauses/breach_liability", headers=OLGA, json={"text": "x"}
    )
    assert not_legal.status_code == 403
