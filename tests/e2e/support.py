"""Helpers for driving a case through the real services over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from guakao_devtools.testing import bearer, eventually

APPLICANT = bearer("alice", "applicant", dept="it")
# The head of the applicant's department does the necessity review (process definition v1).
REVIEWER = bearer("rita", "dept_head", dept="it")
ADMIN = bearer("ada", "process_admin", dept="pmo")

# The types of the session fixtures `draft` (tests/e2e/conftest.py) and `auth` (root conftest).
Draft = Callable[..., dict[str, Any]]
Bearer = Callable[..., dict[str, str]]

# The organisation the approval engine routes to (its directory).
ORG = {
    "alice": {"department": "it", "roles": ["applicant"], "manager": "hank"},
    "hank": {"department": "it", "roles": ["dept_head"]},
    "rita": {"department": "it", "roles": ["dept_head"]},
    "cm1": {"department": "board", "roles": ["committee_member"]},
    "cm2": {"department": "board", "roles": ["committee_member"]},
    "cm3": {"department": "board", "roles": ["committee_member"]},
    "tina": {"department": "it", "roles": ["tech_lead"]},
    "fiona": {"department": "finance", "roles": ["finance"]},
    "leo": {"department": "legal", "roles": ["legal"]},
    "ada": {"department": "pmo", "roles": ["process_admin"]},
}


# What process definition v1 requires before an application can be submitted.
REQUIRED_MATERIALS = ("feasibility_study", "resource_request", "risk_assessment")


def attach_materials(
    client: httpx.Client, app_id: str, headers: dict[str, str] = APPLICANT
) -> None:
    for document_type in REQUIRED_MATERIALS:
        upload = client.post(
            f"/v1/applications/{app_id}/documents",
            headers=headers,
            data={"document_type": document_type},
            files={
                "file": (
                    f"{document_type}.txt",
                    f"{document_type} of {app_id}".encode(),
                    "text/plain",
                )
            },
        )
        assert upload.status_code == 201, upload.text


def application_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "ERP upgrade",
        "background": "The finance ERP is out of support.",
        "objectives": "Move finance to the new ERP by year end.",
        "expected_benefits": "Month-end close in 3 days instead of 8.",
        "resources": {
            "technology": ["SAP S/4HANA"],
            "funds": {"amount": "300000.00", "currency": "CNY"},
            "personnel": [{"role": "developer", "headcount": 3, "effort_person_days": "240"}],
        },
        "start_date": "2027-01-01",
        "end_date": "2027-12-31",
        "risks": [
            {
                "description": "vendor delay",
                "likelihood": "medium",
                "impact": "high",
                "mitigation": "penalty clause",
            }
        ],
    }
    body.update(overrides)
    return body


async def task_for(
    approvals: httpx.Client,
    subject_id: str,
    headers: dict[str, str] = REVIEWER,
    timeout: float = 30,
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = approvals.get("/v1/tasks", headers=headers, params={"limit": 200})
        assert response.status_code == 200, response.text
        return next((t for t in response.json()["items"] if t["subject_id"] == subject_id), None)

    return await eventually(probe, timeout=timeout, what=f"an approval task for {subject_id}")


async def status_becomes(
    applications: httpx.Client, app_id: str, status: str, timeout: float = 30
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        body = applications.get(f"/v1/applications/{app_id}", headers=APPLICANT).json()
        return body if body["status"] == status else None

    return await eventually(probe, timeout=timeout, what=f"application {app_id} to be {status}")


def new_key() -> str:
    return f"test-{uuid.uuid4()}"
