"""The application aggregate: who may do what, in which state, and what it records."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from applications_svc.domain.model import (
    EDITABLE,
    MANDATORY_CLAUSES,
    STAGE_OF_STATUS,
    TRANSITIONS,
    Application,
    ApplicationWasDecided,
    ApplicationWasSubmitted,
    ApplicationWasWithdrawn,
    CaseStatus,
    Document,
    InvalidApplication,
    InvalidTransition,
    MissingMaterials,
    Money,
    NotTheApplicant,
    Outcome,
    Personnel,
    Plan,
    PlanNotReady,
    PlanWasApproved,
    PlanWasSubmitted,
    Resources,
    Risk,
    RoleRequired,
    SignOff,
    StatusChange,
)

APPLICANT = "alice"
DECIDER = "rita"
TECH_LEAD, TECH_LEAD_ROLES = "tom", frozenset({"tech_lead"})
FINANCE, FINANCE_ROLES = "fiona", frozenset({"finance"})
SECTION_OWNERS: dict[str, tuple[str, frozenset[str]]] = {
    "technical": (TECH_LEAD, TECH_LEAD_ROLES),
    "finance": (FINANCE, FINANCE_ROLES),
}

CREATED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ARRANGED = CREATED + timedelta(hours=1)  # when the steps that arrange a test happened
LATER = CREATED + timedelta(hours=2)  # when the step under test happens
EVEN_LATER = LATER + timedelta(hours=1)

# Stage 1's required materials as the process definition (v1) lists them.
REQUIRED = ("feasibility_study", "resource_request", "risk_assessment")
PROCESS_VERSION = 1

# The seven contract clauses of the specification, written out independently of the code.
CLAUSES = (
    "scope_of_cooperation",
    "responsibilities",
    "fund_management",
    "technical_standards",
    "ip_ownership",
    "breach_liability",
    "risk_allocation",
)
TECHNICAL_SECTION: dict[str, Any] = {
    "cooperation_mode": "joint development",
    "contract_terms": {clause: f"the agreed {clause.replace('_', ' ')}" for clause in CLAUSES},
}
FINANCE_SECTION: dict[str, Any] = {
    "budget": [{"item": "licences", "amount": 120000, "currency": "CNY"}]
}
SECTION_CONTENT = {"technical": TECHNICAL_SECTION, "finance": FINANCE_SECTION}

ALL_STATUSES = list(CaseStatus)
NOT_EDITABLE = sorted(set(CaseStatus) - EDITABLE)
NOT_PLANNING = sorted(set(CaseStatus) - {CaseStatus.PLANNING})
WITHDRAWABLE = [CaseStatus.DRAFT, CaseStatus.SUBMITTED, CaseStatus.RETURNED]
NOT_WITHDRAWABLE = sorted(set(CaseStatus) - set(WITHDRAWABLE))
AWAITING_AN_OUTCOME = [CaseStatus.SUBMITTED, CaseStatus.PLAN_IN_REVIEW]
NOT_AWAITING_AN_OUTCOME = sorted(set(CaseStatus) - set(AWAITING_AN_OUTCOME))
FINAL_STATES = [CaseStatus.REJECTED, CaseStatus.WITHDRAWN, CaseStatus.ARCHIVED]
DECIDING_OUTCOMES = [Outcome.APPROVED, Outcome.REJECTED, Outcome.RETURNED]


# ---- arranging -------------------------------------------------------------------------


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


def _document(
    document_type: str = "feasibility_study", uploaded_at: datetime = ARRANGED
) -> Document:
    return Document(
        id=uuid.uuid4(),
        document_type=document_type,
        filename=f"{document_type}.pdf",
        content_type="application/pdf",
        size=1024,
        sha256="ab" * 32,
        bucket="guakao-applications",
        key=f"{document_type}.pdf",
        version_id=None,
        uploaded_by=APPLICANT,
        uploaded_at=uploaded_at,
    )


def _draft_with(*document_types: str) -> Application:
    app = _draft()
    for document_type in document_types:
        app.attach(_document(document_type), by=APPLICANT)
    return app


def _submit(
    app: Application,
    *,
    now: datetime = ARRANGED,
    request_id: uuid.UUID | None = None,
    process_version: int = PROCESS_VERSION,
    required_materials: tuple[str, ...] = REQUIRED,
) -> uuid.UUID:
    request_id = request_id or uuid.uuid4()
    app.submit(
        by=APPLICANT,
        now=now,
        required_materials=required_materials,
        process_version=process_version,
        request_id=request_id,
    )
    return request_id


def _decide(
    app: Application,
    outcome: Outcome,
    *,
    now: datetime = ARRANGED,
    comment: str | None = None,
    record: object | None = None,
) -> bool:
    """Record `outcome` for the approval the case awaits."""
    assert app.approval_request_id is not None, "the case awaits no approval"
    return app.record_outcome(
        request_id=app.approval_request_id,
        outcome=outcome,
        by=DECIDER,
        now=now,
        comment=comment,
        record=record,
    )


def _edit(
    app: Application,
    section: str,
    content: dict[str, Any] | None = None,
    *,
    now: datetime = ARRANGED,
) -> Plan:
    by, roles = SECTION_OWNERS[section]
    content = SECTION_CONTENT[section] if content is None else content
    return app.edit_plan(section, content, by=by, roles=roles, now=now)


def _sign(app: Application, section: str, *, now: datetime = ARRANGED) -> SignOff:
    by, roles = SECTION_OWNERS[section]
    return app.sign_off_plan(section, by=by, roles=roles, now=now)


def _complete_the_plan(app: Application) -> None:
    for section in SECTION_OWNERS:
        _edit(app, section)
    for section in SECTION_OWNERS:
        _sign(app, section)


def _submit_plan(
    app: Application, *, now: datetime = ARRANGED, request_id: uuid.UUID | None = None
) -> uuid.UUID:
    request_id = request_id or uuid.uuid4()
    app.submit_plan(by=TECH_LEAD, roles=TECH_LEAD_ROLES, now=now, request_id=request_id)
    return request_id


def _planning() -> Application:
    app = _draft_with(*REQUIRED)
    _submit(app)
    _decide(app, Outcome.APPROVED)
    app.events.clear()
    return app


def _application_in(status: CaseStatus) -> Application:
    """A case in `status` with every required material attached, reached through the real
    commands wherever one exists. APPROVED (passed through at once on approval) and stages 3-7
    (no commands yet) are arranged by assignment. The arrangement's events are dropped."""
    app = _draft_with(*REQUIRED)
    if status == CaseStatus.APPROVED:
        app.status = status
    elif status == CaseStatus.WITHDRAWN:
        app.withdraw(by=APPLICANT, now=ARRANGED, reason="arranged")
    elif status in (CaseStatus.SUBMITTED, CaseStatus.RETURNED, CaseStatus.REJECTED):
        _submit(app)
        if status != CaseStatus.SUBMITTED:
            _decide(app, Outcome(status.lower()))
    elif status != CaseStatus.DRAFT:
        app = _planning()
        if status != CaseStatus.PLANNING:
            _complete_the_plan(app)
            _submit_plan(app)
            if status != CaseStatus.PLAN_IN_REVIEW:
                _decide(app, Outcome.APPROVED)
                app.status = status  # PLAN_APPROVED, or a later stage arranged by assignment
    app.events.clear()
    assert app.status == status
    return app


