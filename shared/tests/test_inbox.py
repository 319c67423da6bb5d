"""The idempotent consumer, driven with fakes (no Kafka, no database): each event is applied
once, unknown events are skipped, and poison messages go to the service's dead-letter topic
after bounded retries, while infrastructure failures are retried and never dead-lettered."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import ConsumerRecord

from guakao_shared.events import Actor, ApprovalGranted, Envelope, EventData
from guakao_shared.inbox import TRUNCATED_BYTES, InboxConsumer, _tolerant_headers
from guakao_shared.refusals import PermanentError

SERVICE = "applications"
CONSUMER = "approval-outcomes"
DLQ = f"guakao.{SERVICE}.dlq"
ORIGIN = {"topic": "guakao.approvals.v1", "partition": 2, "offset": 41, "key": "case-7"}


# ---- fakes -----------------------------------------------------------------------------


class _Result:
    def __init__(self, row: Any) -> None:
        self._row = row

    def first(self) -> Any:
        return self._row


@dataclass
class FakeInboxTable:
    """What the inbox table holds: (consumer, event_id) pairs of committed transactions."""

    committed: set[tuple[str, uuid.UUID]] = field(default_factory=set)


class FakeSession:
    """Answers the inbox claim like INSERT .. ON CONFLICT DO NOTHING RETURNING event_id."""

    def __init__(self, table: FakeInboxTable) -> None:
        self._table = table
        self.pending: set[tuple[str, uuid.UUID]] = set()

    async def execute(self, statement: Any) -> _Result:
        assert statement.table.name == "inbox", "the consumer only writes the inbox here"
        params = statement.compile().params
        row_key = (params["consumer"], params["event_id"])
        if row_key in self._table.committed or row_key in self.pending:
            return _Result(None)
        self.pending.add(row_key)
        return _Result((params["event_id"],))


class FakeUnitOfWork:
    def __init__(self, table: FakeInboxTable) -> None:
        self._table = table
        self.committed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        self.session = FakeSession(self._table)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.session.pending.clear()  # rolled back unless committed

    async def commit(self) -> None:
        self._table.committed |= self.session.pending
        self.session.pending.clear()
        self.committed = True


@dataclass
class Published:
    body: bytes
    topic: str
    key: bytes | None
    headers: dict[str, str]


@dataclass
class FakeBroker:
    published: list[Published] = field(default_factory=list)

    async def publish(
        self, body: bytes, *, topic: str, key: bytes | None, headers: dict[str, str]
    ) -> None:
        self.published.append(Published(body, topic, key, headers))


@dataclass
class RecordingHandler:
    """A handler that fails with the queued exceptions first, then succeeds."""

    failures: list[BaseException] = field(default_factory=list)
    calls: list[EventData] = field(default_factory=list)

    async def __call__(self, envelope: Envelope, payload: EventData, uow: Any) -> None:
        self.calls.append(payload)
        if self.failures:
            raise self.failures.pop(0)


def _always(exc_factory: Callable[[], BaseException], times: int = 100) -> list[BaseException]:
    return [exc_factory() for _ in range(times)]


@dataclass
class Harness:
    consumer: InboxConsumer[Any]
    broker: FakeBroker
    handler: RecordingHandler
    table: FakeInboxTable


def _harness(handler: RecordingHandler | None = None, max_attempts: int = 3) -> Harness:
    table, broker = FakeInboxTable(), FakeBroker()
    handler = handler or RecordingHandler()
    # Any: the fake unit of work has only what the inbox touches (a session that claims rows).
    consumer = InboxConsumer[Any](
        service=SERVICE,
        name=CONSUMER,
        uow_factory=lambda: FakeUnitOfWork(table),
        broker=broker,  # type: ignore[arg-type]
        max_attempts=max_attempts,
        retry_backoff_s=0,
    ).on(ApprovalGranted, handler)
    return Harness(consumer, broker, handler, table)


def _granted() -> bytes:
    envelope = Envelope.wrap(
        ApprovalGranted(
            request_id=uuid.uuid4(),
            approval_case_id=uuid.uuid4(),
            subject_type="application",
            subject_id=uuid.uuid4(),
            decided_by="rita",
        ),
        source="approvals",
        case_id=uuid.uuid4(),
        actor=Actor(sub="rita", roles=["reviewer"]),
    )
    return envelope.model_dump_json().encode()


def _envelope_bytes(event_type: str, schema_version: int, data: dict[str, Any]) -> bytes:
    return (
        Envelope(
            event_type=event_type,
            schema_version=schema_version,
            source="approvals",
            case_id=uuid.uuid4(),
            actor=Actor(sub="rita"),
            data=data,
        )
        .model_dump_json()
        .encode()
    )


async def _process(harness: Harness, body: bytes, headers: dict[str, str] | None = None) -> str:
    return await harness.consumer.process(body, headers or {}, ORIGIN)


# ---- applying --------------------------------------------------------------------------


async def test_a_known_event_is_applied_once_and_committed() -> None:
    harness = _harness()

    outcome = await _process(harness, _granted())

    assert outcome == "applied"
    assert len(harness.handler.calls) == 1
    assert isinstance(harness.handler.calls[0], ApprovalGranted)
    assert len(harness.table.committed) == 1
    assert harness.broker.published == []


async def test_a_redelivered_event_is_skipped_as_a_duplicate() -> None:
    harness = _harness()
    body = _granted()
    await _process(harness, body)

    outcome = await _process(harness, body)

    assert outcome == "duplicate"
    assert len(harness.handler.calls) == 1


# ---- skipping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "schema_version"),
    [("contract.signed", 1), ("approval.requested", 1), ("approval.granted", 2)],
    ids=["unknown-type", "type-without-handler", "unknown-version"],
)
async def test_events_this_consumer_does_not_know_are_ignored(
    event_type: str, schema_version: int
) -> None:
    harness = _harness()

    outcome = await _process(harness, _envelope_bytes(event_type, schema_version, {"x": 1}))

    assert outcome == "ignored"
    assert harness.handler.calls == []
    assert harness.broker.published == []


# ---- dead-lettering --------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", b'{"event_type": "approval.granted"}', b"\xff\xfe", b""],
    ids=["not-json", "empty-object", "missing-fields", "not-utf8", "empty"],
)
async def test_a_malformed_message_goes_straight_to_the_dead_letter_topic(body: bytes) -> None:
    harness = _harness()

    outcome = await _process(harness, body)

    assert outcome == "dead_lettered"
    assert harness.handler.calls == []
    (dead,) = harness.broker.published
    assert dead.topic == DLQ
    assert dead.body == body
    assert dead.headers["dlq.error"].startswith("malformed envelope")


async def test_a_known_event_with_an_invalid_payload_is_dead_lettered_unhandled() -> None:
    harness = _harness()

    outcome = await _process(
        harness, _envelope_bytes("approval.granted", 1, {"decided_by": "rita"})
    )

    assert outcome == "dead_lettered"
    assert harness.handler.calls == []
    (dead,) = harness.broker.published
    assert dead.headers["dlq.error"].startswith("invalid approval.granted")


@pytest.mark.parametrize("max_attempts", [1, 3, 5])
async def test_a_handler_that_keeps_failing_is_tried_max_attempts_times_then_dead_lettered(
    max_attempts: int,
) -> None:
    handler = RecordingHandler(failures=_always(lambda: ValueError("amount is off")))
    harness = _harness(handler, max_attempts=max_attempts)

    outcome = await _process(harness, _granted())

    assert outcome == "dead_lettered"
    assert len(handler.calls) == max_attempts
    (dead,) = harness.broker.published
    assert dead.topic == DLQ
    assert dead.headers["dlq.attempts"] == str(max_attempts)
    assert dead.headers["dlq.error"] == "ValueError: amount is off"
    assert harness.table.committed == set()


async def test_a_permanent_error_is_dead_lettered_after_one_attempt() -> None:
    handler = RecordingHandler(failures=_always(lambda: PermanentError("no such policy")))
    harness = _harness(handler, max_attempts=5)

    outcome = await _process(harness, _granted())

    assert outcome == "dead_lettered"
    assert len(handler.calls) == 1
    (dead,) = harness.broker.published
    assert dead.headers["dlq.attempts"] == "1"
    assert dead.headers["dlq.error"] == "PermanentError: no such policy"


async def test_a_handler_that_fails_then_succeeds_within_the_budget_is_applied() -> None:
    handler = RecordingHandler(failures=[ValueError("flaky"), ValueError("flaky")])
    harness = _harness(handler, max_attempts=3)

    outcome = await _process(harness, _granted())

    assert outcome == "applied"
    assert len(handler.calls) == 3
    assert harness.broker.published == []


@pytest.mark.parametrize(
    "transient",
    [lambda: ConnectionError("db down"), lambda: TimeoutError("db slow")],
    ids=["connection", "timeout"],
)
async def test_infrastructure_failures_are_retried_and_never_dead_lettered(
    transient: Callable[[], BaseException],
) -> None:
    handler = RecordingHandler(failures=[transient(), transient()])
    harness = _harness(handler, max_attempts=1)

    outcome = await _process(harness, _granted())

    assert outcome == "applied"
    assert len(handler.calls) == 3
    assert harness.broker.published == []


async def test_a_long_infrastructure_outage_outlasts_the_retry_budget() -> None:
    handler = RecordingHandler(failures=_always(lambda: ConnectionError("db down"), times=10))
    harness = _harness(handler, max_attempts=3)

    outcome = await _process(harness, _granted())

    assert outcome == "applied"
    assert len(handler.calls) == 11
    assert harness.broker.published == []


async def test_an_outage_does_not_use_up_the_message_s_own_retries() -> None:
    handler = RecordingHandler(
        failures=[ConnectionError("db down"), ConnectionError("db down"), ValueError("flaky")]
    )
    harness = _harness(handler, max_attempts=2)

    outcome = await _process(harness, _granted())

    assert outcome == "applied"
    assert harness.broker.published == []


async def test_a_failed_attempt_is_rolled_back_so_the_retry_can_claim_the_event() -> None:
    handler = RecordingHandler(failures=[ValueError("flaky")])
    harness = _harness(handler, max_attempts=2)

    outcome = await _process(harness, _granted())

    assert outcome == "applied"  # not "duplicate": the first claim did not survive the failure
    assert len(harness.table.committed) == 1


# ---- what a dead letter carries --------------------------------------------------------


async def test_a_dead_letter_keeps_the_trace_and_where_the_message_came_from() -> None:
    harness = _harness()
    headers = {"traceparent": "00-abc-def-01", "tracestate": "k=v", "authorization": "secret"}

    await _process(harness, b"not json", headers)

    (dead,) = harness.broker.published
    assert dead.key == b"case-7"
    assert dead.headers["traceparent"] == "00-abc-def-01"
    assert dead.headers["tracestate"] == "k=v"
    assert "authorization" not in dead.headers
    assert dead.headers["dlq.consumer"] == f"{SERVICE}.{CONSUMER}"
    assert dead.headers["dlq.origin.topic"] == "guakao.approvals.v1"
    assert dead.headers["dlq.origin.partition"] == "2"
    assert dead.headers["dlq.origin.offset"] == "41"


async def test_each_dead_letter_gets_its_own_id() -> None:
    harness = _harness()

    await _process(harness, b"not json")
    await _process(harness, b"not json")

    first, second = harness.broker.published
    assert first.headers["dlq.id"] != second.headers["dlq.id"]


@dataclass
class FakeMessage:
    """What on_message needs of a FastStream Kafka message: body, headers, ack and nack."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    raw_message: Any = None
    acked: int = 0
    nacked: int = 0

    async def ack(self) -> None:
        self.acked += 1

    async def nack(self) -> None:
        self.nacked += 1


