"""The process definition is the manual: it loads, broken versions are refused precisely, and
the committed manual is exactly what the definition renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from guakao_devtools.registry import REPO
from guakao_shared.process import ProcessDefinitionError, definition, load_file
from guakao_shared.process.definition import DEFINITIONS_DIR
from guakao_shared.process.manual import render_manual


def test_the_committed_manual_is_rendered_from_the_current_definition() -> None:
    committed = (REPO / "docs" / "process-manual.md").read_text(encoding="utf-8")
    assert committed == render_manual(definition()), "run `guakao manual` and commit docs/"


def test_every_stage_of_the_specification_is_defined_with_its_approvals() -> None:
    defn = definition()
    assert [s.number for s in defn.stages] == [1, 2, 3, 4, 5, 6, 7]
    apply = defn.step("application", "apply")
    assert set(apply.required_materials) >= {"feasibility_study", "risk_assessment"}
    assert apply.approval_policy == "application.necessity_review"
    assert defn.step("plan", "review_plan").approval_policy == "plan.review"


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (DEFINITIONS_DIR / "v1.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "v1.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            "[feasibility_study, resource_request",
            "[feasability_study, resource_request",
            "unknown document type 'feasability_study'",
        ),
        (
            "        mode: quorum\n        quorum: 2\n        time_limit_hours: 120\n"
            "        escalate_to: process_admin",
            "        mode: majority\n        quorum: 2\n        time_limit_hours: 120\n"
            "        escalate_to: process_admin",
            "Input should be 'any', 'all', 'quorum'",
        ),
        (
            "assignees: {role: dept_head, scope: requester_department}",
            "assignees: {role: boss, scope: requester_department}",
            "unknown role 'boss'",
        ),
        (
            "approval_policy: plan.review",
            "approval_policy: plan.reveiw",
            "unknown approval policy 'plan.reveiw'",
        ),
    ],
    ids=["unknown-material", "unknown-mode", "unknown-role", "unknown-policy"],
)
def test_a_broken_definition_is_refused_with_the_line_and_the_reason(
    tmp_path: Path, old: str, new: str, reason: str
) -> None:
    path = broken(tmp_path, old, new)
    with pytest.raises(ProcessDefinitionError) as refused:
        load_file(path)
    message = str(refused.value)
    assert reason in message
    bad_line = line_of(path, new.strip().splitlines()[0].strip())
    assert f"v1.yaml:{bad_line}:" in message


def test_a_quorum_step_without_its_quorum_is_refused(tmp_path: Path) -> None:
    path = broken(tmp_path, "        mode: quorum\n        quorum: 2\n", "        mode: quorum\n")
    with pytest.raises(ProcessDefinitionError, match="mode quorum needs quorum"):
        load_file(path)
