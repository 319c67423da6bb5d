"""Submitting the plan for review (stage 2): signed off, with a term for every mandatory clause."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from applications_builders import (
    APPLICANT,
    ARRANGED,
    CLAUSES,
    FINANCE,
    FINANCE_ROLES,
    FINANCE_SECTION,
    LATER,
    NOT_PLANNING,
    PROCESS_VERSION,
    TECH_LEAD,
    TECH_LEAD_ROLES,
    TECHNICAL_SECTION,
    application_in,
    complete_the_plan,
    edit_section,
    sign_off_section,
    snapshot,
    submit_the_plan,
)

from applications_svc.domain.model import (
    CaseStatus,
    InvalidTransition,
    Plan,
    PlanNotReady,
    PlanWasSubmitted,
    RoleRequired,
    SignOff,
    StatusChange,
)
from guakao_shared.process import definition


def test_the_seven_mandatory_contract_clauses_are_those_of_the_specification() -> None:
    assert tuple(definition(PROCESS_VERSION).mandatory_clauses) == CLAUSES


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
    assert plan.problems(CLAUSES) == problems


def test_a_signed_off_plan_with_every_clause_has_no_problems() -> None:
    app = application_in(CaseStatus.PLANNING)
    complete_the_plan(app)
    assert app.plan is not None

    assert app.plan.problems(CLAUSES) == []


@pytest.mark.parametrize(("plan", "problems"), PLAN_PROBLEMS)
def test_the_plan_is_refused_for_review_naming_each_problem(
    plan: Plan, problems: list[str]
) -> None:
    app = application_in(CaseStatus.PLANNING)
    app.plan = plan
    before = snapshot(app)

    with pytest.raises(PlanNotReady) as refused:
        submit_the_plan(app, now=LATER)

    assert refused.value.problem_extra == {"problems": problems}
    assert str(refused.value) == "the plan cannot go to review: " + "; ".join(problems)
    assert snapshot(app) == before


def test_a_plan_missing_a_clause_is_refused_even_when_both_sections_are_signed_off() -> None:
    app = application_in(CaseStatus.PLANNING)
    edit_section(app, "technical", _terms_without("technical_standards"))
    edit_section(app, "finance")
    sign_off_section(app, "technical")
    sign_off_section(app, "finance")

    with pytest.raises(PlanNotReady, match="contract terms missing for: technical_standards"):
        submit_the_plan(app, now=LATER)

    assert app.status == CaseStatus.PLANNING


def test_a_ready_plan_goes_to_review_noting_its_version() -> None:
    app = application_in(CaseStatus.PLANNING)
    complete_the_plan(app)

    submit_the_plan(app, now=LATER)

    assert app.status == CaseStatus.PLAN_IN_REVIEW
    assert app.history[-1] == StatusChange(
        LATER, CaseStatus.PLANNING, CaseStatus.PLAN_IN_REVIEW, TECH_LEAD, "plan version 2"
    )


def test_submitting_the_plan_announces_its_version_and_awaits_the_review_request() -> None:
    app = application_in(CaseStatus.PLANNING)
    complete_the_plan(app)
    request_id = uuid.uuid4()

    submit_the_plan(app, now=LATER, request_id=request_id)

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
    app = application_in(CaseStatus.PLANNING)
    complete_the_plan(app)

    app.submit_plan(
        by=by, roles=roles, now=LATER, request_id=uuid.uuid4(), mandatory_clauses=CLAUSES
    )

    assert app.status == CaseStatus.PLAN_IN_REVIEW


@pytest.mark.parametrize("roles", [FINANCE_ROLES, frozenset()])
def test_anyone_else_submitting_the_plan_is_refused_naming_the_tech_lead_role(
    roles: frozenset[str],
) -> None:
    app = application_in(CaseStatus.PLANNING)
    complete_the_plan(app)
    before = snapshot(app)

    with pytest.raises(RoleRequired, match="requires the role 'tech_lead'"):
        app.submit_plan(
            by=FINANCE,
            roles=roles,
            now=LATER,
            request_id=uuid.uuid4(),
            mandatory_clauses=CLAUSES,
        )

    assert snapshot(app) == before


@pytest.mark.parametrize("status", NOT_PLANNING)
def test_the_plan_can_be_submitted_only_while_planning(status: CaseStatus) -> None:
    app = application_in(status)
    before = snapshot(app)

    with pytest.raises(
        InvalidTransition, match=f"cannot submit the plan for review: the case is {status}"
    ):
        submit_the_plan(app, now=LATER)

    assert snapshot(app) == before
