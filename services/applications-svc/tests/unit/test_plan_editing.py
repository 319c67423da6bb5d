"""Editing the plan (stage 2): each section by its role, versioned, clearing its own sign-off."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from applications_builders import (
    APPLICANT,
    FINANCE,
    FINANCE_ROLES,
    LATER,
    NOT_PLANNING,
    TECH_LEAD,
    TECH_LEAD_ROLES,
    application_in,
    complete_the_plan,
    edit_section,
    snapshot,
)

from applications_svc.domain.model import (
    CaseStatus,
    InvalidTransition,
    Money,
    Plan,
    RoleRequired,
)


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
    app = application_in(CaseStatus.PLANNING)
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
    app = application_in(CaseStatus.PLANNING)
    before = snapshot(app)

    with pytest.raises(RoleRequired, match=f"requires the role '{required}'") as refused:
        app.edit_plan(section, {"note": "x"}, by=APPLICANT, roles=roles, now=LATER)

    assert refused.value.problem_extra == {"required_roles": [required]}
    assert snapshot(app) == before


def test_each_edit_bumps_the_plan_version() -> None:
    app = application_in(CaseStatus.PLANNING)

    versions = [
        edit_section(app, "technical", now=LATER).version,
        edit_section(app, "finance", now=LATER).version,
        edit_section(app, "technical", {"cooperation_mode": "outsourced"}, now=LATER).version,
    ]

    assert versions == [1, 2, 3]


@pytest.mark.parametrize(("edited", "kept"), [("technical", "finance"), ("finance", "technical")])
def test_editing_a_section_clears_only_its_own_sign_off(edited: str, kept: str) -> None:
    app = application_in(CaseStatus.PLANNING)
    complete_the_plan(app)
    assert app.plan is not None
    kept_signoff = app.plan.signoffs[kept]

    edit_section(app, edited, {"note": "revised"}, now=LATER)

    assert app.plan.signoffs == {kept: kept_signoff}


@pytest.mark.parametrize("status", NOT_PLANNING)
def test_the_plan_can_be_edited_only_while_planning(status: CaseStatus) -> None:
    app = application_in(status)
    before = snapshot(app)

    refusal = f"cannot edit the technical section of the plan: the case is {status}"
    with pytest.raises(InvalidTransition, match=refusal):
        edit_section(app, "technical", now=LATER)

    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("budget", "total"),
    [
        (
            [{"item": "licences", "amount": 120000, "currency": "CNY"}],
            Money(Decimal("120000.00"), "CNY"),
        ),
        (
            [
                {"item": "licences", "amount": "0.10", "currency": "EUR"},
                {"item": "training", "amount": "0.20", "currency": "EUR"},
            ],
            Money(Decimal("0.30"), "EUR"),
        ),
        (
            [{"item": "a", "amount": "33333.33"}, {"item": "b", "amount": "66666.67"}],
            Money(Decimal("100000.00"), "CNY"),
        ),
    ],
    ids=["one-line", "cents-exactly", "currency-defaults-to-cny"],
)
def test_the_budget_total_is_the_sum_of_its_lines_to_the_cent(
    budget: list[dict[str, Any]], total: Money
) -> None:
    plan = Plan(finance={"budget": budget})

    assert plan.budget_total() == total


def test_a_plan_without_a_budget_has_no_total() -> None:
    assert Plan().budget_total() is None
