"""Records no consumer can handle as they are must still leave their partition, on every
consuming service: one just under the broker's size limit (its dead letter, with the error
headers, no longer fits) and one whose headers are null or not UTF-8."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from guakao_devtools.infra import Infra
from guakao_devtools.services import ServiceProcess
from guakao_devtools.testing import envelope, eventually, read_topic

pytestmark = pytest.mark.infra

# Kafka's default limits: the broker's message.max.bytes (1048588) and the producer's
# max.request.size (1048576). This value fits on its own, not with a dead letter's headers.
JUST_UNDER_THE_LIMIT = 1_048_576 - 600

# Who consumes which topic (each consumer group is `<service>.<consumer>`).
CONSUMERS = {
    "guakao.applications.v1": {
        "approvals.approval-requests",
        "contracts.plans",
        "monitoring.process-log",
    },
    "guakao.approvals.v1": {
        "applications.approval-outcomes",
        "contracts.approval-outcomes",
        "archive.disposition-outcomes",
        "monitoring.process-log",
    },
    "guakao.contracts.v1": {
        "approvals.approval-requests",
        "archive.filing",
        "monitoring.process-log",
    },
    "guakao.archive.v1": {
        "approvals.approval-requests",
        "contracts.filing-answers",
        "monitoring.process-log",
    },
}


async def _send(bootstrap: str, topic: str, value: bytes, key: str, **kw: Any) -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value, key=key.encode(), **kw)
    finally:
        await producer.stop()
    return meta.partition, meta.offset


async def _committed(bootstrap: str, group: str, tp: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=[tp])
    finally:
        await admin.close()
    found = offsets.get(tp)
    return found.offset if found is not None else -1


async def _every_consumer_moves_past(
    bootstrap: str, topic: str, partition: int, offset: int
) -> None:
    tp = TopicPartition(topic, partition)
    for group in sorted(CONSUMERS[topic]):

        async def past(group: str = group) -> bool:
            return await _committed(bootstrap, group, tp) > offset

        await eventually(past, timeout=60, what=f"{group} to commit past {topic}:{offset}")


@pytest.mark.parametrize("topic", sorted(CONSUMERS))
async def test_a_record_just_under_the_size_limit_does_not_wedge_its_partition(
    topic: str, infra: Infra, services: dict[str, ServiceProcess]
) -> None:
    bootstrap, key = infra.cfg.kafka_bootstrap, str(uuid.uuid4())
    huge = b"{" + b"x" * JUST_UNDER_THE_LIMIT  # malformed, so every consumer dead-letters it
    partition, huge_at = await _send(bootstrap, topic, huge, key)
    sentinel = envelope("guakao.test.sentinel", {}, case_id=uuid.UUID(key))
    _, sentinel_at = await _send(bootstrap, topic, sentinel, key)
    assert sentinel_at > huge_at

    await _every_consumer_moves_past(bootstrap, topic, partition, sentinel_at)
    for group in CONSUMERS[topic]:
        service = group.split(".")[0]

        def parked_by(record: Any, group: str = group) -> bool:
            headers = dict(record.headers)
            return bool(
                headers.get("dlq.origin.offset") == str(huge_at).encode()
                and headers.get("dlq.origin.partition") == str(partition).encode()
                and headers.get("dlq.consumer") == group.encode()
                and headers.get("dlq.origin.topic") == topic.encode()
            )

        dead = await read_topic(bootstrap, f"guakao.{service}.dlq", match=parked_by)
        headers = dict(dead.headers)
        assert headers["dlq.truncated"] == b"true"
        assert headers["dlq.original-size"] == str(len(huge)).encode()
        assert huge.startswith(dead.value)


@pytest.mark.parametrize("value", [None, b"\xff\xfe"], ids=["null", "binary"])
async def test_a_record_with_a_null_or_binary_header_is_dead_lettered_and_passed(
    value: bytes | None, infra: Infra, services: dict[str, ServiceProcess]
) -> None:
    bootstrap, topic, key = infra.cfg.kafka_bootstrap, "guakao.approvals.v1", str(uuid.uuid4())
    odd = envelope("guakao.test.sentinel", {}, case_id=uuid.UUID(key))
    partition, odd_at = await _send(bootstrap, topic, odd, key, headers=[("x-odd", value)])

    await _every_consumer_moves_past(bootstrap, topic, partition, odd_at)
    dead = await read_topic(
        bootstrap,
        "guakao.applications.dlq",
        match=lambda r: (
            dict(r.headers).get("dlq.origin.offset") == str(odd_at).encode()
            and dict(r.headers).get("dlq.origin.partition") == str(partition).encode()
            and dict(r.headers).get("dlq.origin.topic") == topic.encode()
        ),
    )
    assert b"x-odd" in dict(dead.headers)["dlq.error"]
    assert dead.value == odd
