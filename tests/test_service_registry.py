"""services.toml is the one list of the services; everything in pyproject.toml that names them
agrees with it. TOML cannot be generated at build time, so each check says exactly what to add
(or remove) where. The catalogue is checked against it in test_catalogue_consistency.py.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from guakao_devtools.registry import REPO, SERVICES, Service
from guakao_shared import topology

PYPROJECT = REPO / "pyproject.toml"
# Workspace members that are not services, and what mypy checks besides the services.
LIBRARIES = ("shared", "deploy/devtools")
OTHER_MYPY_FILES = (
    "shared/src",
    "shared/tests",
    "deploy/devtools/src",
    "deploy/devtools/tests",
    "tests",
    "conftest.py",
)
OTHER_TESTPATHS = ("shared/tests", "deploy/devtools/tests", "tests")


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def tool(*keys: str) -> Any:
    node: Any = pyproject()["tool"]
    for key in keys:
        node = node[key]
    return node


def distribution(service: Service) -> str:
    """The service's distribution name, from its own pyproject.toml."""
    document = tomllib.loads((service.folder / "pyproject.toml").read_text(encoding="utf-8"))
    name = document["project"]["name"]
    assert isinstance(name, str)
    return name


def has_tests(service: Service) -> bool:
    return (REPO / service.tests).is_dir()


def _id(service: Service) -> str:
    return service.name


def _missing_and_extra(what: str, actual: list[str], expected: list[str]) -> None:
    missing = [v for v in expected if v not in actual]
    extra = [v for v in actual if v not in expected]
    assert not missing and not extra, (
        f"pyproject.toml {what}: add {missing}, remove {extra} (services.toml is the list)"
    )


# ---------------------------------------------------------------------------- the registry


def test_the_topology_declares_exactly_the_registered_services() -> None:
    names = tuple(s.name for s in SERVICES)
    assert names == topology.SERVICES, (
        f"guakao_shared.topology.SERVICES is {topology.SERVICES}, services.toml lists {names}: "
        "make SERVICES say the same, in the same order"
    )


@pytest.mark.parametrize("service", SERVICES, ids=_id)
def test_a_registered_service_has_its_folder_and_package(service: Service) -> None:
    assert (service.folder / "pyproject.toml").is_file(), (
        f"services.toml: {service.name}: {service.path}/pyproject.toml does not exist"
    )
    assert service.package == f"{service.name}_svc", (
        f"services.toml: {service.name}: folder {service.path} gives package {service.package}, "
        f"expected {service.name}_svc"
    )
    assert (REPO / service.src / service.package / "__init__.py").is_file(), (
        f"services.toml: {service.name}: no package {service.src}/{service.package}"
    )


def test_a_started_service_can_be_started() -> None:
    for service in SERVICES:
        if service.started:
            app = REPO / service.src / service.package / "entrypoints" / "app.py"
            assert app.is_file(), (
                f"services.toml: {service.name} is started, but {app.relative_to(REPO)} "
                "(create_app) does not exist: set started = false until it does"
            )


# ---------------------------------------------------------------------------- the workspace


def test_the_workspace_members_are_the_libraries_and_the_services() -> None:
    _missing_and_extra(
        "[tool.uv.workspace] members",
        tool("uv", "workspace", "members"),
        [*LIBRARIES, *(s.path for s in SERVICES)],
    )


@pytest.mark.parametrize("service", SERVICES, ids=_id)
def test_the_workspace_depends_on_every_service(service: Service) -> None:
    name = distribution(service)
    assert name in pyproject()["project"]["dependencies"], (
        f"pyproject.toml [project] dependencies: add {name!r}"
    )
    assert tool("uv", "sources").get(name) == {"workspace": True}, (
        f"pyproject.toml [tool.uv.sources]: add {name} = {{ workspace = true }}"
    )


def test_ruff_knows_every_service_package_as_first_party() -> None:
    known = tool("ruff", "lint", "isort", "known-first-party")
    missing = [s.package for s in SERVICES if s.package not in known]
    assert not missing, f"pyproject.toml [tool.ruff.lint.isort] known-first-party: add {missing}"


