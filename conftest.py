"""Session fixtures for the whole suite.

Integration and end-to-end tests run against REAL PostgreSQL, Kafka and MinIO: a fresh set
brought up by the same code as `guakao infra up`, on test ports and in a temporary data
directory, stopped at the end. If it cannot start, the tests fail with the reason; they are
never skipped. The built services run as real uvicorn processes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from guakao_devtools.infra import Infra, InfraConfig
from guakao_devtools.registry import STARTED
from guakao_devtools.services import ServiceProcess, migrate
from guakao_devtools.testing import OtlpReceiver, bearer

TEST_PORTS = {
    "pg_port": 25432,
    "kafka_port": 29092,
    "kafka_controller_port": 29093,
    "minio_port": 29000,
    "minio_console_port": 29001,
}
# The services the fixtures start and their test ports: those marked `started` in services.toml.
SERVICE_PORTS = {service.name: service.test_port for service in STARTED}
# Two suites on one machine (a developer and a reviewer) each set their own offset.
PORT_OFFSET = int(os.environ.get("GUAKAO_TEST_PORT_OFFSET", "0"))


# A test that uses one of these fixtures, directly or through another fixture, needs the real
# infrastructure: it is marked `infra` at collection, so `make test-unit` (-m "not infra")
# leaves it out without anyone remembering a marker.
INFRA_FIXTURES = frozenset({"infra", "services"})
UNIT_SELECTION = "not infra"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if INFRA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.infra)


def _progress(message: str) -> None:
    print(f"[infra] {message}", flush=True)


@pytest.fixture(scope="session")
def infra(request: pytest.FixtureRequest) -> Iterator[Infra]:
    if request.config.getoption("markexpr") == UNIT_SELECTION:
        # Only a fixture looked up at run time (request.getfixturevalue) can get here.
        pytest.fail("the unit selection (-m 'not infra') must not start infrastructure")
    data = Path(tempfile.mkdtemp(prefix="guakao-test-"))
    ports = {
        k: int(os.environ.get(f"GUAKAO_TEST_{k.upper()}", v + PORT_OFFSET))
        for k, v in TEST_PORTS.items()
    }
    stack = Infra(InfraConfig(data_dir=data, **ports))  # type: ignore[arg-type]
    try:
        stack.up(_progress)
    except Exception as exc:
        stack.down(_progress)
        pytest.fail(f"real infrastructure could not start: {exc}", pytrace=False)
    yield stack
    stack.down(_progress)
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def services(
    infra: Infra,
    otlp: OtlpReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, ServiceProcess]]:
    logs = tmp_path_factory.mktemp("service-logs")
    procs = {}
    for name, port in SERVICE_PORTS.items():
        migrate(infra, name)
        prefix = name.upper()
        env = {
            **infra.service_env(name),
            f"{prefix}_ENVIRONMENT": "test",
            f"{prefix}_RELAY_POLL_INTERVAL_S": "0.5",
            f"{prefix}_CONSUMER_RETRY_BACKOFF_S": "0.05",
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        if name == "applications":
            env["APPLICATIONS_MAX_UPLOAD_BYTES"] = str(64 * 1024)
        env[f"{prefix}_ALLOW_CLOCK_OVERRIDE"] = "true"  # sweeps and deadlines "as of" a time
        procs[name] = ServiceProcess(name, port + PORT_OFFSET, env, logs / f"{name}.log")
    for proc in procs.values():
        proc.start()
    try:
        for proc in procs.values():
            proc.wait_ready()
        _seed_directory(procs["approvals"].url)
    except RuntimeError as exc:
        for proc in procs.values():
            proc.stop()
        pytest.fail(str(exc), pytrace=False)
    yield procs
    for proc in procs.values():
        proc.stop()


def _seed_directory(url: str) -> None:
    from tests.e2e.support import ADMIN, ORG

    for sub, person in ORG.items():
        response = httpx.put(f"{url}/v1/directory/people/{sub}", json=person, headers=ADMIN)
        if response.status_code != 204:
            raise RuntimeError(f"could not seed the directory: {response.text}")


@pytest.fixture(scope="session")
def applications(services: dict[str, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services["applications"].url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def approvals(services: dict[str, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services["approvals"].url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def auth() -> object:
    return bearer


@pytest.fixture(scope="session")
def contracts(services: dict[str, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services["contracts"].url, timeout=30) as client:
        yield client
