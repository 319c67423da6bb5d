"""The process definition: one versioned YAML file per version, loaded and validated here."""

from guakao_shared.process.definition import (
    ApprovalMode,
    Assignees,
    Condition,
    PolicyDef,
    ProcessDefinition,
    ProcessDefinitionError,
    StageDef,
    StepDef,
    StepPolicy,
    definition,
    latest_version,
    load_file,
)

__all__ = [
    "ApprovalMode",
    "Assignees",
    "Condition",
    "PolicyDef",
    "ProcessDefinition",
    "ProcessDefinitionError",
    "StageDef",
    "StepDef",
    "StepPolicy",
    "definition",
    "latest_version",
    "load_file",
]
