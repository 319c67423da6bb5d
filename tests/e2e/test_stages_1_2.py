"""Stages 1 and 2 end to end: application with materials -> necessity review -> committee
quorum -> planning with tech and finance sign-off -> review with minutes -> plan.approved on
Kafka with the snapshot; plus return-and-resubmit, withdrawal, delegation, SLA escalation."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from guakao_devtools.infra import Infra
from guakao_devtools.testing import bearer, eventually, read_topic
from tests.e2e.support import ADMIN, APPLICANT, REVIEWER, Draft, status_becomes, task_for

TECH_LEAD = bearer("tina", "tech_lead", dept="it")
FINANCE = bearer("fiona", "finance", dept="finance")
LEGAL = bearer("leo", "legal", dept="legal")
COMMITTEE = [bearer(f"cm{i}", "committee_member", dept="board") for i in (1, 2, 3)]

TERMS = {
    "scope_of_cooperation": "ERP delivery for the finance department",
    "responsibilities": "Vendor builds, IT operates",
    "fund_management": "Milestone payments from the project account",
    "technical_standards": "GB/T 22239 level 3",
    "ip_ownership": "All deliverables belong to the organisation",
    "breach_liability": "0.1% of the contract value per day of delay",
    "risk_allocation": "Vendor bears delivery risk; organisation bears scope risk",
}
TECHNICAL = {
    "resource_allocation": "3 developers, 1 architect, test environment",
    "cooperation_mode": "Fixed-price delivery with a joint steering group",
    "responsibilities": "IT leads, finance accepts",
    "risk_controls": "Fortnightly risk review; penalty clauses",
    "rights_and_duties": "Vendor reports monthly; organisation provides access",
    "contract_terms": TERMS,
}
FINANCE_SECTION = {
    "budget": [
        {"item": "licences", "amount": "800000.00", "currency": "CNY"},
        {"item": "services", "amount": "700000.00", "currency": "CNY"},
    ],
    "fund_management": "Dedicated project account, quarterly audit",
}


def decide(
    approvals: httpx.Client,
    task: dict[str, Any],
    headers: dict[str, str],
    decision: str = "approve",
    comment: str | None = "agreed",
    **extra: Any,
) -> Any:
    response = approvals.post(
        f"/v1/tasks/{task['id']}/decision",
        headers=headers,
        json={"decision": decision, "comment": comment, **extra},
    )
    assert response.status_code == 200, response.text
    return response.json()


def submit(applications: httpx.Client, app_id: str) -> dict[str, Any]:
    response = applications.post(f"/v1/applications/{app_id}/submit", headers=APPLICANT)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_application_goes_from_submission_to_an_approved_plan(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft, infra: Infra
) -> None:
    app = draft(
        title="Finance ERP",
        resources={
            "technology": ["SAP"],
            "funds": {"amount": "1500000.00", "currency": "CNY"},
            "personnel": [{"role": "developer", "headcount": 3}],
        },
    )
    submit(applications, app["id"])

    # Stage 1: the department head, then (above 1,000,000) a committee quorum of 2 of 3.
    decide(approvals, await task_for(approvals, app["id"]), REVIEWER, comment="fits strategy")
    first = await task_for(approvals, app["id"], COMMITTEE[0])
    second = await task_for(approvals, app["id"], COMMITTEE[2])
    assert first["step"] == "committee approval"
    case = decide(approvals, first, COMMITTEE[0])
    assert case["status"] == "OPEN"
    case = decide(approvals, second, COMMITTEE[2])
    assert case["status"] == "APPROVED"
    await status_becomes(applications, app["id"], "PLANNING")

    # Stage 2: both sections written and signed off by their owners, then review.
    url = f"/v1/applications/{app['id']}/plan"
    assert (
        applications.put(f"{url}/technical", json=TECHNICAL, headers=TECH_LEAD).status_code == 200
    )
    assert (
        applications.put(f"{url}/finance", json=FINANCE_SECTION, headers=FINANCE).status_code == 200
    )
    early = applications.post(f"{url}/submit", headers=TECH_LEAD)
    assert early.status_code == 422
    assert "not signed off" in early.json()["detail"]
    assert applications.post(f"{url}/technical/sign-off", headers=TECH_LEAD).status_code == 200
    assert applications.post(f"{url}/finance/sign-off", headers=FINANCE).status_code == 200
    in_review = applications.post(f"{url}/submit", headers=TECH_LEAD)
    assert in_review.status_code == 200, in_review.text
    assert in_review.json()["status"] == "PLAN_IN_REVIEW"

    # The review: tech lead, finance and legal all sign, then a weighted committee vote.
    for reviewer in (TECH_LEAD, FINANCE, LEGAL):
        task = await task_for(approvals, app["id"], reviewer)
        assert task["policy"] == "plan.review" and task["subject_type"] == "plan"
        decide(approvals, task, reviewer, comment="section reviewed")
    decide(
        approvals,
        await task_for(approvals, app["id"], COMMITTEE[1]),
        COMMITTEE[1],
        comment="approved in the 12 March meeting",
    )
    decide(approvals, await task_for(approvals, app["id"], COMMITTEE[2]), COMMITTEE[2])
    final = await status_becomes(applications, app["id"], "PLAN_APPROVED")
    assert [h["to_status"] for h in final["history"]][-3:] == [
        "PLANNING",
        "PLAN_IN_REVIEW",
        "PLAN_APPROVED",
    ]

    record = await read_topic(
        infra.cfg.kafka_bootstrap,
        "guakao.applications.v1",
        match=lambda r: (
            r.key.decode() == app["id"] and json.loads(r.value)["event_type"] == "plan.approved"
        ),
    )
    approved = json.loads(record.value)["data"]
    assert approved["plan"]["contract_terms"] == TERMS
    assert approved["plan"]["signed_off_by"] == {"technical": "tina", "finance": "fiona"}
    assert approved["process_version"] == 1
    minutes = approved["minutes"]
    body = (
        infra.minio.client()
        .get_object(minutes["bucket"], minutes["key"], version_id=minutes["version_id"])
        .read()
    )
    assert hashlib.sha256(body).hexdigest() == minutes["sha256"]
    text = body.decode()
    assert "approved in the 12 March meeting" in text and "plan.review" in text


async def test_a_returned_application_is_revised_and_resubmitted_keeping_its_history(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft
) -> None:
    app = draft(title="Data platform")
    submit(applications, app["id"])
    task = await task_for(approvals, app["id"])
    no_comment = approvals.post(
        f"/v1/tasks/{task['id']}/decision", headers=REVIEWER, json={"decision": "return"}
    )
    assert no_comment.status_code == 422
    decide(approvals, task, REVIEWER, "return", comment="quantify the benefits")
    returned = await status_becomes(applications, app["id"], "RETURNED")
    assert returned["history"][-1]["note"] == "quantify the benefits"

    edited = applications.patch(
        f"/v1/applications/{app['id']}",
        headers={**APPLICANT, "If-Match": str(returned["version"])},
        json={"expected_benefits": "Saves 2,000 staff hours a year"},
    )
    assert edited.status_code == 200, edited.text
    stale = applications.patch(
        f"/v1/applications/{app['id']}",
        headers={**APPLICANT, "If-Match": str(returned["version"])},
        json={"title": "Lost update"},
    )
    assert stale.status_code == 409
    submit(applications, app["id"])
    decide(approvals, await task_for(approvals, app["id"]), REVIEWER, comment="now convincing")
    final = await status_becomes(applications, app["id"], "PLANNING")
    assert [h["to_status"] for h in final["history"]] == [
        "DRAFT",
        "SUBMITTED",
        "RETURNED",
        "SUBMITTED",
        "APPROVED",
        "PLANNING",
    ]
    assert final["expected_benefits"] == "Saves 2,000 staff hours a year"
    timeline = applications.get(f"/v1/applications/{app['id']}/timeline", headers=APPLICANT)
    kinds = [e["kind"] for e in timeline.json()]
    assert kinds.count("document") == 3 and kinds.count("status") == 6


async def test_submission_is_refused_listing_each_missing_material(
    applications: httpx.Client, draft: Draft
) -> None:
    app = draft(materials=False)
    refused = applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT)
    assert refused.status_code == 422
    assert refused.json()["missing_materials"] == [
        "feasibility_study",
        "resource_request",
        "risk_assessment",
    ]
    assert (
        applications.get(f"/v1/applications/{app['id']}", headers=APPLICANT).json()["status"]
        == "DRAFT"
    )


async def test_withdrawing_a_submitted_application_withdraws_its_approval(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft
) -> None:
    app = draft()
    submit(applications, app["id"])
    task = await task_for(approvals, app["id"])
    withdrawn = applications.post(
        f"/v1/applications/{app['id']}/withdraw",
        headers=APPLICANT,
        json={"reason": "merged into another project"},
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "WITHDRAWN"

    async def closed() -> bool:
        case = approvals.get(f"/v1/cases/{task['approval_case_id']}", headers=ADMIN).json()
        return bool(case["status"] == "WITHDRAWN")

    await eventually(closed, what="the approval case to be withdrawn")
    late = approvals.post(
        f"/v1/tasks/{task['id']}/decision", headers=REVIEWER, json={"decision": "approve"}
    )
    assert late.status_code == 409


async def test_a_delegate_decides_for_the_department_head_and_history_says_so(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft
) -> None:
    dan = bearer("dan", "applicant", dept="it")
    now = datetime.now(UTC)
    delegation = approvals.post(
        "/v1/delegations",
        headers=REVIEWER,
        json={
            "delegate": "dan",
            "starts": (now - timedelta(minutes=1)).isoformat(),
            "ends": (now + timedelta(hours=1)).isoformat(),
            "reason": "annual leave",
        },
    )
    assert delegation.status_code == 201, delegation.text
    try:
        app = draft()
        submit(applications, app["id"])
        task = await task_for(approvals, app["id"], dan)
        case = decide(approvals, task, dan, comment="approved while rita is away")
        done = next(t for t in case["tasks"] if t["status"] == "DONE")
        assert (done["decided_by"], done["on_behalf_of"]) == ("dan", "rita")
        history = approvals.get(f"/v1/cases/{case['id']}/history", headers=dan).json()
        approve = next(h for h in history if h["action"] == "approve")
        assert approve["on_behalf_of"] == "rita"
        assert approve["rule"] == "application.necessity_review@v1/necessity review/any"
    finally:
        approvals.delete(f"/v1/delegations/{delegation.json()['id']}", headers=REVIEWER)


async def test_a_breached_time_limit_reminds_then_escalates_to_the_process_admin(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft, infra: Infra
) -> None:
    app = draft()
    submitted = submit(applications, app["id"])
    task = await task_for(approvals, app["id"])
    opened = datetime.fromisoformat(task["created_at"])
    for hours in (40, 100):  # the necessity review allows 72 hours
        swept = approvals.post(
            "/v1/admin/sla-sweep",
            headers=ADMIN,
            json={"now": (opened + timedelta(hours=hours)).isoformat()},
        )
        assert swept.status_code == 200, swept.text

    def event(kind: str) -> Any:
        return lambda r: r.key.decode() == app["id"] and json.loads(r.value)["event_type"] == kind

    reminder = await read_topic(
        infra.cfg.kafka_bootstrap, "guakao.approvals.v1", match=event("approval.reminder")
    )
    assert json.loads(reminder.value)["data"]["percent"] == 50
    escalated = await read_topic(
        infra.cfg.kafka_bootstrap, "guakao.approvals.v1", match=event("approval.escalated")
    )
    assert json.loads(escalated.value)["data"]["escalated_to_role"] == "process_admin"

    escalation = await task_for(approvals, app["id"], ADMIN)
    assert escalation["escalation"] is True
    decide(approvals, escalation, ADMIN, comment="overdue: approved by the PMO")
    final = await status_becomes(applications, app["id"], "PLANNING")
    assert final["submitted_at"] == submitted["submitted_at"]


async def test_applications_are_searchable_by_status_text_and_visible_by_department(
    applications: httpx.Client, draft: Draft
) -> None:
    marker = f"Quantum ledger {datetime.now(UTC).timestamp()}"
    app = draft(title=marker, materials=False)
    found = applications.get(
        "/v1/applications", headers=APPLICANT, params={"q": marker, "status": "DRAFT", "stage": 1}
    )
    assert found.status_code == 200
    page = found.json()
    assert [i["id"] for i in page["items"]] == [app["id"]] and page["total"] == 1
    other = applications.get(
        "/v1/applications",
        params={"q": marker},
        headers=bearer("fred", "applicant", dept="finance"),
    )
    assert other.json()["total"] == 0
    sorted_page = applications.get(
        "/v1/applications", headers=APPLICANT, params={"sort": "title", "limit": 2}
    )
    titles = [i["title"] for i in sorted_page.json()["items"]]
    assert titles == sorted(titles) and len(titles) == 2
    bad = applications.get("/v1/applications", headers=APPLICANT, params={"sort": "nope"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sort"
