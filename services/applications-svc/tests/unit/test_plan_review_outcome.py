"""The outcome of the plan review (stage 2)."""

from __future__ import annotations

import pytest
from applications_builders import (
    DECIDER,
    DECIDING_OUTCOMES,
    EVEN_LATER,
    LATER,
    application_in,
    awaited_request,
    decide,
    edit_section,
    sign_off_section,
    snapshot,
    submit_the_plan,
)

from applications_svc.domain.model import (
    CaseStatus,
    Outcome,
    PlanWasApproved,
    PlanWasSubmitted,
    StatusChange,
)


def test_an_approved_plan_is_plan_approved_with_the_decider_and_comment() -> None:
    app = application_in(CaseStatus.PLAN_IN_REVIEW)

    applied = decide(app, Outcome.APPROVED, now=LATER, comment="go ahead")

    assert applied is True
    assert app.status == CaseStatus.PLAN_APPROVED
    assert app.history[-1] == StatusChange(
        LATER, CaseStatus.PLAN_IN_REVIEW, CaseStatus.PLAN_APPROVED, DECIDER, "go ahead"
    )


@pytest.mark.parametrize("minutes", [{"minutes_id": "m-17", "attendees": 5}, None])
def test_an_approved_plan_announces_its_version_with_the_minutes(minutes: object) -> None:
    app = application_in(CaseStatus.PLAN_IN_REVIEW)

    decide(app, Outcome.APPROVED, now=LATER, record=minutes)

    assert app.events == [PlanWasApproved(plan_version=2, minutes=minutes)]


@pytest.mark.parametrize(
    ("outcome", "note"),
    [
        (Outcome.REJECTED, "rejected: the budget is too high"),
        (Outcome.RETURNED, "returned: the budget is too high"),
    ],
)
def test_a_plan_rejected_or_returned_goes_back_to_planning_noting_why(
    outcome: Outcome, note: str
) -> None:
    app = application_in(CaseStatus.PLAN_IN_REVIEW)

    applied = decide(app, outcome, now=LATER, comment="the budget is too high")

    assert applied is True
    assert app.status == CaseStatus.PLANNING
    assert app.history[-1] == StatusChange(
        LATER, CaseStatus.PLAN_IN_REVIEW, CaseStatus.PLANNING, DECIDER, note
    )
    assert app.events == []


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
def test_a_plan_review_outcome_ends_the_wait_for_that_request(outcome: Outcome) -> None:
    app = application_in(CaseStatus.PLAN_IN_REVIEW)

    decide(app, outcome, now=LATER, comment="reviewed")

    assert app.approval_request_id is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (Outcome.APPROVED, Outcome.RETURNED),
        (Outcome.RETURNED, Outcome.APPROVED),
        (Outcome.REJECTED, Outcome.APPROVED),
    ],
)
def test_a_second_outcome_for_the_same_plan_review_is_ignored(
    first: Outcome, second: Outcome
) -> None:
    app = application_in(CaseStatus.PLAN_IN_REVIEW)
    request_id = awaited_request(app)
    decide(app, first, now=LATER, comment="reviewed")
    before = snapshot(app)

    applied = app.record_outcome(
        request_id=request_id, outcome=second, by="someone-else", now=EVEN_LATER, comment="again"
    )

    assert applied is False
    assert snapshot(app) == before


def test_a_returned_plan_is_revised_signed_off_again_and_resubmitted() -> None:
    app = application_in(CaseStatus.PLAN_IN_REVIEW)
    decide(app, Outcome.RETURNED, comment="the budget is too high")
    edit_section(
        app, "finance", {"budget": [{"item": "licences", "amount": 90000, "currency": "CNY"}]}
    )
    sign_off_section(app, "finance")
    app.events.clear()

    second = submit_the_plan(app, now=LATER)

    assert app.status == CaseStatus.PLAN_IN_REVIEW
    assert app.approval_request_id == second
    assert app.events == [PlanWasSubmitted(3)]


def test_a_stale_plan_review_outcome_for_an_earlier_request_changes_nothing() -> None:
    app = application_in(CaseStatus.PLAN_IN_REVIEW)
    earlier = awaited_request(app)
    decide(app, Outcome.RETURNED, comment="the budget is too high")
    submit_the_plan(app)
    app.events.clear()
    before = snapshot(app)

    applied = app.record_outcome(
        request_id=earlier, outcome=Outcome.APPROVED, by=DECIDER, now=LATER, comment="stale"
    )

    assert applied is False
    assert snapshot(app) == before
