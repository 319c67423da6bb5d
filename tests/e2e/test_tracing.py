"""One business action is one trace: HTTP submit -> outbox relay publish -> approvals consumer."""

from __future__ import annotations

import secrets

import httpx
import pytest

from guakao_devtools.services import ServiceProcess
from guakao_devtools.testing import OtlpReceiver, ReceivedSpan, eventually
from tests.e2e.support import APPLICANT, Draft, task_for

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP SpanKind values


@pytest.fixture(autouse=True)
def _the_test_sets_traceparent_itself() -> None:
    """An in-process app test elsewhere may have instrumented httpx in this process; that
    would replace the traceparent these tests send with a client span of its own."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


async def test_submit_relay_and_consumer_share_one_trace(
    applications: httpx.Client, approvals: httpx.Client, draft: Draft, otlp: OtlpReceiver
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

    def spans_of(kind: int, service: str) -> list[ReceivedSpan]:
        return [s for s in otlp.trace(trace_id) if s.kind == kind and s.service == service]

    async def complete() -> bool:
        return bool(
            spans_of(SERVER, "applications")
            and spans_of(PRODUCER, "applications")
            and spans_of(CONSUMER, "approvals")
        )

    try:
        await eventually(complete, timeout=30, what="the submit trace to reach the OTLP receiver")
    except AssertionError as exc:
        seen = sorted({(s.service, s.kind, s.name) for s in otlp.trace(trace_id)})
        recent = [
            (s.service, s.name, s.trace_id[:8], s.parent_span_id)
            for s in otlp.spans
            if s.kind == SERVER
        ][-5:]
        raise AssertionError(
            f"{exc}; spans seen: {seen}; receiver errors: {otlp.errors[:3]}; "
            f"{len(otlp.spans)} spans in all; recent server spans: {recent}"
        ) from None

    http = next(s for s in spans_of(SERVER, "applications") if s.parent_span_id == caller_span)
    publishes = [
        s for s in spans_of(PRODUCER, "applications") if s.name.startswith("guakao.applications.v1")
    ]
    assert publishes and all(p.parent_span_id == http.span_id for p in publishes)
    event_types = {p.attributes["guakao.event_type"]["stringValue"] for p in publishes}
    assert event_types == {"application.submitted", "approval.requested"}
    consumers = spans_of(CONSUMER, "approvals")
    publish_ids = {p.span_id for p in publishes}
    assert any(
        c.parent_span_id in publish_ids or any(span in publish_ids for _, span in c.links)
        for c in consumers
    )
    assert all(c.trace_id == trace_id for c in consumers)


async def test_a_large_upload_does_not_leak_its_trace_into_the_next_request(
    services: dict[str, ServiceProcess], draft: Draft, otlp: OtlpReceiver
) -> None:
    app = draft()
    with httpx.Client(base_url=services["applications"].url) as client:  # one keep-alive connection
        big = client.post(
            f"/v1/applications/{app['id']}/documents",
            headers=APPLICANT,
            data={"document_type": "annex"},
            files={"file": ("big.txt", b"x" * 70_000, "text/plain")},
        )
        assert big.status_code == 413
        trace_id = secrets.token_hex(16)
        follow_up = client.get(
            f"/v1/applications/{app['id']}",
            headers={**APPLICANT, "traceparent": f"00-{trace_id}-{'1' * 16}-01"},
        )
        assert follow_up.status_code == 200

    async def server_span() -> bool:
        return any(s.kind == SERVER and s.parent_span_id == "1" * 16 for s in otlp.trace(trace_id))

    await eventually(server_span, timeout=30, what="the follow-up request's own server span")
