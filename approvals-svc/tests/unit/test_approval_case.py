"""Approval cases: opened from a named policy, decided once by a holder of the step's role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from approvals_svc.domain.model import (
    POLICIES,
    AlreadyDecided,
    ApprovalCase,
    CaseDecided,
    CaseStatus,
    CommentRequired,
    Decider,
    Decision,
    DecisionNotAllowed,
    TaskStatus,
    UnknownPolicy,
)

POLICY = "application.necessity_review"
REQUESTER = "alice"
OPENED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
DECIDED = OPENED + timedelta(days=1)
REVIEWER = Decider("rita", frozenset({"reviewer"}))


def _open(policy: str = POLICY) -> ApprovalCase:
    return ApprovalCase.open(
        request_id=uuid.uuid4(),
        subject_type="application",
        subject_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        policy_name=policy,
        title="ERP migration",
        requester=REQUESTER,
        department="it",
        now=OPENED,
    )


def _only_task_id(case: ApprovalCase) -> uuid.UUID:
    (task,) = case.tasks
    return task.id


# ---- opening ---------------------------------------------------------------------------


def test_a_case_opens_with_one_open_task_for_the_policy_step_role() -> None:
    case = _open()

    assert case.status == CaseStatus.OPEN
    assert (case.policy, case.policy_version) == (POLICY, POLICIES[POLICY].version)
    assert [(t.role, t.status) for t in case.tasks] == [("reviewer", TaskStatus.OPEN)]
    assert case.events == []


@pytest.mark.parametrize("policy", ["no.such_policy", "", "Application.Necessity_Review"])
def test_a_case_cannot_be_opened_under_an_unknown_policy(policy: str) -> None:
    with pytest.raises(UnknownPolicy, match="no approval policy named"):
        _open(policy)


# ---- who may decide --------------------------------------------------------------------


@pytest.mark.parametrize("decision", list(Decision))
@pytest.mark.parametrize(
    "requester_roles",
    [frozenset({"reviewer"}), frozenset(), frozenset({"reviewer", "process_admin"})],
)
def test_nobody_decides_on_their_own_request(
    decision: Decision, requester_roles: frozenset[str]
) -> None:
    case = _open()

    with pytest.raises(DecisionNotAllowed) as refused:
        case.decide(
            _only_task_id(case),
            decision,
            by=Decider(REQUESTER, requester_roles),
            comment="looks fine to me",
            now=DECIDED,
        )

    assert refused.value.problem_extra == {"rule": "sod.own_request"}


@pytest.mark.parametrize("decision", list(Decision))
@pytest.mark.parametrize(
    "roles",
    [frozenset(), frozenset({"dept_head"}), frozenset({"finance", "legal"})],
)
def test_only_a_holder_of_the_step_role_decides(
    decision: Decision, roles: frozenset[str]
) -> None:
    case = _open()

    with pytest.raises(DecisionNotAllowed, match="'reviewer'") as refused:
        case.decide(
            _only_task_id(case),
            decision,
            by=Decider("bob", roles),
            comment="a comment",
            now=DECIDED,
        )

    assert refused.value.problem_extra == {"rule": "assignment.role"}


@pytest.mark.parametrize(
    "decider",
    [Decider(REQUESTER, frozenset({"reviewer"})), Decider("bob", frozenset())],
)
def test_a_refused_decider_leaves_the_case_open_and_announces_nothing(decider: Decider) -> None:
    case = _open()

    with pytest.raises(DecisionNotAllowed):
        case.decide(
            _only_task_id(case), Decision.APPROVE, by=decider, comment=None, now=DECIDED
        )

    assert case.status == CaseStatus.OPEN
    assert case.tasks[0].status == TaskStatus.OPEN
    assert case.events == []


# ---- comments --------------------------------------------------------------------------


@pytest.mark.parametrize("comment", [None, "", "   ", "\t\n"])
def test_a_rejection_needs_a_comment(comment: str | None) -> None:
    case = _open()

    with pytest.raises(CommentRequired) as refused:
        case.decide(
            _only_task_id(case), Decision.REJECT, by=REVIEWER, comment=comment, now=DECIDED
        )

    assert refused.value.problem_extra["errors"][0]["field"] == "comment"
    assert case.status == CaseStatus.OPEN
    assert case.events == []


@pytest.mark.parametrize("comment", [None, ""])
def test_an_approval_needs_no_comment(comment: str | None) -> None:
    case = _open()

    case.decide(_only_task_id(case), Decision.APPROVE, by=REVIEWER, comment=comment, now=DECIDED)

    assert case.status == CaseStatus.APPROVED


# ---- the outcome -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "comment", "outcome"),
    [
        (Decision.APPROVE, None, CaseStatus.APPROVED),
        (Decision.APPROVE, "well argued", CaseStatus.APPROVED),
        (Decision.REJECT, "no budget this year", CaseStatus.REJECTED),
    ],
)
def test_a_decision_settles_the_case_with_its_outcome(
    decision: Decision, comment: str | None, outcome: CaseStatus
) -> None:
    case = _open()

    case.decide(_only_task_id(case), decision, by=REVIEWER, comment=comment, now=DECIDED)

    assert case.status == outcome
    assert case.decided_at == DECIDED


@pytest.mark.parametrize(
    ("decision", "comment"),
    [(Decision.APPROVE, None), (Decision.REJECT, "no budget this year")],
)
def test_the_decided_task_records_who_what_when_and_why(
    decision: Decision, comment: str | None
) -> None:
    case = _open()
    task_id = _only_task_id(case)

    case.decide(task_id, decision, by=REVIEWER, comment=comment, now=DECIDED)

    task = case.task(task_id)
    assert task.status == TaskStatus.DONE
    assert task.decision == decision
    assert task.decided_by == REVIEWER.sub
    assert task.comment == comment
    assert task.decided_at == DECIDED


def test_the_decided_task_names_the_policy_version_that_allowed_the_decision() -> None:
    case = _open()
    task_id = _only_task_id(case)

    case.decide(task_id, Decision.APPROVE, by=REVIEWER, comment=None, now=DECIDED)

    rule = case.task(task_id).rule
    assert rule is not None
    assert POLICY in rule
    assert f"v{POLICIES[POLICY].version}" in rule
    assert "reviewer" in rule


@pytest.mark.parametrize(
    ("decision", "comment", "outcome"),
    [
        (Decision.APPROVE, None, CaseStatus.APPROVED),
        (Decision.REJECT, "no budget this year", CaseStatus.REJECTED),
    ],
)
def test_a_decision_announces_that_the_case_was_decided(
    decision: Decision, comment: str | None, outcome: CaseStatus
) -> None:
    case = _open()

    case.decide(_only_task_id(case), decision, by=REVIEWER, comment=comment, now=DECIDED)

    assert case.events == [CaseDecided(case.id, outcome, REVIEWER.sub, comment)]


@pytest.mark.parametrize("first", list(Decision))
@pytest.mark.parametrize("second", list(Decision))
def test_a_case_is_decided_only_once(first: Decision, second: Decision) -> None:
    case = _open()
    task_id = _only_task_id(case)
    case.decide(task_id, first, by=REVIEWER, comment="first word", now=DECIDED)
    settled = case.status

    other_reviewer = Decider("ravi", frozenset({"reviewer"}))
    with pytest.raises(AlreadyDecided):
        case.decide(task_id, second, by=other_reviewer, comment="second word", now=DECIDED)

    assert case.status == settled
    assert case.task(task_id).decided_by == REVIEWER.sub
    assert len(case.events) == 1
