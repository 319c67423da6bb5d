"""The service catalogue (services/README.md) agrees with the registry (services.toml), with
docker-compose.yml, with each built service's settings class and with the Kubernetes manifests,
so that none of them drifts. Which services are built (started) is the registry's word.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from guakao_devtools.registry import SERVICES

REPO = Path(__file__).resolve().parents[1]
CATALOGUE = REPO / "services" / "README.md"
COMPOSE = REPO / "docker-compose.yml"
K8S = REPO / "deploy" / "k8s"

COLUMNS = ["service", "folder", "port", "status", "produces", "consumes", "database", "env prefix"]
BUILT = "built"
SKELETON = "skeleton (not started)"


@dataclass(frozen=True)
class CatalogueEntry:
    service: str
    folder: str
    port: int
    status: str
    database: str
    env_prefix: str

    @property
    def deployable(self) -> str:
        """The name of the service in compose and Kubernetes: its folder's last component."""
        return Path(self.folder).name

    @property
    def package(self) -> str:
        return self.deployable.replace("-", "_")


def _cells(line: str) -> list[str]:
    return [cell.strip().strip("`").strip() for cell in line.strip().strip("|").split("|")]


@cache
def catalogue() -> tuple[CatalogueEntry, ...]:
    lines = CATALOGUE.read_text(encoding="utf-8").splitlines()
    header = next(
        (
            i
            for i, line in enumerate(lines)
            if line.startswith("|") and _cells(line)[:1] == ["service"]
        ),
        None,
    )
    assert header is not None, f"{CATALOGUE}: no table whose first column is 'service'"
    assert _cells(lines[header]) == COLUMNS, (
        f"{CATALOGUE}: the catalogue columns are {_cells(lines[header])}, expected {COLUMNS}"
    )
    entries = []
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = _cells(line)
        assert len(cells) == len(COLUMNS), f"{CATALOGUE}: row has {len(cells)} cells: {line}"
        row = dict(zip(COLUMNS, cells, strict=True))
        assert row["port"].isdigit(), f"catalogue: {row['service']}: port {row['port']!r}"
        entries.append(
            CatalogueEntry(
                service=row["service"],
                folder=row["folder"].rstrip("/"),
                port=int(row["port"]),
                status=row["status"],
                database=row["database"],
                env_prefix=row["env prefix"],
            )
        )
    assert entries, f"{CATALOGUE}: the catalogue table has no rows"
    return tuple(entries)


STARTED = {service.name: service.started for service in SERVICES}


def built() -> list[CatalogueEntry]:
    """The rows of the services the registry starts."""
    return [entry for entry in catalogue() if STARTED.get(entry.service) is True]


def skeletons() -> list[CatalogueEntry]:
    """The rows of the services the registry does not start yet."""
    return [entry for entry in catalogue() if STARTED.get(entry.service) is False]


@cache
def compose_services() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = document.get("services")
    assert isinstance(services, dict), f"{COMPOSE}: no 'services' mapping"
    return services