def _snapshot(app: Application) -> dict[str, Any]:
    """Everything the aggregate holds, its events included, copied deeply."""
    return dataclasses.asdict(app)


# ---- drafting --------------------------------------------------------------------------


def test_a_new_draft_starts_in_draft_with_a_history_entry_by_the_applicant() -> None:
    app = _draft()

    assert app.status == CaseStatus.DRAFT
    assert app.history == [
        StatusChange(CREATED, None, CaseStatus.DRAFT, APPLICANT, "draft created")
    ]
    assert app.events == []


def test_a_new_draft_has_no_process_version_no_awaited_approval_and_no_plan() -> None:
    app = _draft()

    assert (app.process_version, app.approval_request_id, app.plan) == (None, None, None)


def test_an_end_date_before_the_start_date_is_refused() -> None:
    with pytest.raises(InvalidApplication, match="end_date 2025-03-31 is before start_date"):
        _draft(start_date=date(2025, 4, 1), end_date=date(2025, 3, 31))


def test_a_project_may_start_and_end_on_the_same_day() -> None:
    app = _draft(start_date=date(2025, 4, 1), end_date=date(2025, 4, 1))

    assert app.start_date == app.end_date


# ---- updating --------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_the_applicant_updates_an_editable_application(status: CaseStatus) -> None:
    app = _application_in(status)

    app.update(by=APPLICANT, now=LATER, title="ERP migration, phase 1", end_date=date(2025, 6, 30))

    assert (app.title, app.end_date) == ("ERP migration, phase 1", date(2025, 6, 30))
    assert app.updated_at == LATER


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_updating_leaves_the_case_in_its_state_without_a_history_entry(
    status: CaseStatus,
) -> None:
    app = _application_in(status)
    history = list(app.history)

    app.update(by=APPLICANT, now=LATER, title="ERP migration, phase 1")

    assert app.status == status
    assert app.history == history


def test_only_the_applicant_can_update_the_application() -> None:
    app = _application_in(CaseStatus.DRAFT)
    before = _snapshot(app)

    with pytest.raises(NotTheApplicant, match="only the applicant can edit this application"):
        app.update(by="mallory", now=LATER, title="hijacked")

    assert _snapshot(app) == before


@pytest.mark.parametrize("status", NOT_EDITABLE)
def test_an_application_cannot_be_updated_once_it_left_drafting(status: CaseStatus) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    with pytest.raises(
        InvalidTransition, match=f"cannot edit the application: the case is {status}"
    ):
        app.update(by=APPLICANT, now=LATER, title="too late")

    assert _snapshot(app) == before


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
    app = _application_in(CaseStatus.DRAFT)

    with pytest.raises(InvalidApplication, match="is before start_date"):
        app.update(by=APPLICANT, now=LATER, **dates)


def test_a_refused_update_leaves_the_application_unchanged() -> None:
    app = _application_in(CaseStatus.DRAFT)
    before = _snapshot(app)

    with pytest.raises(InvalidApplication):
        app.update(by=APPLICANT, now=LATER, end_date=date(2025, 3, 31))

    assert _snapshot(app) == before


# ---- submitting ------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_the_applicant_submits_a_draft_or_returned_application(status: CaseStatus) -> None:
    app = _application_in(status)

    _submit(app, now=LATER)

    assert app.status == CaseStatus.SUBMITTED
    assert app.submitted_at == LATER
    assert app.updated_at == LATER


