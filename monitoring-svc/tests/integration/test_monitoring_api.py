"""monitoring-svc end to end on the real PostgreSQL and Kafka: a command through the unit of
work and the outbox to its topic, and the process log fed by every service's events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from guakao_devtools.infra import Infra
from guakao_devtools.services import ServiceProcess
from guakao_devtools.testing import bearer, envelope, eventually, publish_raw, read_topic
from tests.e2e.conftest import draft
from tests.e2e.support import APPLICANT, Draft, new_key

pytestmark = pytest.mark.infra
__all__ = ["draft"]  # the e2e suite's fixture: a draft application with its materials

PM = bearer("pm1", "project_manager", dept="it")
RISK = {
    "title": "Key supplier may miss the integration milestone",
    "likelihood": 4,
    "impact": 5,
    "owner": "pm1",
    "mitigation": "Second supplier qualified by March",
}


@pytest.fixture(scope="module")
def monitoring(services: dict[str, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services["monitoring"].url, timeout=30) as client:
        yield client


def _register(monitoring: httpx.Client, case_id: uuid.UUID, **headers: str) -> httpx.Response:
    return monitoring.post(f"/v1/cases/{case_id}/risks", json=RISK, headers={**PM, **headers})


async def test_a_registered_risk_is_rated_listed_and_published(
    monitoring: httpx.Client, infra: Infra
) -> None:
    case_id = uuid.uuid4()
    created = _register(monitoring, case_id)

    assert created.status_code == 201, created.text
    risk = created.json()
    assert (risk["score"], risk["level"], risk["raised_by"]) == (20, "CRITICAL", "pm1")
    page = monitoring.get(f"/v1/cases/{case_id}/risks", headers=PM).json()
    assert (page["total"], [r["id"] for r in page["items"]]) == (1, [risk["id"]])
    record = await read_topic(
        infra.cfg.kafka_bootstrap,
        "guakao.monitoring.v1",
        match=lambda r: r.key == str(case_id).encode(),
    )
    published = json.loads(record.value)
    assert published["event_type"] == "risk.registered"
    assert published["data"]["risk_id"] == risk["id"]


def test_a_retried_registration_answers_the_first_result_and_registers_once(
    monitoring: httpx.Client,
) -> None:
    case_id, key = uuid.uuid4(), new_key()
    first = _register(monitoring, case_id, **{"Idempotency-Key": key})
    again = _register(monitoring, case_id, **{"Idempotency-Key": key})

    assert again.json() == first.json()
    assert again.headers.get("Idempotency-Replayed") == "true"
    assert monitoring.get(f"/v1/cases/{case_id}/risks", headers=PM).json()["total"] == 1


def test_the_same_key_with_a_different_body_is_refused(monitoring: httpx.Client) -> None:
    case_id, key = uuid.uuid4(), new_key()
    assert _register(monitoring, case_id, **{"Idempotency-Key": key}).status_code == 201
    changed = monitoring.post(
        f"/v1/cases/{case_id}/risks",
        json={**RISK, "mitigation": "Accept the delay"},
        headers={**PM, "Idempotency-Key": key},
    )
    assert changed.status_code == 422, changed.text
    assert monitoring.get(f"/v1/cases/{case_id}/risks", headers=PM).json()["total"] == 1


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"likelihood": 9}, "likelihood", "less_than_equal"),
        ({"title": "bad\x00title"}, "body", "no_nul"),  # the edge refuses it for everyone
        ({"title": "bad\x07title"}, "title", "value_error"),
        ({"mitigation": ""}, "mitigation", "required_above_medium"),
        ({"owner": ""}, "owner", "string_too_short"),
        ({"unexpected": 1}, "unexpected", "extra_forbidden"),
    ],
)
def test_a_bad_risk_is_refused_naming_the_field_and_the_rule_and_nothing_is_stored(
    monitoring: httpx.Client, change: dict[str, Any], field: str, rule: str
) -> None:
    case_id = uuid.uuid4()
    refused = monitoring.post(f"/v1/cases/{case_id}/risks", json={**RISK, **change}, headers=PM)

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert {"field": field, "rule": rule} in [
        {"field": e["field"], "rule": e["rule"]} for e in refused.json()["errors"]
    ]
    assert monitoring.get(f"/v1/cases/{case_id}/risks", headers=PM).json()["total"] == 0


def test_an_applicant_may_not_register_risks(monitoring: httpx.Client) -> None:
    refused = monitoring.post(f"/v1/cases/{uuid.uuid4()}/risks", json=RISK, headers=APPLICANT)
    assert refused.status_code == 403
    assert refused.json()["required_roles"] == ["project_manager", "process_admin"]


async def test_the_process_log_holds_every_service_s_events_for_a_case_in_order(
    monitoring: httpx.Client, draft: Draft, applications: httpx.Client
) -> None:
    app = draft()
    submitted = applications.post(f"/v1/applications/{app['id']}/submit", headers=APPLICANT)
    assert submitted.status_code == 200, submitted.text

    async def logged() -> list[dict[str, Any]] | None:
        page = monitoring.get(f"/v1/cases/{app['id']}/events", headers=PM).json()
        types = [e["event_type"] for e in page["items"]]
        return page["items"] if "approval.requested" in types else None

    events = await eventually(logged, what="the submission in monitoring's process log")
    assert [e["event_type"] for e in events][:2] == ["application.submitted", "approval.requested"]
    assert {e["stage"] for e in events[:2]} == {"application"}
    assert events[0]["actor"] == "alice" and events[0]["source"] == "applications"

    first = monitoring.get(f"/v1/cases/{app['id']}/events", headers=PM, params={"limit": 1})
    rest = monitoring.get(
        f"/v1/cases/{app['id']}/events",
        headers=PM,
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
    )
    assert rest.json()["items"][0]["event_id"] == events[1]["event_id"]


async def test_a_malformed_event_is_dead_lettered_and_the_partition_moves_on(
    monitoring: httpx.Client, infra: Infra
) -> None:
    case_id, topic = uuid.uuid4(), "guakao.applications.v1"
    await publish_raw(infra.cfg.kafka_bootstrap, topic, b"\x00not json", key=str(case_id))
    good = envelope(
        "application.withdrawn",
        {"application_id": str(case_id), "reason": "no longer needed"},
        case_id=case_id,
    )
    await publish_raw(infra.cfg.kafka_bootstrap, topic, good, key=str(case_id))

    dead = await read_topic(
        infra.cfg.kafka_bootstrap,
        "guakao.monitoring.dlq",
        match=lambda r: r.key == str(case_id).encode(),
    )
    assert dict(dead.headers)["dlq.consumer"] == b"monitoring.process-log"
    assert dict(dead.headers)["dlq.error"].startswith(b"malformed envelope")

    async def logged() -> list[Any] | None:
        return monitoring.get(f"/v1/cases/{case_id}/events", headers=PM).json()["items"] or None

    [event] = await eventually(logged, what="the good event after the bad one")
    assert event["event_type"] == "application.withdrawn"
