"""The active relay purges what the messaging tables no longer need, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from sqlalchemy import text

from guakao_devtools.infra import Infra
from guakao_devtools.services import SERVICE_DIRS
from guakao_devtools.testing import query
from guakao_shared.db import make_engine
from guakao_shared.outbox import OutboxRelay, Retention


async def test_old_published_outbox_rows_inbox_ids_and_idempotency_keys_are_purged(
    infra: Infra,
) -> None:
    # A scratch database with the applications schema: a pending row here must never reach the
    # live applications relay (its topic does not exist; it would stall that relay).
    await query(infra, "postgres", "DROP DATABASE IF EXISTS housekeeping WITH (FORCE)")
    await query(infra, "postgres", "CREATE DATABASE housekeeping")
    url = infra.cfg.database_url("housekeeping")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(SERVICE_DIRS["applications"] / "alembic.ini"),
            "upgrade",
            "head",
        ],
        env={**os.environ, "APPLICATIONS_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    old, new, pending = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    old_in, new_in = uuid.uuid4(), uuid.uuid4()
    try:
        async with engine.begin() as conn:
            for event_id, published in (
                (old, "now() - interval '8 days'"),
                (new, "now() - interval '1 day'"),
                (pending, "NULL"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO outbox (event_id, event_type, topic, key, payload, "
                        f"published_at) VALUES (:id, 'x', 't', 'k', '{{}}', {published})"
                    ),
                    {"id": event_id},
                )
            for event_id, age in ((old_in, "31 days"), (new_in, "2 days")):
                await conn.execute(
                    text(
                        "INSERT INTO inbox (consumer, event_id, event_type, received_at) VALUES "
                        f"('housekeeping-test', :id, 'x', now() - interval '{age}')"
                    ),
                    {"id": event_id},
                )
            for key, age in (("old-key-123", "8 days"), ("new-key-123", "1 hour")):
                await conn.execute(
                    text(
                        "INSERT INTO idempotency_keys (principal, key, fingerprint, status_code, "
                        f"response, created_at) VALUES ('hk', :key, 'f', 200, '{{}}', "
                        f"now() - interval '{age}')"
                    ),
                    {"key": key},
                )

        relay = OutboxRelay(
            engine,
            service="applications",
            kafka_bootstrap=infra.cfg.kafka_bootstrap,
            retention=Retention(),
        )
        counts = await relay.purge()
        assert min(counts.values()) >= 1

        async with engine.connect() as conn:
            outbox_left = {
                r[0]
                for r in await conn.execute(
                    text("SELECT event_id FROM outbox WHERE event_id IN (:a, :b, :c)"),
                    {"a": old, "b": new, "c": pending},
                )
            }
            inbox_left = {
                r[0]
                for r in await conn.execute(
                    text("SELECT event_id FROM inbox WHERE consumer = 'housekeeping-test'")
                )
            }
            keys_left = {
                r[0]
                for r in await conn.execute(
                    text("SELECT key FROM idempotency_keys WHERE principal = 'hk'")
                )
            }
        assert outbox_left == {new, pending}  # unpublished rows are never purged
        assert inbox_left == {new_in}
        assert keys_left == {"new-key-123"}
    finally:
        await engine.dispose()
