"""Stage 1 round trip across two real service processes, real Kafka, PostgreSQL and MinIO."""

from __future__ import annotations

import hashlib

import httpx

from guakao_devtools.infra import Infra
from tests.e2e.support import APPLICANT, REVIEWER, Bearer, Draft, status_becomes, task_for


async def test_submitted_application_is_approved_by_the_department_head(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft, infra: Infra
) -> None:
    app = draft()
    assert app["status"] == "DRAFT"
    content = b"%PDF-1.7 feasibility study\n" * 100
    upload = applications.post(
        f"/v1/applications/{app['id']}/documents",
        headers=APPLICANT,
        data={"document_type": "feasibility_study"},
        files={"file": ("feasibility.pdf", content, "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    document = upload.json()
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    assert document["size"] == len(content)
    stored = infra.minio.client().get_object(
        document["bucket"], document["key"], version_id=document["version_id"]
    )
    assert hashlib.sha256(stored.read()).hexdigest() == document["sha256"]

    submitted = applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "SUBMITTED"

    task = await task_for(approvals, app["id"])
    assert task["requester"] == "alice"
    assert (task["pool_role"], task["pool_department"]) == ("dept_head", "it")
    decided = approvals.post(
        f"/v1/tasks/{task['id']}/decision",
        headers=REVIEWER,
        json={"decision": "approve", "comment": "fits the IT strategy"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "APPROVED"
    assert decided.json()["tasks"][0]["decided_by"] == "rita"

    final = await status_becomes(applications, app["id"], "PLANNING")
    assert [h["to_status"] for h in final["history"]] == [
        "DRAFT",
        "SUBMITTED",
        "APPROVED",
        "PLANNING",
    ]
    assert final["history"][2]["actor"] == "rita"
    assert final["process_version"] == 1 and final["stage"] == 2


async def test_rejected_application_ends_rejected_with_the_reason(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft
) -> None:
    app = draft(title="Shadow IT tool")
    assert (
        applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT).status_code
        == 200
    )
    task = await task_for(approvals, app["id"])
    decided = approvals.post(
        f"/v1/tasks/{task['id']}/decision",
        headers=REVIEWER,
        json={"decision": "reject", "comment": "duplicates an existing tool"},
    )
    assert decided.status_code == 200, decided.text
    final = await status_becomes(applications, app["id"], "REJECTED")
    assert final["history"][-1]["note"] == "duplicates an existing tool"


async def test_the_applicant_never_sees_their_own_request_in_the_inbox(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft, auth: Bearer
) -> None:
    both = auth("alice", "applicant", "dept_head", dept="it")
    app = draft(headers=both)
    assert (
        applications.post(f"/v1/applications/{app['id']}/submit", headers=both).status_code == 200
    )
    task = await task_for(approvals, app["id"])  # visible to another reviewer
    mine = approvals.get("/v1/tasks", headers=both, params={"limit": 200}).json()["items"]
    assert all(t["subject_id"] != app["id"] for t in mine)
    refused = approvals.post(
        f"/v1/tasks/{task['id']}/decision", headers=both, json={"decision": "approve"}
    )
    assert refused.status_code == 403
    assert refused.json()["rule"] == "sod.own_request"