@pytest.mark.parametrize(
    ("status", "note"),
    [(CaseStatus.DRAFT, None), (CaseStatus.RETURNED, "resubmitted after revision")],
)
def test_submitting_records_who_moved_the_case_from_where_and_why(
    status: CaseStatus, note: str | None
) -> None:
    app = _application_in(status)

    _submit(app, now=LATER)

    assert app.history[-1] == StatusChange(LATER, status, CaseStatus.SUBMITTED, APPLICANT, note)


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_submitting_announces_that_the_application_was_submitted(status: CaseStatus) -> None:
    app = _application_in(status)

    _submit(app, now=LATER)

    assert app.events == [ApplicationWasSubmitted(app.id)]


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_submitting_awaits_the_approval_request_it_was_given(status: CaseStatus) -> None:
    app = _application_in(status)
    request_id = uuid.uuid4()

    _submit(app, now=LATER, request_id=request_id)

    assert app.approval_request_id == request_id


@pytest.mark.parametrize("process_version", [1, 2, 7])
def test_the_first_submission_freezes_the_process_version(process_version: int) -> None:
    app = _application_in(CaseStatus.DRAFT)

    _submit(app, now=LATER, process_version=process_version)

    assert app.process_version == process_version


@pytest.mark.parametrize(("first", "current"), [(1, 2), (2, 1), (3, 3)])
def test_a_resubmission_keeps_the_process_version_of_the_first_submission(
    first: int, current: int
) -> None:
    app = _application_in(CaseStatus.DRAFT)
    _submit(app, process_version=first)
    _decide(app, Outcome.RETURNED, comment="add the budget breakdown")

    _submit(app, now=LATER, process_version=current)

    assert app.process_version == first


@pytest.mark.parametrize(
    ("attached", "missing"),
    [
        ((), ["feasibility_study", "resource_request", "risk_assessment"]),
        (("feasibility_study",), ["resource_request", "risk_assessment"]),
        (("risk_assessment",), ["feasibility_study", "resource_request"]),
        (("resource_request", "feasibility_study"), ["risk_assessment"]),
        (("plan_document", "meeting_minutes"), list(REQUIRED)),
    ],
    ids=["nothing", "first-only", "last-only", "all-but-last", "only-other-types"],
)
def test_submission_is_refused_listing_each_missing_material(
    attached: tuple[str, ...], missing: list[str]
) -> None:
    app = _draft_with(*attached)

    with pytest.raises(MissingMaterials) as refused:
        _submit(app, now=LATER)

    assert refused.value.problem_extra["missing_materials"] == missing
    assert f"required materials missing: {', '.join(missing)}" in str(refused.value)


@pytest.mark.parametrize(
    "required",
    [
        ("risk_assessment", "feasibility_study", "resource_request"),
        ("resource_request", "risk_assessment", "feasibility_study"),
    ],
)
def test_missing_materials_are_listed_in_the_order_they_are_required(
    required: tuple[str, ...],
) -> None:
    app = _draft_with("plan_document")

    with pytest.raises(MissingMaterials) as refused:
        _submit(app, now=LATER, required_materials=required)

    assert refused.value.problem_extra["missing_materials"] == list(required)


def test_each_missing_material_is_reported_as_a_documents_field_error() -> None:
    app = _draft_with("resource_request")

    with pytest.raises(MissingMaterials) as refused:
        _submit(app, now=LATER)

    assert refused.value.problem_extra["errors"] == [
        {"field": "documents", "rule": "required_material", "message": "feasibility_study"},
        {"field": "documents", "rule": "required_material", "message": "risk_assessment"},
    ]


def test_a_material_counts_only_when_attached_as_a_document_of_that_type() -> None:
    app = _draft_with("resource_request", "risk_assessment")
    app.attach(
        dataclasses.replace(_document("other"), filename="feasibility_study.pdf"), by=APPLICANT
    )

    with pytest.raises(MissingMaterials) as refused:
        _submit(app, now=LATER)

    assert refused.value.problem_extra["missing_materials"] == ["feasibility_study"]


@pytest.mark.parametrize(
    ("required", "attached"),
    [
        (REQUIRED, REQUIRED),
        (REQUIRED, (*reversed(REQUIRED), "plan_document")),
        (("feasibility_study",), ("feasibility_study", "feasibility_study")),
        ((), ()),
    ],
    ids=["exactly-the-required", "any-order-and-extras", "duplicates", "none-required"],
)
def test_submission_succeeds_once_every_required_material_is_attached(
    required: tuple[str, ...], attached: tuple[str, ...]
) -> None:
    app = _draft_with(*attached)

    _submit(app, now=LATER, required_materials=required)

    assert app.status == CaseStatus.SUBMITTED


def test_a_resubmission_checks_the_required_materials_again() -> None:
    app = _application_in(CaseStatus.RETURNED)

    with pytest.raises(MissingMaterials) as refused:
        _submit(app, now=LATER, required_materials=(*REQUIRED, "plan_document"))

    assert refused.value.problem_extra["missing_materials"] == ["plan_document"]
    assert app.status == CaseStatus.RETURNED


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_a_submission_refused_for_missing_materials_neither_moves_nor_announces_anything(
    status: CaseStatus,
) -> None:
    app = _application_in(status)
    before = (app.status, list(app.history), app.submitted_at, app.approval_request_id)

    with pytest.raises(MissingMaterials):
        _submit(app, now=LATER, required_materials=("signed_contract",))

    assert (app.status, app.history, app.submitted_at, app.approval_request_id) == before
    assert app.events == []


