"""Idempotent Kafka consumers.

Each message is handled in one database transaction that also records its `event_id` in the
inbox table: a redelivered event finds its id there and is skipped. The offset is committed
(manual ack) only after that transaction commits. A message that cannot be parsed, or whose
handler keeps failing after bounded retries with backoff, goes to the service's dead-letter
topic with the error, and the consumer moves on. Infrastructure failures (database down) are
not the message's fault: they are retried until the infrastructure is back, never dead-lettered.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from guakao_shared.db import inbox
from guakao_shared.events import Envelope, EventData
from guakao_shared.metrics import EVENTS_CONSUMED
from guakao_shared.refusals import PermanentError
from guakao_shared.telemetry import set_business_attributes
from guakao_shared.topology import dead_letter_topic
from guakao_shared.uow import SqlAlchemyUnitOfWork

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)


# A dead letter must always leave the partition: one that does not fit in Kafka with its error
# headers is dead-lettered as a truncated copy of this many bytes, marked as such.
TRUNCATED_BYTES = 64 * 1024
TOO_LARGE: tuple[type[BaseException], ...] = (MessageSizeTooLargeError, RecordTooLargeError)
# Set by the parser on a record whose headers are not all UTF-8 strings (null or binary).
INVALID_HEADERS = "guakao.invalid-headers"

U = TypeVar("U", bound=SqlAlchemyUnitOfWork)
E = TypeVar("E", bound=EventData)
Handler = Callable[[Envelope, E, U], Awaitable[None]]


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT_ERRORS)


class InboxConsumer(Generic[U]):
    """Dispatches envelopes by event class to handlers `(envelope, payload, uow)`; ignores the
    rest. Register with `consumer.on(ApprovalGranted, handler)`: mypy checks the payload type."""

    def __init__(
        self,
        *,
        service: str,
        name: str,
        uow_factory: Callable[[], U],
        broker: KafkaBroker,
        max_attempts: int = 3,
        retry_backoff_s: float = 0.2,
    ) -> None:
        self.service, self.name = service, name
        self._uow_factory = uow_factory
        self._handlers: dict[str, Handler[Any, U]] = {}
        self._broker = broker
        self._max_attempts = max_attempts
        self._backoff = retry_backoff_s

    def on(self, event: type[E], handler: Handler[E, U]) -> InboxConsumer[U]:
        """Handle every `event` (by its event type) with `handler`."""
        if event.event_type in self._handlers:
            raise ValueError(f"{self.name}: {event.event_type} already has a handler")
        self._handlers[event.event_type] = handler
        return self

    def subscribe(self, *topics: str) -> None:
        """Register on the broker: one consumer group per (service, consumer), manual commits."""
        subscriber = self._broker.subscriber(
            *topics,
            group_id=f"{self.service}.{self.name}",
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            parser=_tolerant_headers,
            decoder=_raw_bytes,
        )
        subscriber(self.on_message)

    async def on_message(self, msg: KafkaMessage) -> None:
        try:
            outcome = await self.process(msg.body, dict(msg.headers), _origin(msg))
        except BaseException:
            # Not handled (e.g. the dead-letter publish failed: Kafka is down). Seek back so it
            # is delivered again: left un-acked, a later message's commit would skip it.
            await asyncio.sleep(self._backoff)
            await msg.nack()
            raise
        EVENTS_CONSUMED.labels(self.service, self.name, outcome).inc()
        await msg.ack()

    async def process(
        self, body: bytes, headers: Mapping[str, str], origin: Mapping[str, Any]
    ) -> str:
        """Handle one message; return the outcome. Raises only while infrastructure is down."""
        if INVALID_HEADERS in headers:
            error = f"header(s) {headers[INVALID_HEADERS]} are not UTF-8 text (null or binary)"
            await self._dead_letter(body, headers, origin, error)
            return "dead_lettered"
        try:
            envelope = Envelope.model_validate_json(body)
        except ValidationError as exc:
            await self._dead_letter(body, headers, origin, f"malformed envelope: {exc}")
            return "dead_lettered"
        set_business_attributes(case_id=envelope.case_id, event_type=envelope.event_type)
        handler = self._handlers.get(envelope.event_type)
        if handler is None:
            return "ignored"  # tolerant reader: not ours, or not a type we know
        try:
            payload = envelope.payload()
        except ValidationError as exc:
            await self._dead_letter(body, headers, origin, f"invalid {envelope.event_type}: {exc}")
            return "dead_lettered"
        if payload is None:
            log.warning(
                "skipping %s v%s: unknown schema version",
                envelope.event_type,
                envelope.schema_version,
            )
            return "ignored"
        failures = outages = 0  # an outage is not the message's fault: counted apart
        while True:
            try:
                return await self._apply(envelope, payload, handler)
            except Exception as exc:
                if _is_transient(exc):
                    outages += 1
                    delay = min(self._backoff * 2 ** min(outages, 8), 30.0)
                    log.warning(
                        "infrastructure failure on %s (%d), retrying in %.1fs: %s",
                        envelope.event_id,
                        outages,
                        delay,
                        exc,
                    )
                    await asyncio.sleep(delay)
                    continue
                failures += 1
                if isinstance(exc, PermanentError) or failures >= self._max_attempts:
                    log.exception(
                        "giving up on event %s after %d attempt(s)", envelope.event_id, failures
                    )
                    await self._dead_letter(
                        body, headers, origin, f"{type(exc).__name__}: {exc}", attempts=failures
                    )
                    return "dead_lettered"
                await asyncio.sleep(self._backoff * 2 ** (failures - 1))

    async def _apply(self, envelope: Envelope, payload: EventData, handler: Handler[Any, U]) -> str:
        async with self._uow_factory() as uow:
            claimed = await uow.session.execute(
                insert(inbox)
                .values(
                    consumer=self.name, event_id=envelope.event_id, event_type=envelope.event_type
                )
                .on_conflict_do_nothing()
                .returning(inbox.c.event_id)
            )
            if claimed.first() is None:
                return "duplicate"
            await handler(envelope, payload, uow)
            await uow.commit()
        return "applied"

    async def _dead_letter(
        self,
        body: bytes,
        headers: Mapping[str, str],
        origin: Mapping[str, Any],
        error: str,
        *,
        attempts: int = 1,
    ) -> None:
        kept = {"traceparent", "tracestate", "dlq.replayed-from", "dlq.replayed-by"}
        dl_headers = {  # trace and provenance; binary headers travel base64-encoded
            k: v for k, v in headers.items() if k in kept or k.endswith(".b64")
        }
        dl_headers.update(
            {
                "dlq.error": error[:2000],
                "dlq.consumer": f"{self.service}.{self.name}",
                "dlq.attempts": str(attempts),
                "dlq.id": str(uuid.uuid4()),
                **{f"dlq.origin.{k}": str(v) for k, v in origin.items()},
            }
        )
        log.error("dead-lettering message from %s: %s", dict(origin), error[:500])
        key = str(origin["key"]).encode() if origin.get("key") else None
        try:
            await self._broker.publish(
                body, topic=dead_letter_topic(self.service), key=key, headers=dl_headers
            )
        except TOO_LARGE:
            # With its error headers it no longer fits: keep where it came from, its size and
            # its beginning, so the partition moves on and the original can still be found.
            log.error("dead letter of %d bytes is too large; sending a truncated copy", len(body))
            dl_headers.update({"dlq.truncated": "true", "dlq.original-size": str(len(body))})
            await self._broker.publish(
                body[:TRUNCATED_BYTES],
                topic=dead_letter_topic(self.service),
                key=key,
                headers=dl_headers,
            )


async def _tolerant_headers(record: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream decodes every header value as UTF-8 and fails on a null or binary one, so
    such a record would never reach us to be dead-lettered. Carry those values base64-encoded
    (`<name>.b64`) and mark the record, so `process` dead-letters it."""
    clean: list[tuple[str, bytes]] = []
    invalid: list[str] = []
    for name, value in record.headers or ():
        if isinstance(value, bytes) and _is_utf8(value):
            clean.append((name, value))
            continue
        invalid.append(name)
        if value is not None:
            clean.append((f"{name}.b64", base64.b64encode(value)))
    if invalid:
        clean.append((INVALID_HEADERS, ",".join(invalid).encode(errors="replace")))
        record = dataclasses.replace(record, headers=tuple(clean))
    return await original(record)


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


def _raw_bytes(msg: Any) -> Any:
    """Never let FastStream JSON-decode: a malformed body must reach us to be dead-lettered."""
    return msg.body


def _origin(msg: KafkaMessage) -> dict[str, Any]:
    rec = msg.raw_message
    key = getattr(rec, "key", None)
    return {
        "topic": getattr(rec, "topic", ""),
        "partition": getattr(rec, "partition", ""),
        "offset": getattr(rec, "offset", ""),
        "key": key.decode(errors="replace") if isinstance(key, bytes) else "",
    }