@cache
def k8s_objects() -> tuple[dict[str, Any], ...]:
    objects = []
    for path in sorted(K8S.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and "kind" in document:
                objects.append(document)
    return tuple(objects)


def _k8s_object(kind: str, name: str) -> dict[str, Any] | None:
    return next(
        (o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name), None
    )


def _compose_env_names(service: dict[str, Any]) -> set[str]:
    environment = service.get("environment") or {}
    if isinstance(environment, dict):
        return set(environment)
    return {item.split("=", 1)[0] for item in environment}


def _published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(published, target) pairs from short ("[ip:]host:container[/proto]") or long syntax."""
    pairs = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if "published" in port:
                pairs.add((int(port["published"]), int(port["target"])))
            continue
        parts = str(port).split("/", 1)[0].rsplit(":", 2)
        if len(parts) >= 2 and parts[-2].isdigit() and parts[-1].isdigit():
            pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def _settings_class(entry: CatalogueEntry) -> Any:
    module_name = f"{entry.package}.config"
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        pytest.fail(f"{entry.service}: cannot import {module_name}: {error}")
    settings = getattr(module, "Settings", None)
    assert settings is not None, f"{entry.service}: {module_name} defines no Settings class"
    return settings


def _entry_id(entry: CatalogueEntry) -> str:
    return entry.service


# ---------------------------------------------------------------------------- the catalogue


def test_catalogue_statuses_are_known() -> None:
    for entry in catalogue():
        assert entry.status in {BUILT, SKELETON}, (
            f"catalogue: {entry.service}: status {entry.status!r} is neither {BUILT!r} "
            f"nor {SKELETON!r}"
        )


def test_catalogue_lists_exactly_the_registered_services() -> None:
    rows = [entry.service for entry in catalogue()]
    names = [service.name for service in SERVICES]
    assert rows == names, (
        f"catalogue: the rows are {rows}, services.toml lists {names}: one row per service, "
        "in the registry's order"
    )
    for service, entry in zip(SERVICES, catalogue(), strict=True):
        assert (entry.folder, entry.port) == (service.path, service.port), (
            f"catalogue: {entry.service}: folder {entry.folder}, port {entry.port}; "
            f"services.toml says {service.path}, {service.port}"
        )
        status = BUILT if service.started else SKELETON
        assert entry.status == status, (
            f"catalogue: {entry.service}: status {entry.status!r}, but services.toml has "
            f"started = {str(service.started).lower()}: write {status!r}"
        )


def test_catalogue_services_ports_and_prefixes_are_unique() -> None:
    for field in ("service", "folder", "port", "database", "env_prefix"):
        values = [getattr(entry, field) for entry in catalogue()]
        duplicates = sorted({str(v) for v in values if values.count(v) > 1})
        assert not duplicates, f"catalogue: {field} used by more than one service: {duplicates}"


@pytest.mark.parametrize("entry", catalogue(), ids=_entry_id)
def test_catalogue_row_matches_its_folder(entry: CatalogueEntry) -> None:
    assert (REPO / entry.folder / "pyproject.toml").is_file(), (
        f"catalogue: {entry.service}: folder {entry.folder} has no pyproject.toml"
    )
    assert (REPO / entry.folder / "src" / entry.package).is_dir(), (
        f"catalogue: {entry.service}: no package {entry.package} under {entry.folder}/src"
    )
    assert entry.env_prefix == f"{entry.service.upper()}_", (
        f"catalogue: {entry.service}: env prefix {entry.env_prefix!r} is not the service name "
        f"upper-cased plus '_'"
    )


# ---------------------------------------------------------------------------- docker compose


def test_no_skeleton_service_is_in_compose() -> None:
    # one test over every skeleton (there may be none): never an empty, skipped parametrisation
    running = [e.service for e in skeletons() if e.deployable in compose_services()]
    assert not running, f"status {SKELETON!r} but docker-compose.yml runs: {running}"


@pytest.mark.parametrize("entry", built(), ids=_entry_id)
def test_built_service_is_in_compose_on_its_catalogue_port(entry: CatalogueEntry) -> None:
    service = compose_services().get(entry.deployable)
    assert service is not None, f"{entry.service}: no compose service named {entry.deployable}"
    ports = _published_ports(service)
    assert (entry.port, entry.port) in ports, (
        f"{entry.service}: compose publishes {sorted(ports)}, expected {entry.port}:{entry.port}"
    )


@pytest.mark.parametrize("entry", built(), ids=_entry_id)
def test_compose_environment_matches_the_settings_class(entry: CatalogueEntry) -> None:
    settings = _settings_class(entry)
    prefix = settings.model_config.get("env_prefix", "")
    assert prefix.upper() == entry.env_prefix, (
        f"{entry.service}: Settings env_prefix is {prefix!r}, the catalogue says "
        f"{entry.env_prefix!r}"
    )
    fields = settings.model_fields
    declared = {f"{entry.env_prefix}{name.upper()}" for name in fields}
    required = {
        f"{entry.env_prefix}{name.upper()}" for name, f in fields.items() if f.is_required()
    }

    service = compose_services().get(entry.deployable)
    assert service is not None, f"{entry.service}: no compose service named {entry.deployable}"
    in_compose = _compose_env_names(service)

    unknown = sorted(n for n in in_compose if n not in declared and not n.startswith("OTEL_"))
    assert not unknown, (
        f"{entry.service}: docker-compose.yml sets {unknown}, which "
        f"{entry.package}.config.Settings does not declare"
    )
    missing = sorted(required - in_compose)
    assert not missing, (
        f"{entry.service}: docker-compose.yml does not set the required setting(s) {missing}"
    )


# ---------------------------------------------------------------------------- kubernetes


@pytest.mark.parametrize("entry", built(), ids=_entry_id)
def test_built_service_has_a_k8s_deployment_on_its_catalogue_port(entry: CatalogueEntry) -> None:
    deployment = _k8s_object("Deployment", entry.deployable)
    assert deployment is not None, (
        f"{entry.service}: no Deployment {entry.deployable} in deploy/k8s"
    )
    container_ports = {
        port["containerPort"]
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for port in container.get("ports", [])
    }
    assert entry.port in container_ports, (
        f"{entry.service}: Deployment {entry.deployable} exposes containerPort "
        f"{sorted(container_ports)}, expected {entry.port}"
    )
    service = _k8s_object("Service", entry.deployable)
    assert service is not None, f"{entry.service}: no Service {entry.deployable} in deploy/k8s"
    service_ports = {port["port"] for port in service["spec"]["ports"]}
    assert entry.port in service_ports, (
        f"{entry.service}: Service {entry.deployable} listens on {sorted(service_ports)}, "
        f"expected {entry.port}"
    )


def test_no_skeleton_service_is_deployed_to_k8s() -> None:
    deployed = [e.service for e in skeletons() if _k8s_object("Deployment", e.deployable)]
    assert not deployed, f"status {SKELETON!r} but deploy/k8s has a Deployment for: {deployed}"


def test_compose_init_script_creates_every_catalogue_database() -> None:
    script = (REPO / "deploy" / "compose" / "init-databases.sql").read_text(encoding="utf-8")
    created = set(re.findall(r"CREATE DATABASE\s+\"?(\w+)\"?", script, flags=re.IGNORECASE))
    missing = sorted({entry.database for entry in catalogue()} - created)
    assert not missing, f"deploy/compose/init-databases.sql does not create {missing}"