def test_a_submission_refused_for_missing_materials_does_not_freeze_the_process_version() -> None:
    app = _draft_with()

    with pytest.raises(MissingMaterials):
        _submit(app, now=LATER, process_version=1)

    assert app.process_version is None


def test_submitting_twice_is_refused_naming_the_state_and_what_is_allowed() -> None:
    app = _application_in(CaseStatus.DRAFT)
    _submit(app)

    with pytest.raises(InvalidTransition) as refused:
        _submit(app, now=LATER)

    message = str(refused.value)
    assert "cannot submit" in message
    assert "the case is SUBMITTED" in message
    assert "allowed from SUBMITTED: APPROVED, REJECTED, RETURNED, WITHDRAWN" in message
    assert (refused.value.current, refused.value.target) == (
        CaseStatus.SUBMITTED,
        CaseStatus.SUBMITTED,
    )


@pytest.mark.parametrize("status", NOT_EDITABLE)
def test_an_application_past_drafting_cannot_be_submitted(status: CaseStatus) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    with pytest.raises(InvalidTransition, match=f"cannot submit: the case is {status}"):
        _submit(app, now=LATER, process_version=PROCESS_VERSION + 1)

    assert _snapshot(app) == before


@pytest.mark.parametrize("status", FINAL_STATES)
def test_a_refusal_in_a_final_state_says_nothing_is_allowed(status: CaseStatus) -> None:
    app = _application_in(status)

    with pytest.raises(InvalidTransition, match=r"none \(final state\)"):
        _submit(app, now=LATER)


def test_only_the_applicant_can_submit() -> None:
    app = _application_in(CaseStatus.DRAFT)
    before = _snapshot(app)

    with pytest.raises(NotTheApplicant, match="only the applicant can submit"):
        app.submit(
            by="mallory",
            now=LATER,
            required_materials=REQUIRED,
            process_version=PROCESS_VERSION,
            request_id=uuid.uuid4(),
        )

    assert _snapshot(app) == before


# ---- withdrawing -----------------------------------------------------------------------


@pytest.mark.parametrize("status", WITHDRAWABLE)
def test_the_applicant_withdraws_a_case_still_in_the_application_stage(
    status: CaseStatus,
) -> None:
    app = _application_in(status)

    app.withdraw(by=APPLICANT, now=LATER, reason="the vendor went bankrupt")

    assert app.status == CaseStatus.WITHDRAWN
    assert app.updated_at == LATER
    assert app.history[-1] == StatusChange(
        LATER, status, CaseStatus.WITHDRAWN, APPLICANT, "the vendor went bankrupt"
    )


def test_withdrawing_a_submitted_case_names_the_pending_approval_request() -> None:
    app = _application_in(CaseStatus.SUBMITTED)
    pending = app.approval_request_id

    app.withdraw(by=APPLICANT, now=LATER, reason=None)

    assert pending is not None
    assert app.events == [ApplicationWasWithdrawn(pending)]


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_withdrawing_a_case_that_awaits_no_approval_names_no_request(status: CaseStatus) -> None:
    app = _application_in(status)

    app.withdraw(by=APPLICANT, now=LATER, reason=None)

    assert app.events == [ApplicationWasWithdrawn(None)]


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
def test_an_outcome_for_the_request_of_a_withdrawn_case_changes_nothing(
    outcome: Outcome,
) -> None:
    app = _application_in(CaseStatus.SUBMITTED)
    request_id = app.approval_request_id
    app.withdraw(by=APPLICANT, now=LATER, reason=None)
    before = _snapshot(app)

    applied = app.record_outcome(
        request_id=request_id, outcome=outcome, by=DECIDER, now=EVEN_LATER, comment="late"
    )

    assert applied is False
    assert _snapshot(app) == before


def test_only_the_applicant_can_withdraw() -> None:
    app = _application_in(CaseStatus.SUBMITTED)
    before = _snapshot(app)

    with pytest.raises(NotTheApplicant, match="only the applicant can withdraw"):
        app.withdraw(by="mallory", now=LATER, reason=None)

    assert _snapshot(app) == before


@pytest.mark.parametrize("status", NOT_WITHDRAWABLE)
def test_a_case_past_the_application_stage_cannot_be_withdrawn(status: CaseStatus) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    with pytest.raises(
        InvalidTransition,
        match=f"cannot withdraw: the case is {status}, and {status} -> WITHDRAWN is not allowed",
    ):
        app.withdraw(by=APPLICANT, now=LATER, reason=None)

    assert _snapshot(app) == before


# ---- the outcome of the necessity review -----------------------------------------------


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
    app = _application_in(CaseStatus.SUBMITTED)
    recorded = len(app.history)

    applied = _decide(app, outcome, now=LATER, comment="ok")

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
    app = _application_in(CaseStatus.SUBMITTED)
    recorded = len(app.history)

    _decide(app, outcome, now=LATER, comment=comment)

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
    app = _application_in(CaseStatus.SUBMITTED)

    _decide(app, outcome, now=LATER)

    assert app.events == [ApplicationWasDecided(app.id, status)]


