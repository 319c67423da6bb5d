"""The import contracts in pyproject.toml list what they must, so that `lint-imports` enforces
the layer rules instead of a hand-picked sample: the domain's forbidden packages are every
third-party package of the lock, the routes contract holds every module that defines routes
and forbids every adapters module that touches SQL.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from guakao_devtools.registry import REPO, SERVICES

DOMAIN = "The domain imports nothing outside the standard library"
ROUTES = "Routes never touch SQL or tables"


def contract(name: str) -> dict[str, Any]:
    document = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = [
        c for c in document["tool"]["importlinter"]["contracts"] if c["name"] == name
    ]
    assert len(found) == 1, f"pyproject.toml: no single import contract named {name!r}"
    return found[0]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _top_level_names(distribution: importlib.metadata.Distribution) -> set[str]:
    listed = distribution.read_text("top_level.txt")
    if listed:
        return {line.strip() for line in listed.splitlines() if line.strip()}
    names = set()
    for file in distribution.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".data")) or first == "..":
            continue
        if len(file.parts) > 1:
            names.add(first)
        elif first.endswith(".py"):
            names.add(first.removesuffix(".py"))
        elif first.endswith((".so", ".pyd")):
            names.add(first.split(".")[0])
    return names


@cache
def third_party_packages() -> frozenset[str]:
    """The importable top-level names of every third-party distribution in uv.lock (what is
    installed tells the names; a distribution not installed here, such as a Windows-only
    one, counts by its own name)."""
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    installed = {_normalise(d.metadata["Name"]): d for d in importlib.metadata.distributions()}
    names: set[str] = set()
    for package in lock["package"]:
        source = package.get("source", {})
        if "editable" in source or "virtual" in source:  # the workspace's own
            continue
        distribution = installed.get(_normalise(package["name"]))
        if distribution is None:
            names.add(_normalise(package["name"]).replace("-", "_"))
        else:
            names |= _top_level_names(distribution)
    return frozenset(n for n in names if n.isidentifier())


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(path: Path, top: str) -> bool:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == top for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == top:
            return True
    return False


def _defines_routes(path: Path) -> bool:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "APIRouter":
                return True
    return False


def _service_modules(folder: str) -> list[tuple[str, Path]]:
    """(dotted name, path) of every module in `<package>/<folder>/` of every service."""
    found = []
    for service in SERVICES:
        src = REPO / service.src
        for path in sorted((src / service.package / folder).glob("*.py")):
            found.append((".".join(path.relative_to(src).with_suffix("").parts), path))
    return found


def test_the_domain_may_import_no_third_party_package_of_the_lock() -> None:
    forbidden = set(contract(DOMAIN)["forbidden_modules"])
    assert "guakao_shared" in forbidden, f"import contract {DOMAIN!r}: forbid 'guakao_shared'"
    missing = sorted(third_party_packages() - forbidden, key=str.lower)
    assert not missing, (
        f"import contract {DOMAIN!r}: the lock has packages the domain is not forbidden to "
        f"import; add them to forbidden_modules: {missing}"
    )


def test_every_module_that_defines_routes_is_held_to_the_routes_contract() -> None:
    routes = [m for m, path in _service_modules("entrypoints") if _defines_routes(path)]
    listed = contract(ROUTES)["source_modules"]
    missing = [m for m in routes if m not in listed]
    extra = [m for m in listed if m not in routes]
    assert not missing and not extra, (
        f"import contract {ROUTES!r} source_modules: add {missing}, remove {extra} "
        "(the modules that call APIRouter)"
    )


def test_routes_may_import_no_adapter_that_touches_sql() -> None:
    sql = [m for m, path in _service_modules("adapters") if _imports(path, "sqlalchemy")]
    forbidden = contract(ROUTES)["forbidden_modules"]
    missing = [m for m in ["sqlalchemy", *sql] if m not in forbidden]
    assert not missing, (
        f"import contract {ROUTES!r} forbidden_modules: add {missing} "
        "(sqlalchemy, and the adapters modules that import it)"
    )
