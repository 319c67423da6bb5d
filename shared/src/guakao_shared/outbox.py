"""The outbox relay: publishes committed outbox rows to Kafka and marks them sent.

- One active relay per service: it holds a PostgreSQL session advisory lock on a dedicated
  connection; standby replicas retry the lock and take over when that connection goes away.
- Woken on commit by LISTEN/NOTIFY, with polling as the fallback; publishes in batches.
- Idempotent producer with acks=all; rows are marked sent only after Kafka acknowledged them.
  A crash between the two republishes the batch, and consumers' inboxes drop the duplicates.
- Each publish span is a child of the trace stored with the row (the request that committed it),
  and its own context goes out in the Kafka headers, so consumers continue the same trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from guakao_shared.db import OUTBOX_CHANNEL, idempotency_keys, inbox, outbox
from guakao_shared.metrics import OUTBOX_PUBLISHED, OUTBOX_RELAY_ACTIVE

log = logging.getLogger(__name__)
tracer = trace.get_tracer("guakao.outbox")


def advisory_lock_key(service: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, derived from the service name."""
    return int.from_bytes(
        hashlib.sha256(f"outbox:{service}".encode()).digest()[:8], "big", signed=True
    )


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15_000,
    )


@dataclass(frozen=True)
class Retention:
    """How long the messaging tables keep rows (days)."""

    outbox_days: float = 7
    inbox_days: float = 30
    idempotency_days: float = 7


class OutboxRelay:
    # With idempotence on, aiokafka never expires a batch on retriable errors: bound the wait.
    DELIVERY_TIMEOUT_S = 30.0
    PURGE_EVERY_S = 600.0

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        service: str,
        kafka_bootstrap: str,
        poll_interval_s: float = 1.0,
        batch_size: int = 500,
        retention: Retention | None = None,
    ) -> None:
        self._engine = engine
        self._service = service
        self._bootstrap = kafka_bootstrap
        self._poll_interval = poll_interval_s
        self._batch_size = batch_size
        self._retention = retention or Retention()
        self._next_purge = 0.0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.active = False

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Run until `stop()`: hold the lock, publish, survive database and Kafka outages."""
        backoff = self._poll_interval
        while not self._stopping.is_set():
            try:
                async with self._engine.connect() as lock_conn:
                    if await self._try_lock(lock_conn):
                        backoff = self._poll_interval
                        await self._lead(lock_conn)
                    else:
                        await self._sleep(self._poll_interval)  # standby: another replica leads
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "outbox relay for %s failed; retrying in %.1fs", self._service, backoff
                )
                self.active = False
                OUTBOX_RELAY_ACTIVE.labels(self._service).set(0)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _try_lock(self, conn: AsyncConnection) -> bool:
        key = advisory_lock_key(self._service)
        got = (await conn.execute(select(func.pg_try_advisory_lock(key)))).scalar_one()
        await conn.commit()
        return bool(got)

    async def _lead(self, lock_conn: AsyncConnection) -> None:
        raw = await lock_conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None

        def on_notify(*_: Any) -> None:
            self._wake.set()

        await driver.add_listener(OUTBOX_CHANNEL, on_notify)
        producer = make_producer(self._bootstrap, f"{self._service}-outbox-relay")
        try:
            await producer.start()
            self.active = True
            OUTBOX_RELAY_ACTIVE.labels(self._service).set(1)
            log.info("outbox relay for %s is active", self._service)
            while not self._stopping.is_set():
                self._wake.clear()
                published = await self.publish_batch(producer)
                if published >= self._batch_size:
                    continue  # more is waiting: keep draining
                if time.monotonic() >= self._next_purge:
                    await self.purge()
                    self._next_purge = time.monotonic() + self.PURGE_EVERY_S
                if driver.is_closed():
                    raise ConnectionError("lock connection lost")
                await self._sleep(self._poll_interval)
        finally:
            self.active = False
            OUTBOX_RELAY_ACTIVE.labels(self._service).set(0)
            with contextlib.suppress(Exception):
                await driver.remove_listener(OUTBOX_CHANNEL, on_notify)
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def purge(self) -> dict[str, int]:
        """Delete published outbox rows, inbox ids and idempotency keys past their retention."""
        r = self._retention
        async with self._engine.begin() as conn:
            counts = {}
            for name, table, column, keep in (
                ("outbox", outbox, outbox.c.published_at, r.outbox_days),
                ("inbox", inbox, inbox.c.received_at, r.inbox_days),
                (
                    "idempotency_keys",
                    idempotency_keys,
                    idempotency_keys.c.created_at,
                    r.idempotency_days,
                ),
            ):
                cutoff = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, keep * 86400)
                result = await conn.execute(delete(table).where(column < cutoff))
                counts[name] = result.rowcount or 0
        if any(counts.values()):
            log.info("purged old messaging rows for %s: %s", self._service, counts)
        return counts

    async def publish_batch(self, producer: AIOKafkaProducer) -> int:
        """Publish up to one batch of unpublished rows in commit order; return how many."""
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(outbox)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            spans, deliveries = [], []
            try:
                for row in rows:
                    parent = propagate.extract(row.headers or {})
                    span = tracer.start_span(
                        f"{row.topic} publish",
                        context=parent,
                        kind=SpanKind.PRODUCER,
                        attributes={
                            "messaging.system": "kafka",
                            "messaging.destination.name": row.topic,
                            "messaging.message.id": str(row.event_id),
                            "guakao.event_type": row.event_type,
                            "guakao.case_id": row.key,
                        },
                    )
                    spans.append(span)
                    carrier: dict[str, str] = {}
                    propagate.inject(carrier, context=trace.set_span_in_context(span))
                    headers = [(k, v.encode()) for k, v in carrier.items()]
                    headers.append(("event_type", row.event_type.encode()))
                    deliveries.append(
                        await producer.send(
                            row.topic,
                            value=json.dumps(row.payload, separators=(",", ":")).encode(),
                            key=row.key.encode(),
                            headers=headers,
                        )
                    )
                await asyncio.wait_for(asyncio.gather(*deliveries), timeout=self.DELIVERY_TIMEOUT_S)
            except BaseException as exc:
                for span in spans:
                    span.record_exception(exc)
                    span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
                raise
            finally:
                for span in spans:
                    span.end()
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(published_at=func.now())
            )
        OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)
