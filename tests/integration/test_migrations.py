"""The committed migrations produce exactly the schema the code declares."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from guakao_devtools.infra import Infra
from guakao_devtools.registry import STARTED, Service
from guakao_devtools.services import ServiceProcess


@pytest.mark.parametrize("service", STARTED, ids=lambda s: s.name)
def test_migrations_match_the_models(
    service: Service, infra: Infra, services: dict[str, ServiceProcess]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(service.folder / "alembic.ini"), "check"],
        env={**os.environ, **infra.service_env(service.name)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
