"""The committed event schemas are the wire contract: stale or incompatible changes fail."""

from __future__ import annotations

import copy
import json
from typing import Any

from guakao_devtools.schemas import SCHEMA_DIR, compatibility_problems, current_schemas, diff


def test_every_event_model_has_an_up_to_date_compatible_snapshot() -> None:
    incompatible, stale = diff()
    assert incompatible == []
    assert stale == [], "run `guakao schemas export` and commit shared/schemas/"


def submitted() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / "application.submitted.v1.json").read_text())
    return schema


def test_adding_an_optional_field_is_compatible() -> None:
    new = copy.deepcopy(submitted())
    new["properties"]["priority"] = {"type": "string"}
    assert compatibility_problems(submitted(), new) == []


def test_removing_a_field_is_incompatible() -> None:
    new = copy.deepcopy(submitted())
    del new["properties"]["title"]
    assert compatibility_problems(submitted(), new) == ["title: removed"]


def test_a_new_required_field_is_incompatible() -> None:
    new = copy.deepcopy(submitted())
    new["properties"]["priority"] = {"type": "string"}
    new["required"].append("priority")
    assert compatibility_problems(submitted(), new) == [
        "priority: became required (old events do not carry it)"
    ]


def test_changing_a_type_is_incompatible_even_in_a_nested_definition() -> None:
    new = copy.deepcopy(submitted())
    new["$defs"]["DocumentRef"]["properties"]["size"] = {"type": "string"}
    problems = compatibility_problems(submitted(), new)
    assert len(problems) == 1 and problems[0].startswith("DocumentRef.size: type changed")


def test_snapshots_name_their_event_type_and_version() -> None:
    for name, schema in current_schemas().items():
        if name != "envelope.json":
            assert name == f"{schema['x-event-type']}.v{schema['x-schema-version']}.json"
