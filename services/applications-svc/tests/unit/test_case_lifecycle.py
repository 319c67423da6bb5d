"""The lifecycle table and the stages, written out independently of the code."""

from __future__ import annotations

import uuid

import pytest
from applications_builders import (
    ALL_STATUSES,
    APPLICANT,
    CLAUSES,
    LATER,
    in_planning,
    new_draft,
)

from applications_svc.domain.model import (
    STAGE_OF_STATUS,
    TRANSITIONS,
    CaseStatus,
    InvalidApplication,
    RoleRequired,
)

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
    app = new_draft()
    with pytest.raises(InvalidApplication, match="cannot be edited: applicant, status"):
        app.update(by=APPLICANT, now=LATER, status=CaseStatus.APPROVED, applicant="mallory")
    assert app.status == CaseStatus.DRAFT and app.applicant == APPLICANT


def test_an_unknown_plan_section_is_a_domain_refusal() -> None:
    app = in_planning()
    with pytest.raises(InvalidApplication, match="unknown plan section 'legal'"):
        app.edit_plan("legal", {"x": 1}, by="tina", roles=frozenset({"tech_lead"}), now=LATER)


def test_an_applicant_of_another_case_cannot_submit_this_plan() -> None:
    app = in_planning()
    with pytest.raises(RoleRequired):
        app.submit_plan(
            by="mallory",
            roles=frozenset({"applicant"}),
            now=LATER,
            request_id=uuid.uuid4(),
            mandatory_clauses=CLAUSES,
        )
