"""The application aggregate: who may do what, in which state, and what it records."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from applications_svc.domain.model import (
    EDITABLE,
    TRANSITIONS,
    Application,
    ApplicationWasDecided,
    ApplicationWasSubmitted,
    CaseStatus,
    Document,
    InvalidApplication,
    InvalidTransition,
    Money,
    NotTheApplicant,
    Personnel,
    Resources,
    Risk,
    StatusChange,
)

APPLICANT = "alice"
DECIDER = "rita"
CREATED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LATER = CREATED + timedelta(hours=2)

NOT_EDITABLE = sorted(set(CaseStatus) - EDITABLE)
NOT_SUBMITTED = sorted(set(CaseStatus) - {CaseStatus.SUBMITTED})
FINAL_STATES = [CaseStatus.REJECTED, CaseStatus.WITHDRAWN, CaseStatus.ARCHIVED]


def _content(**overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "title": "ERP migration",
        "background": "the old ERP is out of support",
        "objectives": "move finance to the new ERP",
        "expected_benefits": "lower licence cost",
        "resources": Resources(
            technology=("postgresql",),
            funds=Money(Decimal("120000.00"), "CNY"),
            personnel=(Personnel("developer", 3, Decimal("60")),),
        ),
        "start_date": date(2025, 4, 1),
        "end_date": date(2025, 9, 30),
        "risks": (Risk("vendor delay", "medium", "high", "fixed-price contract"),),
    }
    content.update(overrides)
    return content


def _draft(**overrides: Any) -> Application:
    return Application.draft(
        id=uuid.uuid4(), applicant=APPLICANT, department="it", now=CREATED, **_content(**overrides)
    )


def _application_in(status: CaseStatus) -> Application:
    """An application already in `status` (arranged directly: most stages have no command yet)."""
    app = _draft()
    app.status = status
    return app


def _document(uploaded_at: datetime = LATER) -> Document:
    return Document(
        id=uuid.uuid4(),
        document_type="proposal",
        filename="proposal.pdf",
        content_type="application/pdf",
        size=1024,
        sha256="ab" * 32,
        bucket="guakao-applications",
        key="proposal.pdf",
        version_id=None,
        uploaded_by=APPLICANT,
        uploaded_at=uploaded_at,
    )


def _snapshot(app: Application) -> tuple[Any, ...]:
    return (
        app.status,
        app.updated_at,
        app.submitted_at,
        list(app.history),
        list(app.events),
        list(app.documents),
    )


# ---- drafting --------------------------------------------------------------------------


def test_a_new_draft_starts_in_draft_with_a_history_entry_by_the_applicant() -> None:
    app = _draft()

    assert app.status == CaseStatus.DRAFT
    assert app.history == [
        StatusChange(CREATED, None, CaseStatus.DRAFT, APPLICANT, "draft created")
    ]
    assert app.events == []


def test_an_end_date_before_the_start_date_is_refused() -> None:
    with pytest.raises(InvalidApplication, match="end_date 2025-03-31 is before start_date"):
        _draft(start_date=date(2025, 4, 1), end_date=date(2025, 3, 31))


def test_a_project_may_start_and_end_on_the_same_day() -> None:
    app = _draft(start_date=date(2025, 4, 1), end_date=date(2025, 4, 1))

    assert app.start_date == app.end_date


# ---- submitting ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [CaseStatus.DRAFT, CaseStatus.RETURNED])
def test_the_applicant_submits_a_draft_or_returned_application(status: CaseStatus) -> None:
    app = _application_in(status)

    app.submit(by=APPLICANT, now=LATER)

    assert app.status == CaseStatus.SUBMITTED
    assert app.submitted_at == LATER
    assert app.updated_at == LATER


@pytest.mark.parametrize("status", [CaseStatus.DRAFT, CaseStatus.RETURNED])
def test_submitting_records_who_moved_the_case_and_from_where(status: CaseStatus) -> None:
    app = _application_in(status)

    app.submit(by=APPLICANT, now=LATER)

    assert app.history[-1] == StatusChange(LATER, status, CaseStatus.SUBMITTED, APPLICANT, None)


def test_submitting_announces_that_the_application_was_submitted() -> None:
    app = _draft()

    app.submit(by=APPLICANT, now=LATER)

    assert app.events == [ApplicationWasSubmitted(app.id)]


def test_submitting_twice_is_refused_naming_the_state_and_what_is_allowed() -> None:
    app = _draft()
    app.submit(by=APPLICANT, now=LATER)

    with pytest.raises(InvalidTransition) as refused:
        app.submit(by=APPLICANT, now=LATER)

    message = str(refused.value)
    assert "cannot submit" in message
    assert "the case is SUBMITTED" in message
    assert "allowed from SUBMITTED: APPROVED, REJECTED, RETURNED, WITHDRAWN" in message
    assert (refused.value.current, refused.value.target) == (
        CaseStatus.SUBMITTED,
        CaseStatus.SUBMITTED,
    )


@pytest.mark.parametrize(
    "status",
    [
        CaseStatus.SUBMITTED,
        CaseStatus.APPROVED,
        CaseStatus.REJECTED,
        CaseStatus.WITHDRAWN,
        CaseStatus.PLANNING,
        CaseStatus.EXECUTING,
        CaseStatus.CLOSED,
        CaseStatus.ARCHIVED,
    ],
)
def test_an_application_past_drafting_cannot_be_submitted(status: CaseStatus) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    with pytest.raises(InvalidTransition, match=f"the case is {status}"):
        app.submit(by=APPLICANT, now=LATER)

    assert _snapshot(app) == before


@pytest.mark.parametrize("status", FINAL_STATES)
def test_a_refusal_in_a_final_state_says_nothing_is_allowed(status: CaseStatus) -> None:
    app = _application_in(status)

    with pytest.raises(InvalidTransition, match=r"none \(final state\)"):
        app.submit(by=APPLICANT, now=LATER)


def test_only_the_applicant_can_submit() -> None:
    app = _draft()

    with pytest.raises(NotTheApplicant, match="only the applicant can submit"):
        app.submit(by="mallory", now=LATER)

    assert app.status == CaseStatus.DRAFT
    assert app.events == []


# ---- recording the approval decision ---------------------------------------------------


@pytest.mark.parametrize(
    ("approved", "outcome"),
    [(True, CaseStatus.APPROVED), (False, CaseStatus.REJECTED)],
)
def test_a_decision_on_a_submitted_application_moves_it_to_the_outcome(
    approved: bool, outcome: CaseStatus
) -> None:
    app = _application_in(CaseStatus.SUBMITTED)

    applied = app.record_decision(approved=approved, by=DECIDER, now=LATER, comment="ok")

    assert applied is True
    assert app.status == outcome
    assert app.updated_at == LATER


@pytest.mark.parametrize(
    ("approved", "outcome", "comment"),
    [(True, CaseStatus.APPROVED, None), (False, CaseStatus.REJECTED, "budget not justified")],
)
def test_a_decision_is_recorded_in_the_history_with_the_decider_and_comment(
    approved: bool, outcome: CaseStatus, comment: str | None
) -> None:
    app = _application_in(CaseStatus.SUBMITTED)

    app.record_decision(approved=approved, by=DECIDER, now=LATER, comment=comment)

    assert app.history[-1] == StatusChange(LATER, CaseStatus.SUBMITTED, outcome, DECIDER, comment)


@pytest.mark.parametrize(
    ("approved", "outcome"),
    [(True, CaseStatus.APPROVED), (False, CaseStatus.REJECTED)],
)
def test_a_decision_announces_that_the_application_was_decided(
    approved: bool, outcome: CaseStatus
) -> None:
    app = _application_in(CaseStatus.SUBMITTED)

    app.record_decision(approved=approved, by=DECIDER, now=LATER, comment=None)

    assert app.events == [ApplicationWasDecided(app.id, outcome)]


@pytest.mark.parametrize("approved", [True, False])
@pytest.mark.parametrize("status", NOT_SUBMITTED)
def test_a_decision_on_a_case_no_longer_waiting_is_ignored_and_changes_nothing(
    status: CaseStatus, approved: bool
) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    applied = app.record_decision(approved=approved, by=DECIDER, now=LATER, comment="late")

    assert applied is False
    assert _snapshot(app) == before


def test_a_second_decision_on_the_same_application_is_ignored() -> None:
    app = _application_in(CaseStatus.SUBMITTED)
    app.record_decision(approved=True, by=DECIDER, now=LATER, comment=None)

    applied = app.record_decision(approved=False, by="someone-else", now=LATER, comment="no")

    assert applied is False
    assert app.status == CaseStatus.APPROVED
    assert app.events == [ApplicationWasDecided(app.id, CaseStatus.APPROVED)]


# ---- attaching documents ---------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_the_applicant_attaches_documents_while_the_application_is_editable(
    status: CaseStatus,
) -> None:
    app = _application_in(status)
    document = _document(uploaded_at=LATER)

    app.attach(document, by=APPLICANT)

    assert app.documents == [document]
    assert app.updated_at == LATER


@pytest.mark.parametrize("status", NOT_EDITABLE)
def test_documents_cannot_be_attached_once_the_application_left_drafting(
    status: CaseStatus,
) -> None:
    app = _application_in(status)

    with pytest.raises(InvalidTransition, match=f"cannot attach a document: the case is {status}"):
        app.attach(_document(), by=APPLICANT)

    assert app.documents == []


def test_only_the_applicant_can_attach_documents() -> None:
    app = _draft()

    with pytest.raises(NotTheApplicant, match="only the applicant can attach"):
        app.attach(_document(), by="mallory")

    assert app.documents == []


# ---- the lifecycle table ---------------------------------------------------------------

# DESIGN.md's lifecycle, written out independently of the code so a changed edge is noticed.
LIFECYCLE: dict[CaseStatus, set[CaseStatus]] = {
    CaseStatus.DRAFT: {CaseStatus.SUBMITTED, CaseStatus.WITHDRAWN},
    CaseStatus.SUBMITTED: {
        CaseStatus.APPROVED,
        CaseStatus.REJECTED,
        CaseStatus.RETURNED,
        CaseStatus.WITHDRAWN,
    },
    CaseStatus.RETURNED: {CaseStatus.SUBMITTED, CaseStatus.WITHDRAWN},
    CaseStatus.APPROVED: {CaseStatus.PLANNING},
    CaseStatus.PLANNING: {CaseStatus.PLAN_IN_REVIEW},
    CaseStatus.PLAN_IN_REVIEW: {CaseStatus.PLAN_APPROVED, CaseStatus.PLANNING},
    CaseStatus.PLAN_APPROVED: {CaseStatus.CONTRACTING},
    CaseStatus.CONTRACTING: {CaseStatus.RESOURCING},
    CaseStatus.RESOURCING: {CaseStatus.EXECUTING},
    CaseStatus.EXECUTING: {CaseStatus.EVALUATING},
    CaseStatus.EVALUATING: {CaseStatus.CLOSED, CaseStatus.EXECUTING},
    CaseStatus.CLOSED: {CaseStatus.MAINTENANCE},
    CaseStatus.MAINTENANCE: {CaseStatus.ARCHIVED},
    CaseStatus.REJECTED: set(),
    CaseStatus.WITHDRAWN: set(),
    CaseStatus.ARCHIVED: set(),
}


@pytest.mark.parametrize("status", list(CaseStatus))
def test_each_state_allows_exactly_the_lifecycle_moves(status: CaseStatus) -> None:
    assert TRANSITIONS[status] == LIFECYCLE[status]
