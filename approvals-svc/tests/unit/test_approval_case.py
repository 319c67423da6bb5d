"""The approval engine, table by table: modes, routing, delegation, transfer, add-signer,
return, withdrawal, segregation of duties and time limits. No database, no clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from approvals_svc.domain.model import (
    Action,
    ApprovalCase,
    CaseClosed,
    CaseStatus,
    CommentRequired,
    Delegation,
    InvalidReturn,
    Mode,
    NotAllowed,
    NotOpen,
    Person,
    ReminderDue,
    StepEscalated,
    StepRule,
    StepStatus,
    TaskStatus,
)
from approvals_svc.service_layer.handlers import rules_for
from guakao_shared.process import definition

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


class FakeDirectory:
    def __init__(self, *people: Person) -> None:
        self.people = {p.sub: p for p in people}

    def person(self, sub: str) -> Person | None:
        return self.people.get(sub)

    def holders(self, role: str, department: str | None) -> list[Person]:
        return [
            p
            for p in self.people.values()
            if role in p.roles and (department is None or p.department == department)
        ]

    def reporting_line(self, sub: str) -> list[str]:
        line, person = [], self.people.get(sub)
        while person is not None and person.manager:
            line.append(person.manager)
            person = self.people.get(person.manager)
        return line


ORG = FakeDirectory(
    Person("alice", "it", frozenset({"applicant"}), manager="hank"),
    Person("hank", "it", frozenset({"dept_head"}), manager="cm3"),
    Person("rita", "it", frozenset({"dept_head"})),
    Person("fred", "finance", frozenset({"dept_head"})),
    *(Person(f"cm{i}", "board", frozenset({"committee_member"})) for i in (1, 2, 3)),
    Person("ada", "pmo", frozenset({"process_admin"})),
)


def person(sub: str) -> Person:
    found = ORG.person(sub)
    assert found is not None
    return found


def rule(name: str = "review", mode: Mode = Mode.ANY, **kw: object) -> StepRule:
    kw.setdefault("time_limit", 4 * DAY)
    if "users" not in kw:
        kw.setdefault("roles", ("dept_head",))
    return StepRule(name=name, mode=mode, **kw)  # type: ignore[arg-type]


def open_case(*rules: StepRule, requester: str = "alice") -> ApprovalCase:
    return ApprovalCase.open(
        request_id=uuid.uuid4(),
        subject_type="application",
        subject_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        policy="test.policy",
        process_version=1,
        rules=rules,
        title="ERP",
        requester=requester,
        department="it",
        directory=ORG,
        now=T0,
    )


def decide(
    case: ApprovalCase,
    who: str,
    action: Action = Action.APPROVE,
    *,
    comment: str | None = "ok",
    task_of: str | None = None,
    delegations: tuple[Delegation, ...] = (),
    at: datetime = T0,
    return_to: str | None = None,
) -> None:
    owner = task_of or who
    task = next(
        t
        for t in case.open_tasks()
        if t.assignee == owner or (t.pool_role and t.pool_role in person(owner).roles)
    )
    case.decide(
        task.id,
        action,
        actor=person(who),
        comment=comment,
        directory=ORG,
        delegations=delegations,
        now=at,
        return_to=return_to,
    )


COMMITTEE = ("cm1", "cm2", "cm3")


@pytest.mark.parametrize(
    ("mode", "params", "votes", "expected"),
    [
        (Mode.ANY, {}, [("hank", Action.APPROVE)], CaseStatus.APPROVED),
        (Mode.ANY, {}, [("hank", Action.REJECT)], CaseStatus.REJECTED),
        (Mode.ALL, {}, [("cm1", Action.APPROVE), ("cm2", Action.APPROVE)], CaseStatus.OPEN),
        (
            Mode.ALL,
            {},
            [("cm1", Action.APPROVE), ("cm2", Action.APPROVE), ("cm3", Action.APPROVE)],
            CaseStatus.APPROVED,
        ),
        (Mode.ALL, {}, [("cm1", Action.APPROVE), ("cm2", Action.REJECT)], CaseStatus.REJECTED),
        (Mode.QUORUM, {"quorum": 2}, [("cm1", Action.APPROVE)], CaseStatus.OPEN),
        (
            Mode.QUORUM,
            {"quorum": 2},
            [("cm1", Action.APPROVE), ("cm3", Action.APPROVE)],
            CaseStatus.APPROVED,
        ),
        (Mode.QUORUM, {"quorum": 2}, [("cm1", Action.REJECT)], CaseStatus.OPEN),
        (
            Mode.QUORUM,
            {"quorum": 2},
            [("cm1", Action.REJECT), ("cm2", Action.REJECT)],
            CaseStatus.REJECTED,
        ),
        (
            Mode.WEIGHTED,
            {"threshold": 0.5, "weights": (("cm1", 3.0),)},
            [("cm1", Action.APPROVE)],
            CaseStatus.APPROVED,
        ),
        (Mode.WEIGHTED, {"threshold": 0.5}, [("cm1", Action.APPROVE)], CaseStatus.OPEN),
        (
            Mode.WEIGHTED,
            {"threshold": 0.5},
            [("cm1", Action.APPROVE), ("cm2", Action.APPROVE)],
            CaseStatus.APPROVED,
        ),
        (
            Mode.WEIGHTED,
            {"threshold": 0.5, "weights": (("cm1", 3.0),)},
            [("cm1", Action.REJECT)],
            CaseStatus.REJECTED,
        ),
    ],
    ids=[
        "any-approve",
        "any-reject",
        "all-pending",
        "all-approve",
        "all-one-rejects",
        "quorum-pending",
        "quorum-2-of-3",
        "quorum-still-reachable",
        "quorum-unreachable",
        "weighted-heavy-voter",
        "weighted-pending",
        "weighted-majority",
        "weighted-veto",
    ],
)
def test_each_step_mode_decides_as_the_policy_says(
    mode: Mode,
    params: dict[str, Any],
    votes: list[tuple[str, Action]],
    expected: CaseStatus,
) -> None:
    step = (
        rule(mode=mode)
        if mode == Mode.ANY
        else rule(mode=mode, roles=("committee_member",), **params)
    )
    case = open_case(step)
    for who, action in votes:
        decide(case, who, action, comment="because")
    assert case.status == expected
    if expected != CaseStatus.OPEN:
        assert isinstance(case.events[-1], CaseClosed)
        assert all(t.status != TaskStatus.OPEN for t in case.tasks)


def test_a_committee_quorum_of_two_approves_after_the_second_vote() -> None:
    case = open_case(
        rule("necessity"), rule("committee", Mode.QUORUM, roles=("committee_member",), quorum=2)
    )
    decide(case, "hank")
    assert case.steps[0].status == StepStatus.APPROVED
    assert case.current == 1
    assert {t.assignee for t in case.open_tasks()} == set(COMMITTEE)
    decide(case, "cm2")
    assert case.status == CaseStatus.OPEN
    decide(case, "cm1")
    assert case.status == CaseStatus.APPROVED  # type: ignore[comparison-overlap]  # decide() mutates
    assert [t.status for t in case.tasks if t.assignee == "cm3"] == [TaskStatus.CLOSED]


@pytest.mark.parametrize(
    ("amount", "attributes", "steps"),
    [
        (300_000, {}, ["necessity review"]),
        (1_000_000, {}, ["necessity review"]),
        (1_000_001, {}, ["necessity review", "committee approval"]),
        (None, {}, ["necessity review"]),
    ],
)
def test_routing_by_amount_adds_the_committee_above_the_limit(
    amount: float | None, attributes: dict[str, str], steps: list[str]
) -> None:
    policy = definition(1).policy("application.necessity_review")
    assert [r.name for r in rules_for(policy, amount=amount, attributes=attributes)] == steps


def test_department_scoped_pool_only_accepts_heads_of_the_requesters_department() -> None:
    case = open_case(rule(department_scoped=True))
    task = case.open_tasks()[0]
    assert (task.pool_role, task.pool_department) == ("dept_head", "it")
    with pytest.raises(NotAllowed) as refused:
        case.decide(
            task.id,
            Action.APPROVE,
            actor=person("fred"),
            comment=None,
            directory=ORG,
            delegations=(),
            now=T0,
        )
    assert refused.value.problem_extra["rule"] == "assignment"
    decide(case, "rita")
    assert case.status == CaseStatus.APPROVED


@pytest.mark.parametrize(
    ("actor", "step", "rule_name"),
    [
        ("alice", rule(roles=("applicant",)), "sod.own_request"),
        ("hank", rule("committee", exclude_reporting_line=True), "sod.reporting_line"),
        (
            "cm3",
            rule("committee", roles=("committee_member",), exclude_reporting_line=True),
            "sod.reporting_line",
        ),
        ("fred", rule(users=("rita",)), "assignment"),
    ],
    ids=["own-request", "manager-excluded", "managers-manager-excluded", "not-assigned"],
)
def test_segregation_of_duties_and_assignment_refusals_name_the_rule(
    actor: str, step: StepRule, rule_name: str
) -> None:
    case = open_case(step)
    task = next(iter(case.open_tasks()))
    with pytest.raises(NotAllowed) as refused:
        case.decide(
            task.id,
            Action.APPROVE,
            actor=person(actor),
            comment=None,
            directory=ORG,
            delegations=(),
            now=T0,
        )
    assert refused.value.problem_extra["rule"] == rule_name
    assert case.status == CaseStatus.OPEN and not case.trail[1:]


def test_nobody_votes_twice_in_one_step() -> None:
    case = open_case(rule(mode=Mode.ALL, roles=("committee_member",)))
    decide(case, "cm1")
    added = case.add_signer(
        signer="cm1", actor=person("cm2"), comment=None, directory=ORG, delegations=(), now=T0
    )
    with pytest.raises(NotAllowed, match="already decided"):
        case.decide(
            added.id,
            Action.APPROVE,
            actor=person("cm1"),
            comment=None,
            directory=ORG,
            delegations=(),
            now=T0,
        )


@pytest.mark.parametrize("action", [Action.REJECT, Action.RETURN])
@pytest.mark.parametrize("comment", [None, "", "   "])
def test_rejecting_or_returning_needs_a_comment(action: Action, comment: str | None) -> None:
    case = open_case(rule())
    with pytest.raises(CommentRequired):
        decide(case, "hank", action, comment=comment)
    assert case.status == CaseStatus.OPEN


def test_a_delegate_acts_for_the_delegator_within_the_window_only() -> None:
    case = open_case(rule(users=("cm1",)))
    window = Delegation("cm1", "fred", T0 - DAY, T0 + DAY)
    with pytest.raises(NotAllowed):
        decide(case, "fred", task_of="cm1", delegations=(window,), at=T0 + 2 * DAY)
    decide(case, "fred", task_of="cm1", delegations=(window,), at=T0)
    done = next(t for t in case.tasks if t.status == TaskStatus.DONE)
    assert (done.decided_by, done.on_behalf_of) == ("fred", "cm1")
    assert case.trail[-2].on_behalf_of == "cm1"
    assert case.status == CaseStatus.APPROVED


def test_a_transferred_task_is_decided_by_its_new_owner() -> None:
    case = open_case(rule(users=("cm1",)))
    task = case.open_tasks()[0]
    moved = case.transfer(
        task.id,
        to="cm2",
        actor=person("cm1"),
        comment="on leave",
        directory=ORG,
        delegations=(),
        now=T0,
    )
    assert task.status == TaskStatus.CLOSED
    with pytest.raises(NotOpen):
        case.decide(
            task.id,
            Action.APPROVE,
            actor=person("cm1"),
            comment=None,
            directory=ORG,
            delegations=(),
            now=T0,
        )
    case.decide(
        moved.id,
        Action.APPROVE,
        actor=person("cm2"),
        comment=None,
        directory=ORG,
        delegations=(),
        now=T0,
    )
    assert case.status == CaseStatus.APPROVED
    assert [r.action for r in case.trail] == ["opened", "transfer", "approve", "approved"]


def test_an_added_signer_must_also_sign_when_all_must_sign() -> None:
    case = open_case(rule(mode=Mode.ALL, users=("cm1",)))
    case.add_signer(
        signer="cm2",
        actor=person("cm1"),
        comment="needs finance eyes",
        directory=ORG,
        delegations=(),
        now=T0,
    )
    decide(case, "cm1")
    assert case.status == CaseStatus.OPEN
    decide(case, "cm2")
    assert case.status == CaseStatus.APPROVED  # type: ignore[comparison-overlap]  # decide() mutates


def test_only_a_decider_of_the_current_step_can_add_a_signer() -> None:
    case = open_case(rule(users=("cm1",)))
    with pytest.raises(NotAllowed, match="only a decider"):
        case.add_signer(
            signer="cm2", actor=person("fred"), comment=None, directory=ORG, delegations=(), now=T0
        )


def test_returning_to_the_applicant_closes_the_case_as_returned() -> None:
    case = open_case(rule())
    decide(case, "hank", Action.RETURN, comment="attach the budget")
    assert case.status == CaseStatus.RETURNED
    assert case.events[-1] == CaseClosed(CaseStatus.RETURNED, "hank", "attach the budget")


@pytest.mark.parametrize(
    ("redo", "reopened"), [(True, ["legal", "finance", "board"]), (False, ["legal", "board"])]
)
def test_returning_to_an_earlier_step_redoes_the_steps_the_policy_says(
    redo: bool, reopened: list[str]
) -> None:
    case = open_case(
        rule("legal", users=("cm1",)),
        rule("finance", users=("fred",), redo_on_return=redo),
        rule("board", users=("cm3",)),
    )
    decide(case, "cm1")
    decide(case, "fred")
    decide(case, "cm3", Action.RETURN, comment="clause 7 is wrong", return_to="legal")
    assert case.status == CaseStatus.OPEN and case.current == 0
    opened = []
    while case.status == CaseStatus.OPEN:
        step = case.steps[case.current]
        opened.append(step.rule.name)
        decide(case, step.rule.users[0])
    assert opened == reopened
    assert case.status == CaseStatus.APPROVED


def test_returning_to_a_step_that_does_not_exist_is_refused() -> None:
    case = open_case(rule("legal", users=("cm1",)))
    with pytest.raises(InvalidReturn, match="'applicant' or one of"):
        decide(case, "cm1", Action.RETURN, comment="x", return_to="finance")


def test_only_the_requester_can_withdraw_and_then_nothing_is_open() -> None:
    case = open_case(rule())
    with pytest.raises(NotAllowed):
        case.withdraw(by="hank", comment=None, now=T0)
    [task] = case.open_tasks()
    case.withdraw(by="alice", comment="no longer needed", now=T0)
    assert case.status == CaseStatus.WITHDRAWN and case.open_tasks() == []
    with pytest.raises(NotOpen):
        case.decide(
            task.id,
            Action.APPROVE,
            actor=person("hank"),
            comment=None,
            directory=ORG,
            delegations=(),
            now=T0,
        )


@pytest.mark.parametrize(
    ("elapsed", "reminders", "escalated"),
    [
        (timedelta(hours=47), [], False),
        (timedelta(hours=48), [50], False),
        (timedelta(hours=72), [50, 75], False),
        (timedelta(hours=96), [50, 75], True),
    ],
)
def test_time_limits_remind_at_half_and_three_quarters_and_escalate_at_breach(
    elapsed: timedelta, reminders: list[int], escalated: bool
) -> None:
    case = open_case(rule(escalate_to="process_admin"))
    case.events.clear()
    case.sweep(T0 + elapsed)
    case.sweep(T0 + elapsed)  # sweeping again raises nothing new
    assert [e.percent for e in case.events if isinstance(e, ReminderDue)] == reminders
    assert any(isinstance(e, StepEscalated) for e in case.events) is escalated
    assert any(t.escalation for t in case.open_tasks()) is escalated


def test_the_escalation_role_can_decide_a_breached_step() -> None:
    case = open_case(rule(mode=Mode.ALL, roles=("committee_member",), escalate_to="process_admin"))
    case.sweep(T0 + 5 * DAY)
    escalation = next(t for t in case.open_tasks() if t.escalation)
    case.decide(
        escalation.id,
        Action.APPROVE,
        actor=person("ada"),
        comment="overdue; approved",
        directory=ORG,
        delegations=(),
        now=T0 + 5 * DAY,
    )
    assert case.status == CaseStatus.APPROVED
    assert escalation.rule is not None and escalation.rule.endswith("/escalation")


def test_a_step_with_nobody_to_ask_goes_straight_to_the_escalation_role() -> None:
    case = open_case(rule(mode=Mode.ALL, roles=("legal",), escalate_to="process_admin"))
    [task] = case.open_tasks()
    assert (task.pool_role, task.escalation) == ("process_admin", True)


def test_every_decision_records_who_for_whom_which_rule_and_when() -> None:
    case = open_case(rule("necessity"))
    decide(case, "hank", comment="fits the strategy", at=T0 + DAY)
    record = next(r for r in case.trail if r.action == "approve")
    assert (record.actor, record.on_behalf_of, record.at, record.comment) == (
        "hank",
        None,
        T0 + DAY,
        "fits the strategy",
    )
    assert record.rule == "test.policy@v1/necessity/any"
