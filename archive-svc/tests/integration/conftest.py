"""Fixtures for archive-svc's integration tests: the archive service itself, built in this
process by its own `create_app` (`guakao_devtools.testing.service_runtime`) on the session's
REAL PostgreSQL, Kafka and MinIO (root conftest), with its database migrated. Tests reach its
routes through `api` and its unit of work, bus and adapters through `runtime`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_devtools.infra import Infra
from guakao_devtools.testing import InProcessService, service_runtime
from guakao_shared.runtime import ServiceRuntime


@pytest.fixture(scope="session")
async def archive_service(infra: Infra) -> AsyncIterator[InProcessService]:
    async with service_runtime("archive", infra, allow_clock_override=True) as service:
        yield service


@pytest.fixture(scope="session")
def runtime(archive_service: InProcessService) -> ServiceRuntime[ArchiveUnitOfWork]:
    runtime: ServiceRuntime[ArchiveUnitOfWork] = archive_service.runtime
    return runtime


@pytest.fixture(scope="session")
def api(archive_service: InProcessService) -> httpx.AsyncClient:
    return archive_service.client
