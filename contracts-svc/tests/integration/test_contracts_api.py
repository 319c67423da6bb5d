"""contracts-svc over HTTP on the real infrastructure (the session's services): a plan.approved
published to Kafka is drafted at its budget total and listed as a page; an Idempotency-Key
replays the first answer and is refused for a different body (every field counts)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from contracts_builders import MANDATORY_CLAUSES, plan_approved

from guakao_devtools.infra import Infra
from guakao_devtools.testing import bearer, eventually, publish_raw
from guakao_shared.topology import events_topic

LEGAL = bearer("leo", "legal", dept="legal")


async def drafted_from_a_published_plan(
    contracts: httpx.Client, infra: Infra, *, budget_total: str
) -> dict[str, Any]:
    envelope, plan = plan_approved(budget_total=budget_total)
    await publish_raw(
        infra.cfg.kafka_bootstrap,
        events_topic("applications"),
        envelope.model_dump_json().encode(),
        key=str(plan.application_id),
    )

    async def listed() -> dict[str, Any] | None:
        page = contracts.get(
            "/v1/contracts", headers=LEGAL, params={"application_id": str(plan.application_id)}
        ).json()
        return page if page["items"] else None

    page = await eventually(listed, what="the contract drafted from the published plan")
    assert (page["total"], page["offset"], page["next_cursor"]) == (1, 0, None)
    (contract,) = page["items"]
    return dict(contract)


async def test_a_published_plan_is_drafted_at_its_budget_total_and_listed_as_a_page(
    services: Any, contracts: httpx.Client, infra: Infra
) -> None:
    contract = await drafted_from_a_published_plan(contracts, infra, budget_total="1234567.89")

    assert contract["value"] == "1234567.89" and contract["currency"] == "CNY"
    assert sorted(contract["current_version"]["clauses"]) == sorted(MANDATORY_CLAUSES)
    assert contract["missing_clauses"] == []
    one = contracts.get("/v1/contracts", headers=LEGAL, params={"limit": 1}).json()
    assert len(one["items"]) == 1 and one["limit"] == 1


async def test_a_reused_key_replays_the_first_answer_and_refuses_another_body(
    services: Any, contracts: httpx.Client, infra: Infra
) -> None:
    cid = (await drafted_from_a_published_plan(contracts, infra, budget_total="1000.00"))["id"]
    url = f"/v1/contracts/{cid}/custodian"
    headers = {**LEGAL, "Idempotency-Key": f"custody-{uuid.uuid4()}"}
    body = {"custodian": "carl", "reason": "contracts office"}

    first = contracts.put(url, headers=headers, json=body)
    again = contracts.put(url, headers=headers, json=body)
    # the reason was not part of the fingerprint once: a different reason got the first answer
    other = contracts.put(url, headers=headers, json={**body, "reason": "another office"})

    assert first.status_code == again.status_code == 200, first.text
    assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["detail"]
    custody = contracts.get(f"/v1/contracts/{cid}", headers=LEGAL).json()["custody"]
    assert [c["reason"] for c in custody] == ["contracts office"]
