"""Dead letters: list what a service's consumers parked in `guakao.<service>.dlq`, and replay
one to the topic it came from once the cause is fixed. Replaying is safe: every consumer's
inbox drops an event it already applied, so only the consumer that failed tries it again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from guakao_shared.topology import TOPICS


@dataclass(frozen=True)
class DeadLetter:
    id: str
    consumer: str
    error: str
    attempts: int
    origin_topic: str
    origin_partition: str
    origin_offset: str
    origin_key: str
    dead_lettered_at_ms: int
    body: bytes
    headers: dict[str, str]

    def view(self) -> dict[str, Any]:
        preview = self.body[:2000].decode("utf-8", errors="replace")
        return {
            "id": self.id,
            "consumer": self.consumer,
            "error": self.error,
            "attempts": self.attempts,
            "origin": {
                "topic": self.origin_topic,
                "partition": self.origin_partition,
                "offset": self.origin_offset,
                "key": self.origin_key,
            },
            "dead_lettered_at_ms": self.dead_lettered_at_ms,
            "body_preview": preview,
            "body_size": len(self.body),
            "replayed_from": self.headers.get("dlq.replayed-from"),
            "truncated": self.truncated,
            "original_size": int(self.headers.get("dlq.original-size") or len(self.body)),
        }

    @property
    def truncated(self) -> bool:
        """Too large to dead-letter whole: only its beginning is here (the original is still
        at its origin topic, partition and offset while the topic retains it)."""
        return self.headers.get("dlq.truncated") == "true"


async def read_dead_letters(
    bootstrap: str, topic: str, *, limit: int = 100, timeout_s: float = 10.0
) -> list[DeadLetter]:
    """The newest `limit` dead letters on `topic` (read from the start up to its end now)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        # the topology declares every topic's partitions (a consumer that is not subscribed to
        # a topic has no partition metadata for it)
        declared = next((t.partitions for t in TOPICS if t.name == topic), None)
        if declared is None:
            raise ValueError(f"{topic} is not a declared topic")
        partitions = [TopicPartition(topic, p) for p in range(declared)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[DeadLetter] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if all(positions[tp] >= end[tp] for tp in partitions):
                break
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    headers = {k: v.decode(errors="replace") for k, v in r.headers or ()}
                    found.append(
                        DeadLetter(
                            id=headers.get("dlq.id", f"{r.partition}:{r.offset}"),
                            consumer=headers.get("dlq.consumer", ""),
                            error=headers.get("dlq.error", ""),
                            attempts=int(headers.get("dlq.attempts", "1") or 1),
                            origin_topic=headers.get("dlq.origin.topic", ""),
                            origin_partition=headers.get("dlq.origin.partition", ""),
                            origin_offset=headers.get("dlq.origin.offset", ""),
                            origin_key=headers.get("dlq.origin.key", ""),
                            dead_lettered_at_ms=r.timestamp,
                            body=r.value or b"",
                            headers=headers,
                        )
                    )
        return found[-limit:]
    finally:
        await consumer.stop()