def test_an_approved_application_is_handed_to_planning_by_the_system() -> None:
    app = _application_in(CaseStatus.SUBMITTED)

    _decide(app, Outcome.APPROVED, now=LATER)

    assert app.history[-1] == StatusChange(
        LATER, CaseStatus.APPROVED, CaseStatus.PLANNING, "system", "plan design starts (stage 2)"
    )


@pytest.mark.parametrize(
    ("outcome", "plan"),
    [(Outcome.APPROVED, Plan()), (Outcome.REJECTED, None), (Outcome.RETURNED, None)],
)
def test_only_an_approval_starts_an_empty_plan(outcome: Outcome, plan: Plan | None) -> None:
    app = _application_in(CaseStatus.SUBMITTED)

    _decide(app, outcome, now=LATER)

    assert app.plan == plan


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
def test_an_applied_outcome_ends_the_wait_for_that_request(outcome: Outcome) -> None:
    app = _application_in(CaseStatus.SUBMITTED)

    _decide(app, outcome, now=LATER)

    assert app.approval_request_id is None


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
def test_a_stale_outcome_for_an_earlier_request_changes_nothing(outcome: Outcome) -> None:
    app = _application_in(CaseStatus.DRAFT)
    earlier = _submit(app)
    _decide(app, Outcome.RETURNED, comment="add the budget breakdown")
    current = _submit(app)
    app.events.clear()
    before = _snapshot(app)

    applied = app.record_outcome(
        request_id=earlier, outcome=outcome, by=DECIDER, now=LATER, comment="stale"
    )

    assert applied is False
    assert _snapshot(app) == before
    assert app.approval_request_id == current


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
@pytest.mark.parametrize("status", AWAITING_AN_OUTCOME)
def test_an_outcome_for_a_request_the_case_never_made_changes_nothing(
    status: CaseStatus, outcome: Outcome
) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    applied = app.record_outcome(
        request_id=uuid.uuid4(), outcome=outcome, by=DECIDER, now=LATER, comment="stray"
    )

    assert applied is False
    assert _snapshot(app) == before


@pytest.mark.parametrize("status", AWAITING_AN_OUTCOME)
def test_a_withdrawn_outcome_is_ignored_even_for_the_awaited_request(status: CaseStatus) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    applied = _decide(app, Outcome.WITHDRAWN, now=LATER, comment="withdrawn")

    assert applied is False
    assert _snapshot(app) == before


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
    app = _application_in(CaseStatus.SUBMITTED)
    request_id = app.approval_request_id
    _decide(app, first, now=LATER)
    before = _snapshot(app)

    applied = app.record_outcome(
        request_id=request_id, outcome=second, by="someone-else", now=EVEN_LATER, comment="again"
    )

    assert applied is False
    assert _snapshot(app) == before


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
@pytest.mark.parametrize("status", NOT_AWAITING_AN_OUTCOME)
def test_an_outcome_on_a_case_awaiting_none_is_ignored_and_changes_nothing(
    status: CaseStatus, outcome: Outcome
) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    applied = app.record_outcome(
        request_id=uuid.uuid4(), outcome=outcome, by=DECIDER, now=LATER, comment="late"
    )

    assert applied is False
    assert _snapshot(app) == before


# ---- attaching documents ---------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_the_applicant_attaches_documents_while_the_application_is_editable(
    status: CaseStatus,
) -> None:
    app = _application_in(status)
    attached = list(app.documents)
    document = _document("plan_document", uploaded_at=LATER)

    app.attach(document, by=APPLICANT)

    assert app.documents == [*attached, document]
    assert app.updated_at == LATER


@pytest.mark.parametrize("status", NOT_EDITABLE)
def test_documents_cannot_be_attached_once_the_application_left_drafting(
    status: CaseStatus,
) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    with pytest.raises(InvalidTransition, match=f"cannot attach a document: the case is {status}"):
        app.attach(_document(uploaded_at=LATER), by=APPLICANT)

    assert _snapshot(app) == before


def test_only_the_applicant_can_attach_documents() -> None:
    app = _application_in(CaseStatus.DRAFT)
    before = _snapshot(app)

    with pytest.raises(NotTheApplicant, match="only the applicant can attach"):
        app.attach(_document(uploaded_at=LATER), by="mallory")

    assert _snapshot(app) == before


# ---- stage 2: editing the plan ---------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "by", "roles"),
    [
        ("technical", TECH_LEAD, TECH_LEAD_ROLES),
        ("finance", FINANCE, FINANCE_ROLES),
        ("technical", "tess", frozenset({"tech_lead", "finance"})),
    ],
)
def test_a_section_is_edited_by_a_holder_of_its_role(
    section: str, by: str, roles: frozenset[str]
) -> None:
    app = _application_in(CaseStatus.PLANNING)
    content = {"note": f"{section} drafted by {by}"}

    plan = app.edit_plan(section, content, by=by, roles=roles, now=LATER)

    assert getattr(plan, section) == content
    assert (plan.updated_by, plan.updated_at, app.updated_at) == (by, LATER, LATER)
    assert app.plan is plan


@pytest.mark.parametrize(
    ("section", "roles", "required"),
    [
        ("technical", FINANCE_ROLES, "tech_lead"),
        ("technical", frozenset({"applicant"}), "tech_lead"),
        ("finance", TECH_LEAD_ROLES, "finance"),
        ("finance", frozenset(), "finance"),
    ],
)
def test_editing_a_section_without_its_role_is_refused_naming_the_role(
    section: str, roles: frozenset[str], required: str
) -> None:
    app = _application_in(CaseStatus.PLANNING)
    before = _snapshot(app)

    with pytest.raises(RoleRequired, match=f"requires the role '{required}'") as refused:
        app.edit_plan(section, {"note": "x"}, by=APPLICANT, roles=roles, now=LATER)

    assert refused.value.problem_extra == {"required_roles": [required]}
    assert _snapshot(app) == before


