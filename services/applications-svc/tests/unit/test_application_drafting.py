"""Drafting an application: the state a new case starts in, and its dates."""

from __future__ import annotations

from datetime import date

import pytest
from applications_builders import (
    APPLICANT,
    CREATED,
    new_draft,
)

from applications_svc.domain.model import (
    CaseStatus,
    InvalidApplication,
    StatusChange,
)


def test_a_new_draft_starts_in_draft_with_a_history_entry_by_the_applicant() -> None:
    app = new_draft()

    assert app.status == CaseStatus.DRAFT
    assert app.history == [
        StatusChange(CREATED, None, CaseStatus.DRAFT, APPLICANT, "draft created")
    ]
    assert app.events == []


def test_a_new_draft_has_no_process_version_no_awaited_approval_and_no_plan() -> None:
    app = new_draft()

    assert (app.process_version, app.approval_request_id, app.plan) == (None, None, None)


def test_an_end_date_before_the_start_date_is_refused() -> None:
    with pytest.raises(InvalidApplication, match="end_date 2025-03-31 is before start_date"):
        new_draft(start_date=date(2025, 4, 1), end_date=date(2025, 3, 31))


def test_a_project_may_start_and_end_on_the_same_day() -> None:
    app = new_draft(start_date=date(2025, 4, 1), end_date=date(2025, 4, 1))

    assert app.start_date == app.end_date
