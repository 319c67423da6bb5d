"""Fixtures for archive-svc's integration tests: the session's REAL PostgreSQL, Kafka and
MinIO (started by the root conftest; failing loudly if they cannot start), with the archive
database migrated by the committed Alembic migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from archive_svc.adapters.archive import S3Archive
from archive_svc.config import Settings
from archive_svc.domain.model import RetentionSchedule
from archive_svc.service_layer.handlers import Filing
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_devtools.infra import Infra
from guakao_devtools.services import migrate
from guakao_shared.db import make_engine, make_session_factory
from guakao_shared.objectstore import S3DocumentStore


@pytest.fixture(scope="session")
def archive_infra(infra: Infra) -> Infra:
    """The session's real infrastructure (root conftest), with the archive database migrated."""
    migrate(infra, "archive")
    return infra


@pytest.fixture(scope="session")
def settings(archive_infra: Infra) -> Settings:
    cfg = archive_infra.cfg
    return Settings(
        environment="test",
        database_url=cfg.database_url("archive"),
        kafka_bootstrap=cfg.kafka_bootstrap,
        s3_endpoint=cfg.s3_endpoint,
        s3_access_key=cfg.minio_user,
        s3_secret_key=cfg.minio_password,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return make_session_factory(engine)


@pytest.fixture(scope="session")
def documents(settings: Settings) -> S3DocumentStore:
    return S3DocumentStore(
        settings.s3_endpoint,
        settings.s3_access_key,
        settings.s3_secret_key.get_secret_value(),
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


@pytest.fixture(scope="session")
def archive(documents: S3DocumentStore, settings: Settings) -> S3Archive:
    return S3Archive(documents.client, settings.archive_bucket)


@pytest.fixture(scope="session")
def filing(archive: S3Archive, settings: Settings) -> Filing:
    return Filing(archive=archive, retention=RetentionSchedule(settings.retention_days))


@pytest.fixture
def uow(session_factory: async_sessionmaker) -> ArchiveUnitOfWork:  # type: ignore[type-arg]
    return ArchiveUnitOfWork(session_factory, service="archive")