def test_each_edit_bumps_the_plan_version() -> None:
    app = _application_in(CaseStatus.PLANNING)

    versions = [
        _edit(app, "technical", now=LATER).version,
        _edit(app, "finance", now=LATER).version,
        _edit(app, "technical", {"cooperation_mode": "outsourced"}, now=LATER).version,
    ]

    assert versions == [1, 2, 3]


@pytest.mark.parametrize(("edited", "kept"), [("technical", "finance"), ("finance", "technical")])
def test_editing_a_section_clears_only_its_own_sign_off(edited: str, kept: str) -> None:
    app = _application_in(CaseStatus.PLANNING)
    _complete_the_plan(app)
    assert app.plan is not None
    kept_signoff = app.plan.signoffs[kept]

    _edit(app, edited, {"note": "revised"}, now=LATER)

    assert app.plan.signoffs == {kept: kept_signoff}


@pytest.mark.parametrize("status", NOT_PLANNING)
def test_the_plan_can_be_edited_only_while_planning(status: CaseStatus) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    refusal = f"cannot edit the technical section of the plan: the case is {status}"
    with pytest.raises(InvalidTransition, match=refusal):
        _edit(app, "technical", now=LATER)

    assert _snapshot(app) == before


# ---- stage 2: signing off the plan -----------------------------------------------------


@pytest.mark.parametrize("section", list(SECTION_OWNERS))
def test_a_section_is_signed_off_by_its_role_for_the_plan_version_it_saw(section: str) -> None:
    app = _application_in(CaseStatus.PLANNING)
    _edit(app, "technical")
    _edit(app, "finance")
    by, roles = SECTION_OWNERS[section]

    signoff = app.sign_off_plan(section, by=by, roles=roles, now=LATER)

    assert signoff == SignOff(section, by, LATER, 2)
    assert app.plan is not None
    assert app.plan.signoffs[section] == signoff
    assert app.updated_at == LATER


@pytest.mark.parametrize(
    ("section", "roles", "required"),
    [("technical", FINANCE_ROLES, "tech_lead"), ("finance", TECH_LEAD_ROLES, "finance")],
)
def test_signing_off_a_section_without_its_role_is_refused_naming_the_role(
    section: str, roles: frozenset[str], required: str
) -> None:
    app = _application_in(CaseStatus.PLANNING)
    _edit(app, section)
    before = _snapshot(app)

    with pytest.raises(RoleRequired, match=f"signing off the {section} section requires the role"):
        app.sign_off_plan(section, by=APPLICANT, roles=roles, now=LATER)

    assert _snapshot(app) == before


@pytest.mark.parametrize(("section", "other"), [("technical", "finance"), ("finance", "technical")])
def test_an_empty_section_cannot_be_signed_off(section: str, other: str) -> None:
    app = _application_in(CaseStatus.PLANNING)
    _edit(app, other)
    before = _snapshot(app)

    with pytest.raises(PlanNotReady, match=f"the {section} section is empty") as refused:
        _sign(app, section, now=LATER)

    assert refused.value.problem_extra == {"problems": [f"the {section} section is empty"]}
    assert _snapshot(app) == before


@pytest.mark.parametrize("status", NOT_PLANNING)
def test_the_plan_can_be_signed_off_only_while_planning(status: CaseStatus) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    with pytest.raises(
        InvalidTransition, match=f"cannot sign off the finance section: the case is {status}"
    ):
        _sign(app, "finance", now=LATER)

    assert _snapshot(app) == before


# ---- stage 2: submitting the plan for review -------------------------------------------


def test_the_seven_mandatory_contract_clauses_are_those_of_the_specification() -> None:
    assert MANDATORY_CLAUSES == CLAUSES


def _terms_without(*clauses: str, blank: str | None = None) -> dict[str, Any]:
    return {
        **TECHNICAL_SECTION,
        "contract_terms": {
            c: ("" if blank is None else blank) if c in clauses else f"the agreed {c}"
            for c in CLAUSES
        },
    }


