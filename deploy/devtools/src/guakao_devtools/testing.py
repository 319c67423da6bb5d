"""Test support for the real-infrastructure suites: a service's runtime in the test process, an
OTLP trace receiver, Kafka and database probes, and polling with a deadline (never a fixed
sleep).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar

from guakao_devtools.infra import Infra

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from guakao_shared.runtime import ServiceRuntime

T = TypeVar("T")


# ---- a service in the test process -------------------------------------------------------------


@dataclass(frozen=True)
class InProcessService:
    """A service built by its own `create_app` from its own `Settings`, in the test process:
    its routes through `client` (ASGI, no network, no lifespan), its unit of work, bus, clock,
    consumers and adapters through `runtime`. Nothing runs in the background (no broker, outbox
    relay or periodic job): a test drives consumers (`runtime.consumers`) and jobs itself."""

    name: str
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def runtime(self) -> ServiceRuntime[Any]:
        runtime: ServiceRuntime[Any] = self.app.state.runtime
        return runtime


@asynccontextmanager
async def service_runtime(
    name: str, infra: Infra, **settings: Any
) -> AsyncIterator[InProcessService]:
    """Service `name` (`<name>_svc`) on `infra`, its database migrated, for integration tests:

        @pytest.fixture(scope="session")
        async def archive(infra: Infra) -> AsyncIterator[InProcessService]:
            async with service_runtime("archive", infra, allow_clock_override=True) as service:
                yield service

    `settings` override the service's settings (field names, e.g. `retention_days={...}`)."""
    import httpx

    from guakao_devtools.services import migrate

    migrate(infra, name)
    config = importlib.import_module(f"{name}_svc.config")
    entrypoint = importlib.import_module(f"{name}_svc.entrypoints.app")
    prefix = f"{name.upper()}_"
    values: dict[str, Any] = {
        "environment": "test",
        **{k.removeprefix(prefix).lower(): v for k, v in infra.service_env(name).items()},
        **settings,
    }
    app: FastAPI = entrypoint.create_app(config.Settings(**values))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            yield InProcessService(name, app, client)
    finally:
        await app.state.runtime.engine.dispose()


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 30.0,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def bearer(sub: str, *roles: str, dept: str | None = "it", **claims: Any) -> dict[str, str]:
    """An Authorization header with a development token."""
    from guakao_shared.auth import issue_dev_token

    return {"Authorization": f"Bearer {issue_dev_token(sub, list(roles), dept, **claims)}"}


# ---- an OTLP/HTTP trace receiver -----------------------------------------------------------------


@dataclass
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    service: str
    attributes: dict[str, Any]
    links: list[tuple[str, str]] = field(default_factory=list)


class OtlpReceiver:
    """A minimal OTLP/HTTP (protobuf) endpoint that keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    receiver._ingest(body)
                except Exception as exc:  # keep it visible: a test asserting on spans says why
                    receiver.errors.append(repr(exc))
                    self.send_response(400)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _ingest(self, body: bytes) -> None:
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    spans.append(
                        ReceivedSpan(
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=span.kind,
                            service=attrs.get("service.name", ""),
                            attributes={a.key: MessageToDict(a.value) for a in span.attributes},
                            links=[
                                (link.trace_id.hex(), link.span_id.hex()) for link in span.links
                            ],
                        )
                    )
        with self._lock:
            self.spans.extend(spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def close(self) -> None:
        self._server.shutdown()


# ---- Kafka and database probes -------------------------------------------------------------------


async def read_topic(
    bootstrap: str, topic: str, *, match: Callable[[Any], bool], timeout: float = 30.0
) -> Any:
    """Read `topic` from the beginning until a record matches; fail after `timeout`."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if match(record):
                        return record
        raise AssertionError(f"no matching record on {topic} within {timeout:.0f}s")
    finally:
        await consumer.stop()


async def publish_raw(
    bootstrap: str,
    topic: str,
    value: bytes,
    *,
    key: str,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode(), headers=headers or [])
    finally:
        await producer.stop()


async def query(infra: Infra, database: str, sql: str, *args: Any) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(
        host=infra.cfg.host, port=infra.cfg.pg_port, user="postgres", database=database
    )
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def envelope(
    event_type: str,
    data: dict[str, Any],
    *,
    case_id: uuid.UUID,
    source: str = "applications",
    event_id: uuid.UUID | None = None,
) -> bytes:
    return json.dumps(
        {
            "event_id": str(event_id or uuid.uuid4()),
            "event_type": event_type,
            "schema_version": 1,
            "source": source,
            "case_id": str(case_id),
            "occurred_at": "2026-11-24T00:00:00Z",
            "actor": {"sub": "test-suite"},
            "data": data,
        }
    ).encode()
