"""The outcome of the necessity review (stage 1): where it moves the case, and what it ignores."""

from __future__ import annotations

import uuid

import pytest
from applications_builders import (
    AWAITING_AN_OUTCOME,
    DECIDER,
    DECIDING_OUTCOMES,
    EVEN_LATER,
    LATER,
    NOT_AWAITING_AN_OUTCOME,
    application_in,
    awaited_request,
    decide,
    snapshot,
    submit,
)

from applications_svc.domain.model import (
    ApplicationWasDecided,
    CaseStatus,
    Outcome,
    Plan,
    StatusChange,
)


@pytest.mark.parametrize(
    ("outcome", "passes_through"),
    [
        (Outcome.APPROVED, [CaseStatus.APPROVED, CaseStatus.PLANNING]),
        (Outcome.REJECTED, [CaseStatus.REJECTED]),
        (Outcome.RETURNED, [CaseStatus.RETURNED]),
    ],
)
def test_an_outcome_on_a_submitted_application_moves_it_through_these_states(
    outcome: Outcome, passes_through: list[CaseStatus]
) -> None:
    app = application_in(CaseStatus.SUBMITTED)
    recorded = len(app.history)

    applied = decide(app, outcome, now=LATER, comment="ok")

    assert applied is True
    assert [change.to_status for change in app.history[recorded:]] == passes_through
    assert app.status == passes_through[-1]
    assert app.updated_at == LATER


@pytest.mark.parametrize(
    ("outcome", "status", "comment"),
    [
        (Outcome.APPROVED, CaseStatus.APPROVED, None),
        (Outcome.REJECTED, CaseStatus.REJECTED, "budget not justified"),
        (Outcome.RETURNED, CaseStatus.RETURNED, "add the budget breakdown"),
    ],
)
def test_an_outcome_is_recorded_in_the_history_with_the_decider_and_comment(
    outcome: Outcome, status: CaseStatus, comment: str | None
) -> None:
    app = application_in(CaseStatus.SUBMITTED)
    recorded = len(app.history)

    decide(app, outcome, now=LATER, comment=comment)

    assert app.history[recorded] == StatusChange(
        LATER, CaseStatus.SUBMITTED, status, DECIDER, comment
    )


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.APPROVED, CaseStatus.APPROVED),
        (Outcome.REJECTED, CaseStatus.REJECTED),
        (Outcome.RETURNED, CaseStatus.RETURNED),
    ],
)
def test_an_outcome_announces_that_the_application_was_decided(
    outcome: Outcome, status: CaseStatus
) -> None:
    app = application_in(CaseStatus.SUBMITTED)

    decide(app, outcome, now=LATER)

    assert app.events == [ApplicationWasDecided(app.id, status)]


def test_an_approved_application_is_handed_to_planning_by_the_system() -> None:
    app = application_in(CaseStatus.SUBMITTED)

    decide(app, Outcome.APPROVED, now=LATER)

    assert app.history[-1] == StatusChange(
        LATER, CaseStatus.APPROVED, CaseStatus.PLANNING, "system", "plan design starts (stage 2)"
    )


@pytest.mark.parametrize(
    ("outcome", "plan"),
    [(Outcome.APPROVED, Plan()), (Outcome.REJECTED, None), (Outcome.RETURNED, None)],
)
def test_only_an_approval_starts_an_empty_plan(outcome: Outcome, plan: Plan | None) -> None:
    app = application_in(CaseStatus.SUBMITTED)

    decide(app, outcome, now=LATER)

    assert app.plan == plan


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
def test_an_applied_outcome_ends_the_wait_for_that_request(outcome: Outcome) -> None:
    app = application_in(CaseStatus.SUBMITTED)

    decide(app, outcome, now=LATER)

    assert app.approval_request_id is None


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
def test_a_stale_outcome_for_an_earlier_request_changes_nothing(outcome: Outcome) -> None:
    app = application_in(CaseStatus.DRAFT)
    earlier = submit(app)
    decide(app, Outcome.RETURNED, comment="add the budget breakdown")
    current = submit(app)
    app.events.clear()
    before = snapshot(app)

    applied = app.record_outcome(
        request_id=earlier, outcome=outcome, by=DECIDER, now=LATER, comment="stale"
    )

    assert applied is False
    assert snapshot(app) == before
    assert app.approval_request_id == current


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
@pytest.mark.parametrize("status", AWAITING_AN_OUTCOME)
def test_an_outcome_for_a_request_the_case_never_made_changes_nothing(
    status: CaseStatus, outcome: Outcome
) -> None:
    app = application_in(status)
    before = snapshot(app)

    applied = app.record_outcome(
        request_id=uuid.uuid4(), outcome=outcome, by=DECIDER, now=LATER, comment="stray"
    )

    assert applied is False
    assert snapshot(app) == before


@pytest.mark.parametrize("status", AWAITING_AN_OUTCOME)
def test_a_withdrawn_outcome_is_ignored_even_for_the_awaited_request(status: CaseStatus) -> None:
    app = application_in(status)
    before = snapshot(app)

    applied = decide(app, Outcome.WITHDRAWN, now=LATER, comment="withdrawn")

    assert applied is False
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (Outcome.APPROVED, Outcome.REJECTED),
        (Outcome.REJECTED, Outcome.APPROVED),
        (Outcome.RETURNED, Outcome.APPROVED),
        (Outcome.APPROVED, Outcome.APPROVED),
    ],
)
def test_a_second_outcome_for_the_same_request_is_ignored(first: Outcome, second: Outcome) -> None:
    app = application_in(CaseStatus.SUBMITTED)
    request_id = awaited_request(app)
    decide(app, first, now=LATER)
    before = snapshot(app)

    applied = app.record_outcome(
        request_id=request_id, outcome=second, by="someone-else", now=EVEN_LATER, comment="again"
    )

    assert applied is False
    assert snapshot(app) == before


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
@pytest.mark.parametrize("status", NOT_AWAITING_AN_OUTCOME)
def test_an_outcome_on_a_case_awaiting_none_is_ignored_and_changes_nothing(
    status: CaseStatus, outcome: Outcome
) -> None:
    app = application_in(status)
    before = snapshot(app)

    applied = app.record_outcome(
        request_id=uuid.uuid4(), outcome=outcome, by=DECIDER, now=LATER, comment="late"
    )

    assert applied is False
    assert snapshot(app) == before