PLAN_PROBLEMS = [
    pytest.param(
        Plan(),
        [
            "the technical section is not signed off by tech_lead",
            "the finance section is not signed off by finance",
            "proposed contract terms missing for: " + ", ".join(CLAUSES),
        ],
        id="empty",
    ),
    pytest.param(
        Plan(version=2, technical=TECHNICAL_SECTION, finance=FINANCE_SECTION),
        [
            "the technical section is not signed off by tech_lead",
            "the finance section is not signed off by finance",
        ],
        id="nothing-signed-off",
    ),
    pytest.param(
        Plan(
            version=2,
            technical=TECHNICAL_SECTION,
            finance=FINANCE_SECTION,
            signoffs={"technical": SignOff("technical", TECH_LEAD, ARRANGED, 2)},
        ),
        ["the finance section is not signed off by finance"],
        id="finance-not-signed-off",
    ),
    pytest.param(
        Plan(
            version=2,
            technical=_terms_without("fund_management", "risk_allocation"),
            signoffs={
                "technical": SignOff("technical", TECH_LEAD, ARRANGED, 2),
                "finance": SignOff("finance", FINANCE, ARRANGED, 2),
            },
        ),
        ["proposed contract terms missing for: fund_management, risk_allocation"],
        id="two-clauses-empty",
    ),
    pytest.param(
        Plan(
            version=2,
            technical=_terms_without("ip_ownership", blank="   "),
            signoffs={
                "technical": SignOff("technical", TECH_LEAD, ARRANGED, 2),
                "finance": SignOff("finance", FINANCE, ARRANGED, 2),
            },
        ),
        ["proposed contract terms missing for: ip_ownership"],
        id="a-clause-blank",
    ),
    pytest.param(
        Plan(
            version=2,
            technical={"contract_terms": {c: "agreed" for c in CLAUSES if c != "breach_liability"}},
            signoffs={"finance": SignOff("finance", FINANCE, ARRANGED, 2)},
        ),
        [
            "the technical section is not signed off by tech_lead",
            "proposed contract terms missing for: breach_liability",
        ],
        id="a-clause-absent-and-technical-not-signed-off",
    ),
]


@pytest.mark.parametrize(("plan", "problems"), PLAN_PROBLEMS)
def test_the_plan_lists_what_keeps_it_from_review(plan: Plan, problems: list[str]) -> None:
    assert plan.problems() == problems


def test_a_signed_off_plan_with_every_clause_has_no_problems() -> None:
    app = _application_in(CaseStatus.PLANNING)
    _complete_the_plan(app)
    assert app.plan is not None

    assert app.plan.problems() == []


@pytest.mark.parametrize(("plan", "problems"), PLAN_PROBLEMS)
def test_the_plan_is_refused_for_review_naming_each_problem(
    plan: Plan, problems: list[str]
) -> None:
    app = _application_in(CaseStatus.PLANNING)
    app.plan = plan
    before = _snapshot(app)

    with pytest.raises(PlanNotReady) as refused:
        _submit_plan(app, now=LATER)

    assert refused.value.problem_extra == {"problems": problems}
    assert str(refused.value) == "the plan cannot go to review: " + "; ".join(problems)
    assert _snapshot(app) == before


def test_a_plan_missing_a_clause_is_refused_even_when_both_sections_are_signed_off() -> None:
    app = _application_in(CaseStatus.PLANNING)
    _edit(app, "technical", _terms_without("technical_standards"))
    _edit(app, "finance")
    _sign(app, "technical")
    _sign(app, "finance")

    with pytest.raises(PlanNotReady, match="contract terms missing for: technical_standards"):
        _submit_plan(app, now=LATER)

    assert app.status == CaseStatus.PLANNING


def test_a_ready_plan_goes_to_review_noting_its_version() -> None:
    app = _application_in(CaseStatus.PLANNING)
    _complete_the_plan(app)

    _submit_plan(app, now=LATER)

    assert app.status == CaseStatus.PLAN_IN_REVIEW
    assert app.history[-1] == StatusChange(
        LATER, CaseStatus.PLANNING, CaseStatus.PLAN_IN_REVIEW, TECH_LEAD, "plan version 2"
    )


def test_submitting_the_plan_announces_its_version_and_awaits_the_review_request() -> None:
    app = _application_in(CaseStatus.PLANNING)
    _complete_the_plan(app)
    request_id = uuid.uuid4()

    _submit_plan(app, now=LATER, request_id=request_id)

    assert app.events == [PlanWasSubmitted(2)]
    assert app.approval_request_id == request_id


@pytest.mark.parametrize(
    ("by", "roles"),
    [(TECH_LEAD, TECH_LEAD_ROLES), (APPLICANT, frozenset())],
    ids=["a-tech-lead", "the-applicant"],
)
def test_the_plan_is_submitted_by_a_tech_lead_or_the_applicant(
    by: str, roles: frozenset[str]
) -> None:
    app = _application_in(CaseStatus.PLANNING)
    _complete_the_plan(app)

    app.submit_plan(by=by, roles=roles, now=LATER, request_id=uuid.uuid4())

    assert app.status == CaseStatus.PLAN_IN_REVIEW


@pytest.mark.parametrize("roles", [FINANCE_ROLES, frozenset()])
def test_anyone_else_submitting_the_plan_is_refused_naming_the_tech_lead_role(
    roles: frozenset[str],
) -> None:
    app = _application_in(CaseStatus.PLANNING)
    _complete_the_plan(app)
    before = _snapshot(app)

    with pytest.raises(RoleRequired, match="requires the role 'tech_lead'"):
        app.submit_plan(by=FINANCE, roles=roles, now=LATER, request_id=uuid.uuid4())

    assert _snapshot(app) == before


@pytest.mark.parametrize("status", NOT_PLANNING)
def test_the_plan_can_be_submitted_only_while_planning(status: CaseStatus) -> None:
    app = _application_in(status)
    before = _snapshot(app)

    with pytest.raises(
        InvalidTransition, match=f"cannot submit the plan for review: the case is {status}"
    ):
        _submit_plan(app, now=LATER)

    assert _snapshot(app) == before


# ---- stage 2: the outcome of the plan review -------------------------------------------