async def test_a_handled_message_is_acked_after_its_transaction() -> None:
    harness = _harness()
    msg = FakeMessage(_granted())
    await harness.consumer.on_message(msg)  # type: ignore[arg-type]
    assert (msg.acked, msg.nacked) == (1, 0)


async def test_a_message_that_could_not_be_handled_is_sought_back_never_skipped() -> None:
    class DownBroker(FakeBroker):
        async def publish(self, body: bytes, **kw: Any) -> None:
            raise ConnectionError("kafka is down")

    harness = _harness()
    harness.consumer._broker = DownBroker()  # type: ignore[assignment]
    msg = FakeMessage(b"{not json")  # must be dead-lettered, but the dead-letter topic is away
    with pytest.raises(ConnectionError):
        await harness.consumer.on_message(msg)  # type: ignore[arg-type]
    assert (msg.acked, msg.nacked) == (0, 1)


# ---- messages that cannot be dead-lettered as they are ----------------------------------


class SizeLimitedBroker(FakeBroker):
    """Refuses what does not fit, as the producer and the broker do (1 MiB by default)."""

    limit = 1024 * 1024

    async def publish(
        self, body: bytes, *, topic: str, key: bytes | None, headers: dict[str, str]
    ) -> None:
        if len(body) + sum(len(k) + len(v) for k, v in headers.items()) > self.limit:
            raise MessageSizeTooLargeError()
        await super().publish(body, topic=topic, key=key, headers=headers)