# ---------------------------------------------------------------------------- mypy


def test_mypy_checks_every_src_and_every_tests_folder() -> None:
    expected = list(OTHER_MYPY_FILES)
    for service in SERVICES:
        expected.append(service.src)
        if has_tests(service):
            expected.append(service.tests)
    _missing_and_extra("[tool.mypy] files", tool("mypy", "files"), expected)


def test_mypy_resolves_every_service_package_and_builders_module() -> None:
    paths = tool("mypy", "mypy_path")
    expected = [p for s in SERVICES for p in (s.src, s.tests)]
    missing = [p for p in expected if p not in paths]
    assert not missing, f"pyproject.toml [tool.mypy] mypy_path: add {missing}"


def _module_name(root: Path, path: Path) -> str:
    """The name mypy gives a file under a source root whose folders are not packages."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts)


def test_no_two_test_modules_share_a_name_in_the_one_mypy_run() -> None:
    """Each service's tests/ is a mypy source root: `unit/test_handlers.py` is the module
    `unit.test_handlers` in every service, and mypy stops at the second one."""
    seen: dict[str, list[str]] = defaultdict(list)
    seen["conftest"].append("conftest.py")
    for service in SERVICES:
        root = REPO / service.tests
        for path in sorted(root.rglob("*.py")) if root.is_dir() else []:
            seen[_module_name(root, path)].append(path.relative_to(REPO).as_posix())
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, (
        "these files are one module to mypy: rename all but one after their service "
        "(unit/test_<service>_handlers.py); a conftest.py cannot be renamed: move its fixtures "
        f"to the root conftest.py or to a uniquely named module: {clashes}"
    )


# ---------------------------------------------------------------------------- pytest


def test_pytest_collects_every_tests_folder() -> None:
    expected = [*OTHER_TESTPATHS, *(s.tests for s in SERVICES if has_tests(s))]
    actual = tool("pytest", "ini_options", "testpaths")
    _missing_and_extra("[tool.pytest.ini_options] testpaths", actual, expected)


def test_every_service_tests_folder_is_on_the_path_for_its_builders() -> None:
    paths = tool("pytest", "ini_options", "pythonpath")
    missing = [s.tests for s in SERVICES if s.tests not in paths]
    assert not missing, f"pyproject.toml [tool.pytest.ini_options] pythonpath: add {missing}"


# ---------------------------------------------------------------------------- import contracts


def contract(name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        c for c in tool("importlinter", "contracts") if c["name"] == name
    ]
    assert len(found) == 1, f"pyproject.toml: no single import contract named {name!r}"
    return found[0]


def test_import_linter_analyses_the_shared_library_and_every_service() -> None:
    _missing_and_extra(
        "[tool.importlinter] root_packages",
        tool("importlinter", "root_packages"),
        ["guakao_shared", *(s.package for s in SERVICES)],
    )


# (contract name, key, the entries it must hold for one service)
PER_SERVICE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Services never import one another", "modules", ("{pkg}",)),
    ("The shared library never imports a service", "forbidden_modules", ("{pkg}",)),
    (
        "The domain imports nothing outside the standard library",
        "source_modules",
        ("{pkg}.domain",),
    ),
    ("Layers inside each service", "containers", ("{pkg}",)),
    ("Routes never touch SQL or tables", "source_modules", ("{pkg}.entrypoints.api",)),
    (
        "Use cases import no FastAPI, directly or through shared",
        "source_modules",
        ("{pkg}.service_layer",),
    ),
)


@pytest.mark.parametrize(("name", "key", "templates"), PER_SERVICE, ids=[c[0] for c in PER_SERVICE])
def test_every_import_contract_covers_every_service(
    name: str, key: str, templates: tuple[str, ...]
) -> None:
    actual = contract(name)[key]
    expected = [t.format(pkg=s.package) for s in SERVICES for t in templates]
    missing = [m for m in expected if m not in actual]
    assert not missing, f"import contract {name!r}: add {missing} to {key}"
