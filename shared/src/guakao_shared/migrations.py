"""Alembic glue shared by every service's `migrations/env.py` (async engine, online mode)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def run_migrations(service_metadata: MetaData, default_url: Callable[[], str]) -> None:
    """Run the migrations against `sqlalchemy.url` from the Alembic config, or the settings'.

    The target is the service's own tables plus the shared messaging tables (outbox, inbox,
    idempotency keys), so `alembic revision --autogenerate` sees both.
    """
    from guakao_shared.db import metadata as messaging_metadata

    target_metadata = [service_metadata, messaging_metadata]
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url") or default_url()
    url = url.replace("postgresql://", "postgresql+asyncpg://", 1)

    def run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            # Replicas start together (k8s initContainers): one migrates, the others wait.
            connection.execute(text("SELECT pg_advisory_xact_lock(7212394841)"))
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(main())
