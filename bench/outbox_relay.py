"""Benchmark: the transactional outbox relay against a raw Kafka producer, in the same run.

What it measures: publishing N events (a) through the outbox relay (rows committed to
PostgreSQL, picked up in batches, sent with the idempotent producer, marked published) and
(b) with a bare idempotent aiokafka producer sending the same N messages (the baseline: the
cost of Kafka alone). It prints events/s for both and the ratio, so a regression in the relay
shows up as a ratio, independent of how fast this machine is today.

Run against the local infrastructure (`make infra-up`):

    uv run python bench/outbox_relay.py [N]

It uses its own database (bench_outbox, recreated each run) and topic (bench.outbox.v1).
Not part of the test suite.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from guakao_devtools.infra import InfraConfig
from guakao_shared.db import metadata, outbox
from guakao_shared.outbox import OutboxRelay, make_producer

TOPIC = "bench.outbox.v1"
DATABASE = "bench_outbox"
ROUNDS = 3


def payload(i: int) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "bench.event",
        "schema_version": 1,
        "source": "bench",
        "case_id": str(uuid.uuid4()),
        "actor": {"sub": "bench"},
        "data": {"n": i, "text": "x" * 200},
    }


async def prepare(cfg: InfraConfig) -> str:
    conn = await asyncpg.connect(
        host=cfg.host, port=cfg.pg_port, user="postgres", database="postgres"
    )
    await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    await conn.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=cfg.kafka_bootstrap)
    await admin.start()
    if TOPIC not in await admin.list_topics():
        await admin.create_topics([NewTopic(TOPIC, num_partitions=6, replication_factor=1)])
    await admin.close()
    return f"postgresql+asyncpg://postgres@{cfg.host}:{cfg.pg_port}/{DATABASE}"


async def raw_baseline(cfg: InfraConfig, n: int) -> float:
    producer: AIOKafkaProducer = make_producer(cfg.kafka_bootstrap, "bench-raw")
    await producer.start()
    try:
        start = time.perf_counter()
        futures = [
            await producer.send(TOPIC, json.dumps(payload(i)).encode(), key=str(i).encode())
            for i in range(n)
        ]
        await asyncio.gather(*futures)
        return time.perf_counter() - start
    finally:
        await producer.stop()


async def through_relay(cfg: InfraConfig, url: str, n: int) -> float:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text("TRUNCATE outbox"))
        await conn.execute(
            insert(outbox),
            [
                {
                    "event_id": uuid.uuid4(),
                    "event_type": "bench.event",
                    "topic": TOPIC,
                    "key": str(i),
                    "payload": payload(i),
                    "headers": {},
                }
                for i in range(n)
            ],
        )
    relay = OutboxRelay(
        engine,
        service="bench",
        kafka_bootstrap=cfg.kafka_bootstrap,
        poll_interval_s=0.05,
        batch_size=500,
    )
    start = time.perf_counter()
    task = asyncio.create_task(relay.run())
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                left = (
                    await conn.execute(
                        select(outbox.c.id).where(outbox.c.published_at.is_(None)).limit(1)
                    )
                ).first()
            if left is None:
                return time.perf_counter() - start
            await asyncio.sleep(0.01)
        raise TimeoutError("the relay did not drain the outbox within 300 s")
    finally:
        relay.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await engine.dispose()


async def main(n: int) -> None:
    cfg = InfraConfig.from_env()
    url = await prepare(cfg)
    raw, relayed = [], []
    for _ in range(ROUNDS):
        raw.append(await raw_baseline(cfg, n))
        relayed.append(await through_relay(cfg, url, n))
    raw_s, relay_s = statistics.median(raw), statistics.median(relayed)
    print(f"events per run: {n}, rounds: {ROUNDS} (medians)")
    print(f"raw idempotent producer : {n / raw_s:10.0f} events/s  ({raw_s:.3f} s)")
    print(f"outbox relay            : {n / relay_s:10.0f} events/s  ({relay_s:.3f} s)")
    print(f"relay / raw time ratio  : {relay_s / raw_s:10.2f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
