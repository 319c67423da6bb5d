"""Committed JSON Schema snapshots of the event models, and the backward-compatibility rule.

`guakao schemas export` writes `shared/schemas/*.json` from the Pydantic models, refusing an
incompatible change; `guakao schemas check` (and the contract test) fails when a snapshot is
stale or a model broke compatibility. A breaking change needs a new `schema_version`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from guakao_shared.events import EVENT_TYPES, Envelope

SCHEMA_DIR = Path(__file__).resolve().parents[4] / "shared" / "schemas"


def current_schemas() -> dict[str, dict[str, Any]]:
    schemas = {"envelope.json": Envelope.model_json_schema()}
    for (event_type, version), model in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema()
        schema["x-event-type"], schema["x-schema-version"] = event_type, version
        schemas[f"{event_type}.v{version}.json"] = schema
    return schemas


def _shape(prop: dict[str, Any]) -> str:
    keep = {
        k: v
        for k, v in prop.items()
        if k
        in {"type", "$ref", "anyOf", "items", "format", "enum", "const", "additionalProperties"}
    }
    return json.dumps(keep, sort_keys=True)


def compatibility_problems(old: dict[str, Any], new: dict[str, Any], where: str = "") -> list[str]:
    """Why `new` cannot replace `old` for existing producers and consumers (empty if it can)."""
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, prop in old_props.items():
        if name not in new_props:
            problems.append(f"{where}{name}: removed")
        elif _shape(prop) != _shape(new_props[name]):
            problems.append(
                f"{where}{name}: type changed from {_shape(prop)} to {_shape(new_props[name])}"
            )
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        problems.append(f"{where}{name}: became required (old events do not carry it)")
    for name, old_def in old.get("$defs", {}).items():
        if name in new.get("$defs", {}):
            problems += compatibility_problems(old_def, new["$defs"][name], f"{where}{name}.")
    return problems


def diff(schema_dir: Path = SCHEMA_DIR) -> tuple[list[str], list[str]]:
    """(incompatibilities, stale or missing snapshots) between the models and the snapshots."""
    incompatible, stale = [], []
    current = current_schemas()
    for name, schema in current.items():
        path = schema_dir / name
        if not path.exists():
            stale.append(f"{name}: no committed snapshot")
            continue
        committed = json.loads(path.read_text())
        incompatible += [f"{name}: {p}" for p in compatibility_problems(committed, schema)]
        if committed != schema:
            stale.append(f"{name}: snapshot differs from the model")
    for path in sorted(schema_dir.glob("*.json")):
        if path.name not in current:
            incompatible.append(f"{path.name}: the model was removed (consumers may still need it)")
    return incompatible, stale


def export(progress: Callable[[str], None]) -> int:
    incompatible, _ = diff()
    if incompatible:
        progress(
            "refusing to export: backward-incompatible change(s); add a new "
            "schema_version instead:\n  " + "\n  ".join(incompatible)
        )
        return 1
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, schema in current_schemas().items():
        (SCHEMA_DIR / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        progress(f"wrote shared/schemas/{name}")
    return 0


def check(progress: Callable[[str], None]) -> int:
    incompatible, stale = diff()
    for line in incompatible:
        progress(f"incompatible: {line}")
    for line in stale:
        progress(f"stale: {line} (run: guakao schemas export)")
    return 1 if incompatible or stale else 0
