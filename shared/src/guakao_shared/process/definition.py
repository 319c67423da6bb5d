"""Loading and validating the process definition (`v<N>.yaml` beside this module).

A broken definition is refused at start with the file, the line and the reason, e.g.
`v2.yaml:57: stages.0.steps.0.required_materials.1: unknown document type 'feasability'`.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from guakao_shared.identity import Role

DEFINITIONS_DIR = Path(__file__).parent
ApprovalMode = Literal["any", "all", "quorum", "weighted"]
KNOWN_ROLES = frozenset(r.value for r in Role)


class ProcessDefinitionError(ValueError):
    pass


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Assignees(_Model):
    """Who decides a step: one role, several roles, or named users."""

    role: str | None = None
    roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    scope: Literal["any", "requester_department"] = "any"

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Self:
        kinds = [bool(self.role), bool(self.roles), bool(self.users)]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of role, roles or users")
        for role in (self.role,) if self.role else self.roles:
            if role not in KNOWN_ROLES:
                raise ValueError(f"unknown role {role!r}")
        return self

    @property
    def all_roles(self) -> tuple[str, ...]:
        return (self.role,) if self.role else self.roles


class Condition(_Model):
    """When a step applies (the authority matrix): by amount and by attributes."""

    amount_over: Annotated[float, Field(ge=0)] | None = None
    attribute_equals: dict[str, str] = Field(default_factory=dict)

    def matches(self, amount: float | None, attributes: dict[str, str]) -> bool:
        if self.amount_over is not None and (amount is None or amount <= self.amount_over):
            return False
        return all(attributes.get(k) == v for k, v in self.attribute_equals.items())


class StepPolicy(_Model):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    assignees: Assignees
    mode: ApprovalMode = "any"
    quorum: Annotated[int, Field(ge=1)] | None = None
    weights: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    threshold: Annotated[float, Field(gt=0, le=1)] | None = None
    time_limit_hours: Annotated[float, Field(gt=0, le=24 * 365)]
    escalate_to: str | None = None
    when: Condition | None = None
    exclude_reporting_line: bool = False
    redo_on_return: bool = True

    @model_validator(mode="after")
    def _mode_parameters(self) -> Self:
        if self.mode == "quorum" and self.quorum is None:
            raise ValueError("mode quorum needs quorum: N")
        if self.mode != "quorum" and self.quorum is not None:
            raise ValueError("quorum is only meaningful with mode quorum")
        if self.mode == "weighted" and self.threshold is None:
            raise ValueError("mode weighted needs threshold (0-1] of the total weight")
        if self.users and self.mode == "quorum" and self.quorum > len(self.users):  # type: ignore[operator]
            raise ValueError(f"quorum {self.quorum} exceeds the {len(self.users)} named users")
        if self.escalate_to is not None and self.escalate_to not in KNOWN_ROLES:
            raise ValueError(f"unknown escalation role {self.escalate_to!r}")
        return self

    @property
    def users(self) -> tuple[str, ...]:
        return self.assignees.users


class PolicyDef(_Model):
    title: str
    steps: Annotated[tuple[StepPolicy, ...], Field(min_length=1)]


class StepDef(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str
    owner_role: str
    operating_steps: tuple[str, ...] = ()
    required_materials: tuple[str, ...] = ()
    approval_policy: str | None = None
    time_limit_hours: Annotated[float, Field(gt=0)]


class StageDef(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    number: Annotated[int, Field(ge=1, le=7)]
    title: str
    owner_role: str
    steps: Annotated[tuple[StepDef, ...], Field(min_length=1)]


class ProcessDefinition(_Model):
    version: Annotated[int, Field(ge=1)]
    name: str
    effective_from: date
    owner: str
    document_types: dict[str, str]
    mandatory_clauses: Annotated[dict[str, str], Field(min_length=1)]
    policies: dict[str, PolicyDef]
    stages: Annotated[tuple[StageDef, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        for i, stage in enumerate(self.stages):
            self._check_role(stage.owner_role, f"stages.{i}.owner_role")
            for j, step in enumerate(stage.steps):
                where = f"stages.{i}.steps.{j}"
                self._check_role(step.owner_role, f"{where}.owner_role")
                for k, material in enumerate(step.required_materials):
                    if material not in self.document_types:
                        raise _LocatedError(
                            f"{where}.required_materials.{k}", f"unknown document type {material!r}"
                        )
                if step.approval_policy and step.approval_policy not in self.policies:
                    raise _LocatedError(
                        f"{where}.approval_policy",
                        f"unknown approval policy {step.approval_policy!r}",
                    )
        return self

    @staticmethod
    def _check_role(role: str, where: str) -> None:
        if role not in KNOWN_ROLES:
            raise _LocatedError(where, f"unknown role {role!r}")

    def step(self, stage_id: str, step_id: str) -> StepDef:
        for stage in self.stages:
            if stage.id == stage_id:
                for step in stage.steps:
                    if step.id == step_id:
                        return step
        raise KeyError(f"{stage_id}.{step_id}")

    def approval_policy(self, stage_id: str, step_id: str) -> str:
        """The name of the approval policy a step runs: every service asks here, by stage and
        step, instead of naming a policy in code."""
        policy = self.step(stage_id, step_id).approval_policy
        if policy is None:
            raise KeyError(f"step {stage_id}.{step_id} has no approval policy")
        return policy

    def policy(self, name: str) -> PolicyDef:
        try:
            return self.policies[name]
        except KeyError:
            raise KeyError(
                f"no approval policy {name!r} in process version {self.version}"
            ) from None


class _LocatedError(ValueError):
    def __init__(self, loc: str, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _line_of(node: yaml.Node, loc: list[str]) -> int:
    """The 1-based line of the YAML node at `loc` (or of its nearest existing ancestor)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            match = node.value[int(part)]
        else:
            match = None
        if match is None:
            break
        node = match
    return node.start_mark.line + 1


def load_file(path: Path) -> ProcessDefinition:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProcessDefinitionError(f"{path.name}: not valid YAML: {exc}") from None
    if root is None:
        raise ProcessDefinitionError(f"{path.name}: the file is empty")
    try:
        result = ProcessDefinition.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            ctx_error = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_error, _LocatedError):
                loc, message = ctx_error.loc.split("."), str(ctx_error)
            else:
                message = err["msg"].removeprefix("Value error, ")
            lines.append(
                f"{path.name}:{_line_of(root, loc)}: {'.'.join(loc) or '(root)'}: {message}"
            )
        raise ProcessDefinitionError(
            "invalid process definition:\n  " + "\n  ".join(lines)
        ) from None
    expected = f"v{result.version}.yaml"
    if path.name != expected:
        raise ProcessDefinitionError(
            f"{path.name}:1: version {result.version} must live in {expected}"
        )
    return result


@cache
def _all() -> dict[int, ProcessDefinition]:
    found = {}
    for path in sorted(DEFINITIONS_DIR.glob("v*.yaml")):
        loaded = load_file(path)
        found[loaded.version] = loaded
    if not found:
        raise ProcessDefinitionError(f"no process definition (v<N>.yaml) in {DEFINITIONS_DIR}")
    return found


def latest_version() -> int:
    return max(_all())


def definition(version: int | None = None) -> ProcessDefinition:
    """The definition of `version` (the latest when None); raises KeyError for an unknown one."""
    versions = _all()
    if version is None:
        return versions[max(versions)]
    if version not in versions:
        raise KeyError(f"process definition version {version} does not exist")
    return versions[version]