def test_an_approved_plan_is_plan_approved_with_the_decider_and_comment() -> None:
    app = _application_in(CaseStatus.PLAN_IN_REVIEW)

    applied = _decide(app, Outcome.APPROVED, now=LATER, comment="go ahead")

    assert applied is True
    assert app.status == CaseStatus.PLAN_APPROVED
    assert app.history[-1] == StatusChange(
        LATER, CaseStatus.PLAN_IN_REVIEW, CaseStatus.PLAN_APPROVED, DECIDER, "go ahead"
    )


@pytest.mark.parametrize("minutes", [{"minutes_id": "m-17", "attendees": 5}, None])
def test_an_approved_plan_announces_its_version_with_the_minutes(minutes: object) -> None:
    app = _application_in(CaseStatus.PLAN_IN_REVIEW)

    _decide(app, Outcome.APPROVED, now=LATER, record=minutes)

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
    app = _application_in(CaseStatus.PLAN_IN_REVIEW)

    applied = _decide(app, outcome, now=LATER, comment="the budget is too high")

    assert applied is True
    assert app.status == CaseStatus.PLANNING
    assert app.history[-1] == StatusChange(
        LATER, CaseStatus.PLAN_IN_REVIEW, CaseStatus.PLANNING, DECIDER, note
    )
    assert app.events == []


@pytest.mark.parametrize("outcome", DECIDING_OUTCOMES)
def test_a_plan_review_outcome_ends_the_wait_for_that_request(outcome: Outcome) -> None:
    app = _application_in(CaseStatus.PLAN_IN_REVIEW)

    _decide(app, outcome, now=LATER, comment="reviewed")

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
    app = _application_in(CaseStatus.PLAN_IN_REVIEW)
    request_id = app.approval_request_id
    _decide(app, first, now=LATER, comment="reviewed")
    before = _snapshot(app)

    applied = app.record_outcome(
        request_id=request_id, outcome=second, by="someone-else", now=EVEN_LATER, comment="again"
    )

    assert applied is False
    assert _snapshot(app) == before


def test_a_returned_plan_is_revised_signed_off_again_and_resubmitted() -> None:
    app = _application_in(CaseStatus.PLAN_IN_REVIEW)
    _decide(app, Outcome.RETURNED, comment="the budget is too high")
    _edit(app, "finance", {"budget": [{"item": "licences", "amount": 90000, "currency": "CNY"}]})
    _sign(app, "finance")
    app.events.clear()

    second = _submit_plan(app, now=LATER)

    assert app.status == CaseStatus.PLAN_IN_REVIEW
    assert app.approval_request_id == second
    assert app.events == [PlanWasSubmitted(3)]


def test_a_stale_plan_review_outcome_for_an_earlier_request_changes_nothing() -> None:
    app = _application_in(CaseStatus.PLAN_IN_REVIEW)
    earlier = app.approval_request_id
    _decide(app, Outcome.RETURNED, comment="the budget is too high")
    _submit_plan(app)
    app.events.clear()
    before = _snapshot(app)

    applied = app.record_outcome(
        request_id=earlier, outcome=Outcome.APPROVED, by=DECIDER, now=LATER, comment="stale"
    )

    assert applied is False
    assert _snapshot(app) == before


# ---- the lifecycle table and the stages ------------------------------------------------

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

# The stage (1-7 of the process manual) each status belongs to, written out independently.
STAGES: dict[CaseStatus, int] = {
    CaseStatus.DRAFT: 1,
    CaseStatus.SUBMITTED: 1,
    CaseStatus.RETURNED: 1,
    CaseStatus.REJECTED: 1,
    CaseStatus.WITHDRAWN: 1,
    CaseStatus.APPROVED: 1,
    CaseStatus.PLANNING: 2,
    CaseStatus.PLAN_IN_REVIEW: 2,
    CaseStatus.PLAN_APPROVED: 2,
    CaseStatus.CONTRACTING: 3,
    CaseStatus.RESOURCING: 4,
    CaseStatus.EXECUTING: 5,
    CaseStatus.EVALUATING: 6,
    CaseStatus.CLOSED: 6,
    CaseStatus.MAINTENANCE: 7,
    CaseStatus.ARCHIVED: 7,
}


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_each_state_allows_exactly_the_lifecycle_moves(status: CaseStatus) -> None:
    assert TRANSITIONS[status] == LIFECYCLE[status]


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_each_status_belongs_to_its_stage(status: CaseStatus) -> None:
    assert STAGE_OF_STATUS[status] == STAGES[status]


def test_the_statuses_cover_every_stage_from_1_to_7() -> None:
    assert sorted(set(STAGE_OF_STATUS.values())) == [1, 2, 3, 4, 5, 6, 7]


def test_only_the_content_fields_of_an_application_can_be_edited() -> None:
    app = _draft()
    with pytest.raises(InvalidApplication, match="cannot be edited: applicant, status"):
        app.update(by=APPLICANT, now=LATER, status=CaseStatus.APPROVED, applicant="mallory")
    assert app.status == CaseStatus.DRAFT and app.applicant == APPLICANT


def test_an_unknown_plan_section_is_a_domain_refusal() -> None:
    app = _planning()
    with pytest.raises(InvalidApplication, match="unknown plan section 'legal'"):
        app.edit_plan("legal", {"x": 1}, by="tina", roles=frozenset({"tech_lead"}), now=LATER)


def test_an_applicant_of_another_case_cannot_submit_this_plan() -> None:
    app = _planning()
    with pytest.raises(RoleRequired):
        app.submit_plan(
            by="mallory", roles=frozenset({"applicant"}), now=LATER, request_id=uuid.uuid4()
        )
