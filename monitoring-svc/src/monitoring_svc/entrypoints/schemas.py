"""API models of monitoring-svc (`*Create` in, `*Read` out)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from monitoring_svc.domain.model import ProcessEvent, Risk, RiskLevel


def _no_control_characters(value: str) -> str:
    """NUL and other C0 controls (but tab and newlines) have no place in text people read."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("must not contain control characters")
    return value


Text = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_control_characters)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_characters),
]
Rating = Annotated[int, Field(ge=1, le=5, description="1 (lowest) to 5 (highest)")]


class RiskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Name
    description: Text = ""
    likelihood: Rating
    impact: Rating
    owner: Name = Field(description="who watches the risk and acts on it (a directory sub)")
    mitigation: Text = Field(default="", description="required for HIGH and CRITICAL risks")


class RiskRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    title: str
    description: str
    likelihood: int
    impact: int
    score: int
    level: RiskLevel
    owner: str
    mitigation: str
    raised_by: str
    raised_at: datetime

    @classmethod
    def of(cls, risk: Risk) -> RiskRead:
        return cls(
            id=risk.id,
            case_id=risk.case_id,
            title=risk.title,
            description=risk.description,
            likelihood=risk.likelihood,
            impact=risk.impact,
            score=risk.score,
            level=risk.level,
            owner=risk.owner,
            mitigation=risk.mitigation,
            raised_by=risk.raised_by,
            raised_at=risk.raised_at,
        )


class ProcessEventRead(BaseModel):
    event_id: uuid.UUID
    case_id: uuid.UUID
    event_type: str
    source: str
    stage: str | None
    actor: str
    occurred_at: datetime

    @classmethod
    def of(cls, event: ProcessEvent) -> ProcessEventRead:
        return cls(**vars(event))
