"""The one list of guakao's services, `services.toml` at the repository root.

`make run` and the test fixtures start the services marked `started`; the tests check the
workspace, mypy, the import contracts, pytest's paths, the catalogue and the topology against it
(tests/test_service_registry.py).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[4]
REGISTRY = REPO / "services.toml"

_FIELDS = {"name": str, "folder": str, "port": int, "test_port": int, "started": bool}


class RegistryError(ValueError):
    """services.toml is not a list of well-formed [[service]] tables."""


@dataclass(frozen=True)
class Service:
    name: str
    folder: Path
    port: int
    test_port: int
    started: bool

    @property
    def path(self) -> str:
        """The folder relative to the repository, as pyproject.toml writes it."""
        return self.folder.relative_to(REPO).as_posix()

    @property
    def package(self) -> str:
        """The Python package: the folder's last part in snake case."""
        return self.folder.name.replace("-", "_")

    @property
    def src(self) -> str:
        return f"{self.path}/src"

    @property
    def tests(self) -> str:
        return f"{self.path}/tests"


def _service(table: Any, where: str) -> Service:
    if not isinstance(table, dict):
        raise RegistryError(f"{where}: not a table")
    unknown = sorted(set(table) - set(_FIELDS))
    missing = sorted(set(_FIELDS) - set(table))
    if unknown or missing:
        raise RegistryError(f"{where}: unknown keys {unknown}, missing keys {missing}")
    for key, kind in _FIELDS.items():
        if type(table[key]) is not kind:
            raise RegistryError(f"{where}: {key} = {table[key]!r} is not a {kind.__name__}")
    return Service(
        name=table["name"],
        folder=REPO / table["folder"],
        port=table["port"],
        test_port=table["test_port"],
        started=table["started"],
    )


def load(path: Path = REGISTRY) -> tuple[Service, ...]:
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = sorted(set(document) - {"service"})
    if unknown:
        raise RegistryError(f"{path.name}: unknown top-level keys {unknown}")
    tables = document.get("service")
    if not isinstance(tables, list) or not tables:
        raise RegistryError(f"{path.name}: no [[service]] tables")
    services = tuple(_service(t, f"{path.name}: service #{i + 1}") for i, t in enumerate(tables))
    for field in ("name", "folder", "port", "test_port"):
        values = [getattr(s, field) for s in services]
        duplicates = sorted({str(v) for v in values if values.count(v) > 1})
        if duplicates:
            raise RegistryError(f"{path.name}: {field} used by more than one service: {duplicates}")
    return services


SERVICES: tuple[Service, ...] = load()
# What `make run` and the test fixtures start, in the registry's order.
STARTED: tuple[Service, ...] = tuple(s for s in SERVICES if s.started)


def service(name: str) -> Service:
    for s in SERVICES:
        if s.name == name:
            return s
    raise KeyError(f"no service {name!r} in {REGISTRY.name}")
