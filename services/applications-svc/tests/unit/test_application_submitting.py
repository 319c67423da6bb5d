"""Submitting an application for the necessity review: materials, process version, refusals."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from applications_builders import (
    APPLICANT,
    FINAL_STATES,
    LATER,
    NOT_EDITABLE,
    PROCESS_VERSION,
    REQUIRED,
    a_document,
    application_in,
    decide,
    draft_with,
    snapshot,
    submit,
)

from applications_svc.domain.model import (
    EDITABLE,
    ApplicationWasSubmitted,
    CaseStatus,
    InvalidTransition,
    MissingMaterials,
    NotTheApplicant,
    Outcome,
    StatusChange,
)


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_the_applicant_submits_a_draft_or_returned_application(status: CaseStatus) -> None:
    app = application_in(status)

    submit(app, now=LATER)

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
    app = application_in(status)

    submit(app, now=LATER)

    assert app.history[-1] == StatusChange(LATER, status, CaseStatus.SUBMITTED, APPLICANT, note)


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_submitting_announces_that_the_application_was_submitted(status: CaseStatus) -> None:
    app = application_in(status)

    submit(app, now=LATER)

    assert app.events == [ApplicationWasSubmitted(app.id)]


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_submitting_awaits_the_approval_request_it_was_given(status: CaseStatus) -> None:
    app = application_in(status)
    request_id = uuid.uuid4()

    submit(app, now=LATER, request_id=request_id)

    assert app.approval_request_id == request_id


@pytest.mark.parametrize("process_version", [1, 2, 7])
def test_the_first_submission_freezes_the_process_version(process_version: int) -> None:
    app = application_in(CaseStatus.DRAFT)

    submit(app, now=LATER, process_version=process_version)

    assert app.process_version == process_version


@pytest.mark.parametrize(("first", "current"), [(1, 2), (2, 1), (3, 3)])
def test_a_resubmission_keeps_the_process_version_of_the_first_submission(
    first: int, current: int
) -> None:
    app = application_in(CaseStatus.DRAFT)
    submit(app, process_version=first)
    decide(app, Outcome.RETURNED, comment="add the budget breakdown")

    submit(app, now=LATER, process_version=current)

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
    app = draft_with(*attached)

    with pytest.raises(MissingMaterials) as refused:
        submit(app, now=LATER)

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
    app = draft_with("plan_document")

    with pytest.raises(MissingMaterials) as refused:
        submit(app, now=LATER, required_materials=required)

    assert refused.value.problem_extra["missing_materials"] == list(required)


def test_each_missing_material_is_reported_as_a_documents_field_error() -> None:
    app = draft_with("resource_request")

    with pytest.raises(MissingMaterials) as refused:
        submit(app, now=LATER)

    assert refused.value.problem_extra["errors"] == [
        {"field": "documents", "rule": "required_material", "message": "feasibility_study"},
        {"field": "documents", "rule": "required_material", "message": "risk_assessment"},
    ]


def test_a_material_counts_only_when_attached_as_a_document_of_that_type() -> None:
    app = draft_with("resource_request", "risk_assessment")
    app.attach(
        dataclasses.replace(a_document("other"), filename="feasibility_study.pdf"), by=APPLICANT
    )

    with pytest.raises(MissingMaterials) as refused:
        submit(app, now=LATER)

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
    app = draft_with(*attached)

    submit(app, now=LATER, required_materials=required)

    assert app.status == CaseStatus.SUBMITTED


def test_a_resubmission_checks_the_required_materials_again() -> None:
    app = application_in(CaseStatus.RETURNED)

    with pytest.raises(MissingMaterials) as refused:
        submit(app, now=LATER, required_materials=(*REQUIRED, "plan_document"))

    assert refused.value.problem_extra["missing_materials"] == ["plan_document"]
    assert app.status == CaseStatus.RETURNED


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_a_submission_refused_for_missing_materials_neither_moves_nor_announces_anything(
    status: CaseStatus,
) -> None:
    app = application_in(status)
    before = (app.status, list(app.history), app.submitted_at, app.approval_request_id)

    with pytest.raises(MissingMaterials):
        submit(app, now=LATER, required_materials=("signed_contract",))

    assert (app.status, app.history, app.submitted_at, app.approval_request_id) == before
    assert app.events == []


def test_a_submission_refused_for_missing_materials_does_not_freeze_the_process_version() -> None:
    app = draft_with()

    with pytest.raises(MissingMaterials):
        submit(app, now=LATER, process_version=1)

    assert app.process_version is None


def test_submitting_twice_is_refused_naming_the_state_and_what_is_allowed() -> None:
    app = application_in(CaseStatus.DRAFT)
    submit(app)

    with pytest.raises(InvalidTransition) as refused:
        submit(app, now=LATER)

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
    app = application_in(status)
    before = snapshot(app)

    with pytest.raises(InvalidTransition, match=f"cannot submit: the case is {status}"):
        submit(app, now=LATER, process_version=PROCESS_VERSION + 1)

    assert snapshot(app) == before


@pytest.mark.parametrize("status", FINAL_STATES)
def test_a_refusal_in_a_final_state_says_nothing_is_allowed(status: CaseStatus) -> None:
    app = application_in(status)

    with pytest.raises(InvalidTransition, match=r"none \(final state\)"):
        submit(app, now=LATER)


def test_only_the_applicant_can_submit() -> None:
    app = application_in(CaseStatus.DRAFT)
    before = snapshot(app)

    with pytest.raises(NotTheApplicant, match="only the applicant can submit"):
        app.submit(
            by="mallory",
            now=LATER,
            required_materials=REQUIRED,
            process_version=PROCESS_VERSION,
            request_id=uuid.uuid4(),
        )

    assert snapshot(app) == before
