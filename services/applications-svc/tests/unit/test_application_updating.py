"""Updating an application: who may edit it, while it is editable, and what a refusal leaves."""

from __future__ import annotations

from datetime import date

import pytest
from applications_builders import (
    APPLICANT,
    LATER,
    NOT_EDITABLE,
    application_in,
    snapshot,
)

from applications_svc.domain.model import (
    EDITABLE,
    CaseStatus,
    InvalidApplication,
    InvalidTransition,
    NotTheApplicant,
)


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_the_applicant_updates_an_editable_application(status: CaseStatus) -> None:
    app = application_in(status)

    app.update(by=APPLICANT, now=LATER, title="ERP migration, phase 1", end_date=date(2025, 6, 30))

    assert (app.title, app.end_date) == ("ERP migration, phase 1", date(2025, 6, 30))
    assert app.updated_at == LATER


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_updating_leaves_the_case_in_its_state_without_a_history_entry(
    status: CaseStatus,
) -> None:
    app = application_in(status)
    history = list(app.history)

    app.update(by=APPLICANT, now=LATER, title="ERP migration, phase 1")

    assert app.status == status
    assert app.history == history


def test_only_the_applicant_can_update_the_application() -> None:
    app = application_in(CaseStatus.DRAFT)
    before = snapshot(app)

    with pytest.raises(NotTheApplicant, match="only the applicant can edit this application"):
        app.update(by="mallory", now=LATER, title="hijacked")

    assert snapshot(app) == before


@pytest.mark.parametrize("status", NOT_EDITABLE)
def test_an_application_cannot_be_updated_once_it_left_drafting(status: CaseStatus) -> None:
    app = application_in(status)
    before = snapshot(app)

    with pytest.raises(
        InvalidTransition, match=f"cannot edit the application: the case is {status}"
    ):
        app.update(by=APPLICANT, now=LATER, title="too late")

    assert snapshot(app) == before


@pytest.mark.parametrize(
    "dates",
    [
        {"end_date": date(2025, 3, 31)},
        {"start_date": date(2025, 10, 1)},
        {"start_date": date(2025, 5, 2), "end_date": date(2025, 5, 1)},
    ],
    ids=["end-moved-before-start", "start-moved-after-end", "both-moved"],
)
def test_an_update_that_ends_the_project_before_it_starts_is_refused(
    dates: dict[str, date],
) -> None:
    app = application_in(CaseStatus.DRAFT)

    with pytest.raises(InvalidApplication, match="is before start_date"):
        app.update(by=APPLICANT, now=LATER, **dates)


def test_a_refused_update_leaves_the_application_unchanged() -> None:
    app = application_in(CaseStatus.DRAFT)
    before = snapshot(app)

    with pytest.raises(InvalidApplication):
        app.update(by=APPLICANT, now=LATER, end_date=date(2025, 3, 31))

    assert snapshot(app) == before
