"""Withdrawing an application while it is still in the application stage."""

from __future__ import annotations

import pytest
from applications_builders import (
    APPLICANT,
    DECIDER,
    DECIDING_OUTCOMES,
    EVEN_LATER,
    LATER,
    NOT_WITHDRAWABLE,
    WITHDRAWABLE,
    application_in,
    awaited_request,
    snapshot,
)

from applications_svc.domain.model import (
    EDITABLE,
    ApplicationWasWithdrawn,
    CaseStatus,
    InvalidTransition,
    NotTheApplicant,
    Outcome,
    StatusChange,
)


@pytest.mark.parametrize("status", WITHDRAWABLE)
def test_the_applicant_withdraws_a_case_still_in_the_application_stage(
    status: CaseStatus,
) -> None:
    app = application_in(status)

    app.withdraw(by=APPLICANT, now=LATER, reason="the vendor went bankrupt")

    assert app.status == CaseStatus.WITHDRAWN
    assert app.updated_at == LATER
    assert app.history[-1] == StatusChange(
        LATER, status, CaseStatus.WITHDRAWN, APPLICANT, "the vendor went bankrupt"
    )


def test_withdrawing_a_submitted_case_names_the_pending_approval_request() -> None:
    app = application_in(CaseStatus.SUBMITTED)
    pending = app.approval_request_id

    app.withdraw(by=APPLICANT, now=LATER, reason=None)

    assert pending is not None
    assert app.events == [ApplicationWasWithdrawn(pending)]


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_withdrawing_a_case_that_awaits_no_approval_names_no_request(status: CaseStatus) -> None:
    app = application_in(status)

    app.withdraw(by=APPLICANT, now=LATER, reason=None)

    assert app.events == [ApplicationWasWithdrawn(None)]


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
def test_an_outcome_for_the_request_of_a_withdrawn_case_changes_nothing(
    outcome: Outcome,
) -> None:
    app = application_in(CaseStatus.SUBMITTED)
    request_id = awaited_request(app)
    app.withdraw(by=APPLICANT, now=LATER, reason=None)
    before = snapshot(app)

    applied = app.record_outcome(
        request_id=request_id, outcome=outcome, by=DECIDER, now=EVEN_LATER, comment="late"
    )

    assert applied is False
    assert snapshot(app) == before


def test_only_the_applicant_can_withdraw() -> None:
    app = application_in(CaseStatus.SUBMITTED)
    before = snapshot(app)

    with pytest.raises(NotTheApplicant, match="only the applicant can withdraw"):
        app.withdraw(by="mallory", now=LATER, reason=None)

    assert snapshot(app) == before


@pytest.mark.parametrize("status", NOT_WITHDRAWABLE)
def test_a_case_past_the_application_stage_cannot_be_withdrawn(status: CaseStatus) -> None:
    app = application_in(status)
    before = snapshot(app)

    with pytest.raises(
        InvalidTransition,
        match=f"cannot withdraw: the case is {status}, and {status} -> WITHDRAWN is not allowed",
    ):
        app.withdraw(by=APPLICANT, now=LATER, reason=None)

    assert snapshot(app) == before
