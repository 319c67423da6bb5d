"""Retried commands return the first result; racing deciders give one consistent outcome."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from guakao_devtools.infra import Infra
from guakao_devtools.services import ServiceProcess
from guakao_devtools.testing import bearer, query
from tests.e2e.support import APPLICANT, REVIEWER, Draft, application_body, new_key, task_for


async def test_a_retried_create_with_the_same_key_creates_one_draft(
    applications: httpx.Client, infra: Infra
) -> None:
    key = new_key()
    first = applications.post(
        "/v1/applications",
        json=application_body(title="Retried"),
        headers={**APPLICANT, "Idempotency-Key": key},
    )
    again = applications.post(
        "/v1/applications",
        json=application_body(title="Retried"),
        headers={**APPLICANT, "Idempotency-Key": key},
    )
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotency-Replayed"] == "true"
    rows = await query(
        infra,
        "applications",
        "SELECT count(*) AS n FROM applications WHERE id = $1",
        uuid.UUID(first.json()["id"]),
    )
    assert rows[0]["n"] == 1


async def test_reusing_a_key_for_a_different_request_is_refused(
    applications: httpx.Client,
) -> None:
    key = new_key()
    applications.post(
        "/v1/applications",
        json=application_body(title="One"),
        headers={**APPLICANT, "Idempotency-Key": key},
    )
    other = applications.post(
        "/v1/applications",
        json=application_body(title="Two"),
        headers={**APPLICANT, "Idempotency-Key": key},
    )
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["detail"]


async def test_an_application_withdrawal_key_reused_with_another_reason_is_refused(
    applications: httpx.Client, draft: Draft
) -> None:
    app = draft()
    headers = {**APPLICANT, "Idempotency-Key": new_key()}
    url = f"/v1/applications/{app['id']}/withdraw"
    first = applications.post(url, json={"reason": "merged into another project"}, headers=headers)
    again = applications.post(url, json={"reason": "merged into another project"}, headers=headers)
    other = applications.post(url, json={"reason": "no budget"}, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["Idempotency-Replayed"] == "true"
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["detail"]


async def test_an_update_key_reused_with_another_if_match_version_is_refused(
    applications: httpx.Client, draft: Draft
) -> None:
    app = draft(materials=False)
    headers = {**APPLICANT, "Idempotency-Key": new_key()}
    url = f"/v1/applications/{app['id']}"
    body = {"title": "ERP upgrade, phase 1"}
    first = applications.patch(url, json=body, headers={**headers, "If-Match": "1"})
    other = applications.patch(url, json=body, headers={**headers, "If-Match": "2"})
    assert first.status_code == 200, first.text
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["detail"]


async def test_an_upload_key_reused_with_other_bytes_is_refused(
    applications: httpx.Client, draft: Draft
) -> None:
    app = draft(materials=False)
    headers = {**APPLICANT, "Idempotency-Key": new_key()}
    url = f"/v1/applications/{app['id']}/documents"
    form = {"document_type": "feasibility_study"}

    def upload(data: bytes) -> httpx.Response:
        files = {"file": ("study.txt", data, "text/plain")}
        return applications.post(url, data=form, files=files, headers=headers)

    first, again, other = upload(b"the study"), upload(b"the study"), upload(b"another study")
    assert first.status_code == again.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["detail"]


async def test_a_decision_sent_twice_with_one_key_has_one_effect(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft, infra: Infra
) -> None:
    app = draft()
    applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT)
    task = await task_for(approvals, app["id"])
    headers = {**REVIEWER, "Idempotency-Key": new_key()}
    decision = {"decision": "approve", "comment": "ok"}
    first = approvals.post(f"/v1/tasks/{task['id']}/decision", json=decision, headers=headers)
    again = approvals.post(f"/v1/tasks/{task['id']}/decision", json=decision, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    granted = await query(
        infra,
        "approvals",
        "SELECT count(*) AS n FROM outbox WHERE key = $1 AND event_type = 'approval.granted'",
        app["id"],
    )
    assert granted[0]["n"] == 1


async def test_a_decision_key_reused_with_another_comment_is_refused(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft
) -> None:
    app = draft()
    applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT)
    task = await task_for(approvals, app["id"])
    headers = {**REVIEWER, "Idempotency-Key": new_key()}
    url = f"/v1/tasks/{task['id']}/decision"
    first = approvals.post(url, json={"decision": "approve", "comment": "ok"}, headers=headers)
    other = approvals.post(url, json={"decision": "approve", "comment": "fine"}, headers=headers)
    assert first.status_code == 200, first.text
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["detail"]


async def test_a_withdrawal_key_reused_with_another_comment_is_refused(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft
) -> None:
    app = draft()
    applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT)
    task = await task_for(approvals, app["id"])
    headers = {**APPLICANT, "Idempotency-Key": new_key()}
    url = f"/v1/cases/{task['approval_case_id']}/withdraw"
    first = approvals.post(url, json={"comment": "merged into another project"}, headers=headers)
    again = approvals.post(url, json={"comment": "merged into another project"}, headers=headers)
    other = approvals.post(url, json={"comment": "no budget"}, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["status"] == "WITHDRAWN"
    assert again.headers["Idempotency-Replayed"] == "true"
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["detail"]


async def test_two_approvers_deciding_at_once_give_one_outcome(
    applications: httpx.Client, services: dict[str, ServiceProcess], draft: Draft, infra: Infra
) -> None:
    app = draft()
    applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT)
    async with httpx.AsyncClient(base_url=services["approvals"].url, timeout=30) as client:
        task = await task_for(httpx.Client(base_url=services["approvals"].url), app["id"])
        url = f"/v1/tasks/{task['id']}/decision"
        results = await asyncio.gather(
            client.post(url, json={"decision": "approve"}, headers=bearer("r1", "dept_head")),
            client.post(
                url, json={"decision": "reject", "comment": "no"}, headers=bearer("r2", "dept_head")
            ),
        )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409], [r.text for r in results]
    outcomes = await query(
        infra,
        "approvals",
        "SELECT event_type FROM outbox WHERE key = $1 AND event_type IN "
        "('approval.granted', 'approval.rejected')",
        app["id"],
    )
    winner = next(r for r in results if r.status_code == 200).json()["status"]
    assert [o["event_type"] for o in outcomes] == [
        "approval.granted" if winner == "APPROVED" else "approval.rejected"
    ]
