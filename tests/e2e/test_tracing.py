"""One business action is one trace: HTTP submit -> outbox relay publish -> approvals consumer."""

from __future__ import annotations

import secrets

import httpx

from guakao_devtools.testing import OtlpReceiver, eventually
from tests.e2e.support import APPLICANT, task_for

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP SpanKind values


async def test_submit_relay_and_consumer_share_one_trace(
    applications: httpx.Client, approvals: httpx.Client, draft, otlp: OtlpReceiver
) -> None:
    app = draft()
    trace_id = secrets.token_hex(16)
    caller_span = secrets.token_hex(8)
    response = applications.post(
        f"/v1/applications/{app['id']}/submit",
        headers={**APPLICANT, "traceparent": f"00-{trace_id}-{caller_span}-01"},
    )
    assert response.status_code == 200, response.text
    await task_for(approvals, app["id"])

    def spans_of(kind: int, service: str) -> list:
        return [s for s in otlp.trace(trace_id) if s.kind == kind and s.service == service]

    async def complete() -> bool:
        return bool(spans_of(SERVER, "applications") and spans_of(PRODUCER, "applications")
                    and spans_of(CONSUMER, "approvals"))

    await eventually(complete, timeout=30, what="the submit trace to reach the OTLP receiver")

    http = next(s for s in spans_of(SERVER, "applications") if s.parent_span_id == caller_span)
    publishes = [s for s in spans_of(PRODUCER, "applications")
                 if s.name.startswith("guakao.applications.v1")]
    assert publishes and all(p.parent_span_id == http.span_id for p in publishes)
    event_types = {p.attributes["guakao.event_type"]["stringValue"] for p in publishes}
    assert event_types == {"application.submitted", "approval.requested"}
    consumers = spans_of(CONSUMER, "approvals")
    publish_ids = {p.span_id for p in publishes}
    assert any(c.parent_span_id in publish_ids or
               any(span in publish_ids for _, span in c.links) for c in consumers)
    assert all(c.trace_id == trace_id for c in consumers)
