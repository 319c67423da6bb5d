"""Signing off the plan (stage 2): each section by its role, for the version it saw."""

from __future__ import annotations

import pytest
from applications_builders import (
    APPLICANT,
    FINANCE_ROLES,
    LATER,
    NOT_PLANNING,
    SECTION_OWNERS,
    TECH_LEAD_ROLES,
    application_in,
    edit_section,
    sign_off_section,
    snapshot,
)

from applications_svc.domain.model import (
    CaseStatus,
    InvalidTransition,
    PlanNotReady,
    RoleRequired,
    SignOff,
)


@pytest.mark.parametrize("section", list(SECTION_OWNERS))
def test_a_section_is_signed_off_by_its_role_for_the_plan_version_it_saw(section: str) -> None:
    app = application_in(CaseStatus.PLANNING)
    edit_section(app, "technical")
    edit_section(app, "finance")
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
    app = application_in(CaseStatus.PLANNING)
    edit_section(app, section)
    before = snapshot(app)

    with pytest.raises(RoleRequired, match=f"signing off the {section} section requires the role"):
        app.sign_off_plan(section, by=APPLICANT, roles=roles, now=LATER)

    assert snapshot(app) == before


@pytest.mark.parametrize(("section", "other"), [("technical", "finance"), ("finance", "technical")])
def test_an_empty_section_cannot_be_signed_off(section: str, other: str) -> None:
    app = application_in(CaseStatus.PLANNING)
    edit_section(app, other)
    before = snapshot(app)

    with pytest.raises(PlanNotReady, match=f"the {section} section is empty") as refused:
        sign_off_section(app, section, now=LATER)

    assert refused.value.problem_extra == {"problems": [f"the {section} section is empty"]}
    assert snapshot(app) == before


@pytest.mark.parametrize("status", NOT_PLANNING)
def test_the_plan_can_be_signed_off_only_while_planning(status: CaseStatus) -> None:
    app = application_in(status)
    before = snapshot(app)

    with pytest.raises(
        InvalidTransition, match=f"cannot sign off the finance section: the case is {status}"
    ):
        sign_off_section(app, "finance", now=LATER)

    assert snapshot(app) == before
