"""Bad input gets a clear 4xx problem+json naming the field and the rule, and leaves nothing."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from guakao_devtools.infra import Infra
from guakao_devtools.testing import bearer, query
from guakao_shared.devkeys import dev_private_key_pem
from tests.e2e.support import APPLICANT, Draft, application_body

PROBLEM = "application/problem+json"


async def count(infra: Infra, table: str) -> int:
    return int((await query(infra, "applications", f"SELECT count(*) AS n FROM {table}"))[0]["n"])


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return dict(body)


async def test_missing_fields_and_wrong_types_name_each_field_and_write_nothing(
    applications: httpx.Client, infra: Infra
) -> None:
    before = await count(infra, "applications")
    body = application_body(start_date="next tuesday")
    del body["objectives"]
    body["resources"]["funds"]["amount"] = "-5"
    problem = assert_problem(
        applications.post("/v1/applications", json=body, headers=APPLICANT), 422
    )
    rules = {e["field"]: e["rule"] for e in problem["errors"]}
    assert rules["objectives"] == "missing"
    assert rules["start_date"].startswith("date")
    assert rules["resources.funds.amount"] == "greater_than"
    assert await count(infra, "applications") == before


async def test_unknown_fields_and_reversed_dates_are_refused(applications: httpx.Client) -> None:
    extra = assert_problem(
        applications.post(
            "/v1/applications", json=application_body(budget_code="X1"), headers=APPLICANT
        ),
        422,
    )
    assert {k: extra["errors"][0][k] for k in ("field", "rule")} == {
        "field": "budget_code",
        "rule": "extra_forbidden",
    }
    reversed_ = assert_problem(
        applications.post(
            "/v1/applications",
            json=application_body(start_date="2027-06-01", end_date="2027-01-01"),
            headers=APPLICANT,
        ),
        422,
    )
    assert "end_date must not be before start_date" in reversed_["detail"]


async def test_an_oversized_upload_is_refused_and_nothing_is_stored(
    applications: httpx.Client, draft: Draft, infra: Infra
) -> None:
    app = draft(materials=False)
    big = b"x" * (64 * 1024 + 1)  # the test services run with a 64 KiB limit
    problem = assert_problem(
        applications.post(
            f"/v1/applications/{app['id']}/documents",
            headers=APPLICANT,
            data={"document_type": "feasibility_study"},
            files={"file": ("big.txt", big, "text/plain")},
        ),
        413,
    )
    assert problem["errors"][0]["field"] == "file"
    objects = list(
        infra.minio.client().list_objects(
            "guakao-applications", prefix=app["id"], recursive=True, include_version=True
        )
    )
    assert objects == []
    assert (
        applications.get(f"/v1/applications/{app['id']}", headers=APPLICANT).json()["documents"]
        == []
    )


async def test_an_unsupported_content_type_is_refused(
    applications: httpx.Client, draft: Draft
) -> None:
    app = draft()
    problem = assert_problem(
        applications.post(
            f"/v1/applications/{app['id']}/documents",
            headers=APPLICANT,
            data={"document_type": "feasibility_study"},
            files={"file": ("run.sh", b"#!/bin/sh\nrm -rf /", "application/x-sh")},
        ),
        415,
    )
    assert problem["errors"][0]["rule"] == "content_type"


def _token(**overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "guakao-dev",
        "aud": "guakao",
        "sub": "eve",
        "iat": now,
        "exp": now + 600,
        "roles": ["applicant"],
        "dept": "it",
        **overrides,
    }
    return jwt.encode(
        claims, dev_private_key_pem(), algorithm="RS256", headers={"kid": "guakao-dev-1"}
    )


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "a bearer token is required"),
        ("Bearer not.a.jwt", "invalid bearer token"),
        (f"Bearer {_token(exp=int(time.time()) - 60)}", "expired"),
        (f"Bearer {_token(aud='another-app')}", "audience"),
        (f"Bearer {_token(iss='https://evil.example')}", "issuer"),
        (
            f"Bearer {jwt.encode({'sub': 'eve'}, 'k' * 32, algorithm='HS256')}",
            "algorithm",
        ),
    ],
    ids=["missing", "garbage", "expired", "wrong-audience", "wrong-issuer", "hs256-downgrade"],
)
async def test_a_bad_token_is_refused_with_401(
    applications: httpx.Client, infra: Infra, authorization: str | None, reason: str
) -> None:
    before = await count(infra, "applications")
    headers = {"Authorization": authorization} if authorization else {}
    problem = assert_problem(
        applications.post("/v1/applications", json=application_body(), headers=headers), 401
    )
    assert reason in problem["detail"].lower()
    assert await count(infra, "applications") == before


async def test_the_wrong_role_is_refused_with_403_naming_the_required_role(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft, infra: Infra
) -> None:
    before = await count(infra, "applications")
    problem = assert_problem(
        applications.post(
            "/v1/applications", json=application_body(), headers=bearer("rita", "reviewer")
        ),
        403,
    )
    assert problem["required_roles"] == ["applicant"]
    assert await count(infra, "applications") == before

    app = draft()
    other = bearer("bob", "applicant", dept="it")
    refused = assert_problem(
        applications.post(f"/v1/applications/{app['id']}/submit", headers=other), 403
    )
    assert "only the applicant" in refused["detail"]
    assert (
        applications.get(f"/v1/applications/{app['id']}", headers=APPLICANT).json()["status"]
        == "DRAFT"
    )


async def test_cases_of_another_department_are_not_visible(
    applications: httpx.Client, draft: Draft
) -> None:
    app = draft()
    assert_problem(
        applications.get(
            f"/v1/applications/{app['id']}", headers=bearer("fred", "applicant", dept="finance")
        ),
        404,
    )


async def test_an_illegal_transition_is_a_409_that_says_what_is_allowed(
    applications: httpx.Client, draft: Draft
) -> None:
    app = draft()
    assert (
        applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT).status_code
        == 200
    )
    problem = assert_problem(
        applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT), 409
    )
    assert "SUBMITTED -> SUBMITTED is not allowed" in problem["detail"]
