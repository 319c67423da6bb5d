"""The risk register's rules: a 5x5 rating, its level, and what a serious risk must carry."""

from __future__ import annotations

import uuid

import pytest
from monitoring_builders import CASE_ID, NOW

from monitoring_svc.domain.model import InvalidRisk, Risk, RiskLevel, RiskWasRegistered, stage_of


def _risk(
    likelihood: int = 3, impact: int = 4, mitigation: str = "a plan", title: str = "t"
) -> Risk:
    return Risk.register(
        id=uuid.uuid4(),
        case_id=CASE_ID,
        title=title,
        description="",
        likelihood=likelihood,
        impact=impact,
        owner="pm1",
        mitigation=mitigation,
        raised_by="pm1",
        now=NOW,
    )


@pytest.mark.parametrize(
    ("likelihood", "impact", "level"),
    [
        (1, 1, RiskLevel.LOW),
        (2, 2, RiskLevel.LOW),
        (1, 5, RiskLevel.MEDIUM),
        (3, 3, RiskLevel.MEDIUM),
        (2, 5, RiskLevel.HIGH),
        (4, 4, RiskLevel.HIGH),
        (4, 5, RiskLevel.CRITICAL),
        (5, 5, RiskLevel.CRITICAL),
    ],
)
def test_the_level_follows_likelihood_times_impact(
    likelihood: int, impact: int, level: RiskLevel
) -> None:
    risk = _risk(likelihood, impact)
    assert risk.score == likelihood * impact
    assert risk.level is level


@pytest.mark.parametrize(("field", "value"), [("likelihood", 0), ("likelihood", 6), ("impact", -1)])
def test_ratings_outside_one_to_five_are_refused_naming_the_field(field: str, value: int) -> None:
    ratings = {"likelihood": 3, "impact": 3, field: value}
    with pytest.raises(InvalidRisk) as refused:
        _risk(likelihood=ratings["likelihood"], impact=ratings["impact"])
    assert refused.value.problem_extra["errors"][0]["field"] == field
    assert refused.value.problem_extra["errors"][0]["rule"] == "scale_1_to_5"


def test_a_high_risk_without_a_mitigation_is_refused() -> None:
    with pytest.raises(InvalidRisk, match="mitigation"):
        _risk(4, 4, mitigation="  ")


def test_a_low_risk_may_be_registered_without_a_mitigation() -> None:
    assert _risk(1, 2, mitigation="").mitigation == ""


def test_a_blank_title_is_refused() -> None:
    with pytest.raises(InvalidRisk, match="title"):
        _risk(title="   ")


def test_registering_records_that_it_happened() -> None:
    risk = _risk()
    assert risk.events == [RiskWasRegistered(risk_id=risk.id, case_id=CASE_ID)]


@pytest.mark.parametrize(
    ("event_type", "subject", "stage"),
    [
        ("application.submitted", None, "application"),
        ("plan.approved", None, "plan"),
        ("contract.signed", None, "contract"),
        ("record.filed", None, "contract"),
        ("approval.requested", "plan", "plan"),
        ("approval.granted", "application", "application"),
        ("approval.granted", "disposition", "aftercare"),
        ("approval.granted", "something_new", None),
        ("risk.registered", None, None),
    ],
)
def test_each_event_is_placed_in_its_process_stage(
    event_type: str, subject: str | None, stage: str | None
) -> None:
    assert stage_of(event_type, subject) == stage
