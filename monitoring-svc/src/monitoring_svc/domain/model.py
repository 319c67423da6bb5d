"""What monitoring-svc measures, in plain Python: the risk register of a case (stage 5) and the
process event log that the monitoring platform analyses (every case's events, by stage).

Monitoring measures and warns; it never changes a case (that is applications-svc's).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

SCALE = range(1, 6)  # likelihood and impact are rated 1 (lowest) to 5 (highest)


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


# Upper bounds of each level's score (likelihood x impact, 1..25): the usual 5x5 matrix.
LEVEL_BOUNDS: tuple[tuple[int, RiskLevel], ...] = (
    (4, RiskLevel.LOW),
    (9, RiskLevel.MEDIUM),
    (16, RiskLevel.HIGH),
    (25, RiskLevel.CRITICAL),
)


NEEDS_MITIGATION = frozenset({RiskLevel.HIGH, RiskLevel.CRITICAL})


class InvalidRisk(ValueError):
    """A risk that breaks a rule; names the field and the rule."""

    def __init__(self, field_name: str, rule: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.problem_extra: dict[str, Any] = {
            "errors": [{"field": field_name, "rule": rule, "message": message}]
        }


@dataclass(frozen=True)
class RiskWasRegistered:
    risk_id: uuid.UUID
    case_id: uuid.UUID


@dataclass
class Risk:
    id: uuid.UUID
    case_id: uuid.UUID
    title: str
    description: str
    likelihood: int
    impact: int
    owner: str
    mitigation: str
    raised_by: str
    raised_at: datetime
    events: list[RiskWasRegistered] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def register(
        cls,
        *,
        id: uuid.UUID,
        case_id: uuid.UUID,
        title: str,
        description: str,
        likelihood: int,
        impact: int,
        owner: str,
        mitigation: str,
        raised_by: str,
        now: datetime,
    ) -> Risk:
        for name, value in (("likelihood", likelihood), ("impact", impact)):
            if value not in SCALE:
                raise InvalidRisk(name, "scale_1_to_5", f"must be 1 to 5, not {value}")
        if not title.strip():
            raise InvalidRisk("title", "not_blank", "a risk needs a title")
        if not mitigation.strip() and level_of(likelihood * impact) in NEEDS_MITIGATION:
            raise InvalidRisk(
                "mitigation", "required_above_medium", "a high or critical risk needs a mitigation"
            )
        risk = cls(
            id=id,
            case_id=case_id,
            title=title.strip(),
            description=description,
            likelihood=likelihood,
            impact=impact,
            owner=owner,
            mitigation=mitigation.strip(),
            raised_by=raised_by,
            raised_at=now,
        )
        risk.events.append(RiskWasRegistered(risk_id=id, case_id=case_id))
        return risk

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @property
    def level(self) -> RiskLevel:
        return level_of(self.score)


def level_of(score: int) -> RiskLevel:
    return next(level for bound, level in LEVEL_BOUNDS if score <= bound)


# ---- the process event log -----------------------------------------------------------------

# The stage an event belongs to, by the prefix of its type; approvals by what they decide on.
STAGE_OF_PREFIX = {
    "application": "application",
    "plan": "plan",
    "contract": "contract",
    "record": "contract",
}
STAGE_OF_SUBJECT = {
    "application": "application",
    "plan": "plan",
    "contract": "contract",
    "disposition": "aftercare",
}


def stage_of(event_type: str, subject_type: str | None = None) -> str | None:
    """The process stage an event is part of, or None when it belongs to none we know."""
    prefix = event_type.split(".", 1)[0]
    if prefix == "approval":
        return STAGE_OF_SUBJECT.get(subject_type or "")
    return STAGE_OF_PREFIX.get(prefix)


@dataclass(frozen=True)
class ProcessEvent:
    """One entry of a case's event log: what happened, in which stage, who did it, when."""

    event_id: uuid.UUID
    case_id: uuid.UUID
    event_type: str
    source: str
    stage: str | None
    actor: str
    occurred_at: datetime