async def test_a_message_too_large_to_dead_letter_whole_leaves_a_truncated_copy() -> None:
    harness = _harness()
    harness.consumer._broker = broker = SizeLimitedBroker()  # type: ignore[assignment]
    body = b"{" + b"x" * (SizeLimitedBroker.limit - 100)  # fits in Kafka, not with dlq headers

    outcome = await _process(harness, body)

    assert outcome == "dead_lettered"
    (dead,) = broker.published
    assert dead.body == body[:TRUNCATED_BYTES]
    assert dead.headers["dlq.truncated"] == "true"
    assert dead.headers["dlq.original-size"] == str(len(body))
    assert dead.headers["dlq.origin.offset"] == "41"
    assert dead.headers["dlq.error"].startswith("malformed envelope")


@pytest.mark.parametrize("value", [None, b"\xff\xfe not utf-8"], ids=["null", "binary"])
async def test_a_record_with_a_null_or_binary_header_is_dead_lettered_with_it(
    value: bytes | None,
) -> None:
    harness = _harness()
    seen: list[Any] = []

    async def original(record: Any) -> Any:
        seen.append(record)
        return record

    record = ConsumerRecord(
        topic="guakao.approvals.v1",
        partition=2,
        offset=41,
        timestamp=0,
        timestamp_type=0,
        key=b"case-7",
        value=_granted(),
        checksum=None,
        serialized_key_size=6,
        serialized_value_size=1,
        headers=(("traceparent", b"00-abc-def-01"), ("x-odd", value)),
    )
    parsed = await _tolerant_headers(record, original)
    headers = {k: v.decode() for k, v in parsed.headers}

    assert await _process(harness, parsed.value, headers) == "dead_lettered"
    (dead,) = harness.broker.published
    assert "x-odd" in dead.headers["dlq.error"]
    assert ("x-odd.b64" in dead.headers) is (value is not None)
    assert harness.handler.calls == []


async def test_a_record_with_clean_headers_passes_the_parser_untouched() -> None:
    record = ConsumerRecord(
        topic="t",
        partition=0,
        offset=1,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=b"{}",
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=2,
        headers=(("traceparent", b"00-abc-def-01"),),
    )

    async def original(r: Any) -> Any:
        return r

    assert await _tolerant_headers(record, original) is record
