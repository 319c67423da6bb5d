"""The approval engine: approval cases run a policy's steps in order. Plain Python.

Per step: any one signs (或签), all must sign (会签), a quorum (N of M) or a weighted vote above a
threshold. Routing (which steps apply) is decided when the case opens. Decisions can be made
directly or on behalf of a delegator; tasks can be transferred; signers added; the requester can
withdraw; a case can be returned to the applicant or to an earlier step (the policy says which
later steps are redone). Time limits drive reminders at 50% and 75% and escalation at breach;
`now` is always passed in, so the engine never reads a clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Mode(StrEnum):
    ANY = "any"
    ALL = "all"
    QUORUM = "quorum"
    WEIGHTED = "weighted"


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


class CaseStatus(StrEnum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    RETURNED = "RETURNED"
    WITHDRAWN = "WITHDRAWN"


class StepStatus(StrEnum):
    PENDING = "PENDING"
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class TaskStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    CLOSED = "CLOSED"  # the step was decided without it, or it was transferred away


@dataclass(frozen=True)
class StepRule:
    name: str
    mode: Mode
    time_limit: timedelta
    roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    department_scoped: bool = False
    quorum: int | None = None
    weights: tuple[tuple[str, float], ...] = ()
    threshold: float | None = None
    escalate_to: str | None = None
    exclude_reporting_line: bool = False
    redo_on_return: bool = True


@dataclass(frozen=True)
class Person:
    sub: str
    department: str | None = None
    roles: frozenset[str] = frozenset()
    manager: str | None = None


class Directory(Protocol):
    """Who is who: the organisation's people, their roles, departments and managers."""

    def person(self, sub: str) -> Person | None: ...

    def holders(self, role: str, department: str | None) -> list[Person]: ...

    def reporting_line(self, sub: str) -> list[str]: ...


@dataclass(frozen=True)
class Delegation:
    delegator: str
    delegate: str
    starts: datetime
    ends: datetime

    def active(self, now: datetime) -> bool:
        return self.starts <= now < self.ends


# ---- refusals ----------------------------------------------------------------------------


class ApprovalError(Exception):
    def __init__(self, message: str, **problem_extra: object) -> None:
        super().__init__(message)
        self.problem_extra = problem_extra


class NotAllowed(ApprovalError):
    """The actor may not do this (role, assignment or a segregation-of-duties rule)."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message, rule=rule)


class NotOpen(ApprovalError):
    pass


class CommentRequired(ApprovalError):
    def __init__(self, action: Action) -> None:
        message = f"a comment is required to {action.value}"
        super().__init__(
            f"comment: {message}",
            errors=[
                {"field": "comment", "rule": f"required_on_{action.value}", "message": message}
            ],
        )


class InvalidReturn(ApprovalError):
    pass


# ---- the case ----------------------------------------------------------------------------


@dataclass
class Task:
    id: uuid.UUID
    step: int
    round: int
    assignee: str | None = None  # a named user ...
    pool_role: str | None = None  # ... or any holder of a role (in pool_department, if set)
    pool_department: str | None = None
    weight: float = 1.0
    escalation: bool = False
    status: TaskStatus = TaskStatus.OPEN
    action: Action | None = None
    decided_by: str | None = None
    on_behalf_of: str | None = None
    comment: str | None = None
    decided_at: datetime | None = None
    rule: str | None = None


@dataclass
class Step:
    rule: StepRule
    status: StepStatus = StepStatus.PENDING
    round: int = 0
    opened_at: datetime | None = None
    reminded: tuple[int, ...] = ()
    escalated: bool = False


@dataclass(frozen=True)
class Record:
    """One line of the audit trail: who did what, for whom, under which rule, when."""

    at: datetime
    action: str
    actor: str
    step: str | None = None
    task_id: uuid.UUID | None = None
    on_behalf_of: str | None = None
    rule: str | None = None
    comment: str | None = None
    detail: str | None = None


# Events the service layer turns into integration events.
@dataclass(frozen=True)
class CaseClosed:
    status: CaseStatus
    by: str
    comment: str | None


@dataclass(frozen=True)
class StepOpened:
    step: str


@dataclass(frozen=True)
class ReminderDue:
    step: str
    percent: int
    due_at: datetime


@dataclass(frozen=True)
class StepEscalated:
    step: str
    to_role: str


@dataclass
class ApprovalCase:
    id: uuid.UUID
    request_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    case_id: uuid.UUID
    policy: str
    process_version: int
    title: str
    requester: str
    department: str
    created_at: datetime
    steps: list[Step]
    tasks: list[Task] = field(default_factory=list)
    trail: list[Record] = field(default_factory=list)
    status: CaseStatus = CaseStatus.OPEN
    current: int = 0
    closed_at: datetime | None = None
    version: int = 0
    events: list[object] = field(default_factory=list, repr=False, compare=False)

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        request_id: uuid.UUID,
        subject_type: str,
        subject_id: uuid.UUID,
        case_id: uuid.UUID,
        policy: str,
        process_version: int,
        rules: Iterable[StepRule],
        title: str,
        requester: str,
        department: str,
        directory: Directory,
        now: datetime,
    ) -> ApprovalCase:
        steps = [Step(rule) for rule in rules]
        if not steps:
            raise ApprovalError(f"policy {policy!r} has no step that applies to this request")
        case = cls(
            id=uuid.uuid4(),
            request_id=request_id,
            subject_type=subject_type,
            subject_id=subject_id,
            case_id=case_id,
            policy=policy,
            process_version=process_version,
            title=title,
            requester=requester,
            department=department,
            created_at=now,
            steps=steps,
        )
        case.trail.append(
            Record(now, "opened", requester, detail=" → ".join(s.rule.name for s in steps))
        )
        case._open_step(0, directory, now)
        return case

    def rule_id(self, step: Step) -> str:
        return f"{self.policy}@v{self.process_version}/{step.rule.name}/{step.rule.mode.value}"

    def _open_step(self, index: int, directory: Directory, now: datetime) -> None:
        step = self.steps[index]
        self.current = index
        step.status, step.round, step.opened_at = StepStatus.OPEN, step.round + 1, now
        step.reminded, step.escalated = (), False
        self.tasks.extend(self._tasks_for(index, step, directory))
        self.events.append(StepOpened(step.rule.name))

    def _tasks_for(self, index: int, step: Step, directory: Directory) -> list[Task]:
        rule = step.rule
        weights = dict(rule.weights)
        department = self.department if rule.department_scoped else None

        def task(**kw: object) -> Task:
            return Task(id=uuid.uuid4(), step=index, round=step.round, **kw)  # type: ignore[arg-type]

        if rule.users:
            return [task(assignee=u, weight=weights.get(u, 1.0)) for u in rule.users]
        if rule.mode == Mode.ANY:
            return [task(pool_role=r, pool_department=department) for r in rule.roles]
        people: dict[str, tuple[Person, str]] = {}
        for role in rule.roles:
            for person in directory.holders(role, department):
                if person.sub != self.requester:
                    people.setdefault(person.sub, (person, role))
        if not people:  # nobody to ask: hand the step to the escalation role at once
            return [task(pool_role=rule.escalate_to or "process_admin", escalation=True)]
        return [
            task(assignee=sub, weight=weights.get(sub, weights.get(role, 1.0)))
            for sub, (_, role) in sorted(people.items())
        ]

    # -- who may act ---------------------------------------------------------------------

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.status == TaskStatus.OPEN]

    def task(self, task_id: uuid.UUID) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)

    @staticmethod
    def _eligible(task: Task, person: Person) -> bool:
        if task.assignee is not None:
            return task.assignee == person.sub
        if task.pool_role not in person.roles:
            return False
        return task.pool_department is None or task.pool_department == person.department

    def authority(
        self,
        task: Task,
        actor: Person,
        *,
        directory: Directory,
        delegations: Iterable[Delegation],
        now: datetime,
    ) -> str | None:
        """Whom the actor acts for: None (themself) or a delegator; refuses if neither."""
        if self._eligible(task, actor):
            return None
        for d in delegations:
            if d.delegate == actor.sub and d.active(now):
                delegator = directory.person(d.delegator) or Person(d.delegator)
                if self._eligible(task, delegator):
                    return d.delegator
        who = task.assignee or f"role {task.pool_role!r}" + (
            f" in {task.pool_department}" if task.pool_department else ""
        )
        raise NotAllowed(
            f"this task is assigned to {who}, and you hold no delegation for it", rule="assignment"
        )

    def _check_duties(
        self, step: Step, actor: str, on_behalf_of: str | None, directory: Directory
    ) -> None:
        for who in filter(None, (actor, on_behalf_of)):
            if who == self.requester:
                raise NotAllowed(
                    "segregation of duties: nobody decides on their own request",
                    rule="sod.own_request",
                )
            if step.rule.exclude_reporting_line and who in directory.reporting_line(self.requester):
                raise NotAllowed(
                    f"segregation of duties: {who} is in the requester's reporting line, which "
                    f"step {step.rule.name!r} excludes",
                    rule="sod.reporting_line",
                )
        voted = {
            t.decided_by
            for t in self.tasks
            if t.step == self.current and t.round == step.round and t.status == TaskStatus.DONE
        }
        voted |= {
            t.on_behalf_of
            for t in self.tasks
            if t.step == self.current and t.round == step.round and t.status == TaskStatus.DONE
        }
        if actor in voted or (on_behalf_of and on_behalf_of in voted):
            raise NotAllowed("you have already decided in this step", rule="one_vote_per_step")

    def _require_open(self, task: Task | None = None) -> None:
        if self.status != CaseStatus.OPEN:
            raise NotOpen(f"the approval case is {self.status}")
        if task is not None and task.status != TaskStatus.OPEN:
            raise NotOpen(f"task {task.id} is {task.status}")

    # -- deciding ------------------------------------------------------------------------

    def decide(
        self,
        task_id: uuid.UUID,
        action: Action,
        *,
        actor: Person,
        comment: str | None,
        directory: Directory,
        delegations: Iterable[Delegation],
        now: datetime,
        return_to: str | None = None,
    ) -> None:
        task = self.task(task_id)
        self._require_open(task)
        step = self.steps[task.step]
        on_behalf_of = self.authority(
            task, actor, directory=directory, delegations=delegations, now=now
        )
        self._check_duties(step, actor.sub, on_behalf_of, directory)
        comment = (comment or "").strip() or None
        if action in (Action.REJECT, Action.RETURN) and comment is None:
            raise CommentRequired(action)
        if action == Action.RETURN:
            target = self._return_target(return_to)
        task.status, task.action, task.decided_by = TaskStatus.DONE, action, actor.sub
        task.on_behalf_of, task.comment, task.decided_at = on_behalf_of, comment, now
        task.rule = self.rule_id(step) + ("/escalation" if task.escalation else "")
        self.trail.append(
            Record(
                now,
                action.value,
                actor.sub,
                step.rule.name,
                task.id,
                on_behalf_of,
                task.rule,
                comment,
                detail=f"return to {return_to or 'applicant'}" if action == Action.RETURN else None,
            )
        )
        if action == Action.RETURN:
            self._return(target, actor.sub, comment, directory, now)
            return
        outcome = StepStatus.APPROVED if action == Action.APPROVE else StepStatus.REJECTED
        if not task.escalation:
            outcome = self._tally(step) or StepStatus.OPEN
        if outcome == StepStatus.OPEN:
            return
        self._close_step(step, outcome)
        if outcome == StepStatus.REJECTED:
            self._close(CaseStatus.REJECTED, actor.sub, comment, now)
            return
        following = next(
            (
                i
                for i in range(task.step + 1, len(self.steps))
                if self.steps[i].status != StepStatus.APPROVED
            ),
            None,
        )
        if following is None:
            self._close(CaseStatus.APPROVED, actor.sub, comment, now)
        else:
            self._open_step(following, directory, now)

    def _tally(self, step: Step) -> StepStatus | None:
        """The step's outcome from its votes so far, or None while it is still open."""
        tasks = [
            t
            for t in self.tasks
            if t.step == self.current
            and t.round == step.round
            and not t.escalation
            and (t.status != TaskStatus.CLOSED or t.action)
        ]
        approve = [t for t in tasks if t.action == Action.APPROVE]
        reject = [t for t in tasks if t.action == Action.REJECT]
        rule = step.rule
        if rule.mode == Mode.ANY:
            if approve:
                return StepStatus.APPROVED
            return StepStatus.REJECTED if reject else None
        if rule.mode == Mode.ALL:
            if reject:
                return StepStatus.REJECTED
            return StepStatus.APPROVED if len(approve) == len(tasks) else None
        if rule.mode == Mode.QUORUM:
            needed = min(rule.quorum or 1, len(tasks))
            if len(approve) >= needed:
                return StepStatus.APPROVED
            return StepStatus.REJECTED if len(tasks) - len(reject) < needed else None
        total = sum(t.weight for t in tasks)
        share = (rule.threshold or 0.5) * total
        if sum(t.weight for t in approve) > share:
            return StepStatus.APPROVED
        return StepStatus.REJECTED if total - sum(t.weight for t in reject) <= share else None

    def _close_step(self, step: Step, outcome: StepStatus) -> None:
        step.status = outcome
        for t in self.open_tasks():
            t.status = TaskStatus.CLOSED

    def _close(self, status: CaseStatus, by: str, comment: str | None, now: datetime) -> None:
        for t in self.open_tasks():
            t.status = TaskStatus.CLOSED
        self.status, self.closed_at = status, now
        self.trail.append(Record(now, status.value.lower(), by, comment=comment))
        self.events.append(CaseClosed(status, by, comment))

    def _return_target(self, return_to: str | None) -> int | None:
        """None means the applicant; otherwise the index of an earlier (or the current) step."""
        if return_to in (None, "applicant"):
            return None
        for i, s in enumerate(self.steps[: self.current + 1]):
            if s.rule.name == return_to:
                return i
        names = [s.rule.name for s in self.steps[: self.current + 1]]
        raise InvalidReturn(f"cannot return to {return_to!r}: choose 'applicant' or one of {names}")

    def _return(
        self, target: int | None, by: str, comment: str | None, directory: Directory, now: datetime
    ) -> None:
        if target is None:
            self._close(CaseStatus.RETURNED, by, comment, now)
            return
        for t in self.open_tasks():
            t.status = TaskStatus.CLOSED
        for i in range(target + 1, self.current + 1):
            if self.steps[i].rule.redo_on_return or i == self.current:
                self.steps[i].status = StepStatus.PENDING
        self._open_step(target, directory, now)

    # -- the other actions ---------------------------------------------------------------

    def withdraw(self, *, by: str, comment: str | None, now: datetime) -> None:
        self._require_open()
        if by != self.requester:
            raise NotAllowed(
                "only the requester can withdraw the request", rule="withdraw.requester"
            )
        self._close(CaseStatus.WITHDRAWN, by, comment, now)

    def transfer(
        self,
        task_id: uuid.UUID,
        *,
        to: str,
        actor: Person,
        comment: str | None,
        directory: Directory,
        delegations: Iterable[Delegation],
        now: datetime,
    ) -> Task:
        task = self.task(task_id)
        self._require_open(task)
        self.authority(task, actor, directory=directory, delegations=delegations, now=now)
        if to == self.requester:
            raise NotAllowed(
                "segregation of duties: a task cannot go to the requester", rule="sod.own_request"
            )
        task.status = TaskStatus.CLOSED
        moved = replace(
            task,
            id=uuid.uuid4(),
            assignee=to,
            pool_role=None,
            pool_department=None,
            status=TaskStatus.OPEN,
        )
        self.tasks.append(moved)
        self.trail.append(
            Record(
                now,
                "transfer",
                actor.sub,
                self.steps[task.step].rule.name,
                task.id,
                comment=comment,
                detail=f"to {to} (task {moved.id})",
            )
        )
        return moved

    def add_signer(
        self,
        *,
        signer: str,
        actor: Person,
        comment: str | None,
        directory: Directory,
        delegations: Iterable[Delegation],
        now: datetime,
    ) -> Task:
        self._require_open()
        step = self.steps[self.current]
        mine = [t for t in self.open_tasks() if t.step == self.current]
        if not any(self._eligible(t, actor) for t in mine) and not any(
            self._can_act(t, actor, directory, delegations, now) for t in mine
        ):
            raise NotAllowed(
                "only a decider of the current step can add a signer", rule="add_signer.decider"
            )
        if signer == self.requester:
            raise NotAllowed(
                "segregation of duties: the requester cannot sign", rule="sod.own_request"
            )
        added = Task(id=uuid.uuid4(), step=self.current, round=step.round, assignee=signer)
        self.tasks.append(added)
        self.trail.append(
            Record(
                now,
                "add_signer",
                actor.sub,
                step.rule.name,
                added.id,
                comment=comment,
                detail=f"added {signer}",
            )
        )
        return added

    def _can_act(
        self,
        task: Task,
        actor: Person,
        directory: Directory,
        delegations: Iterable[Delegation],
        now: datetime,
    ) -> bool:
        try:
            self.authority(task, actor, directory=directory, delegations=delegations, now=now)
        except NotAllowed:
            return False
        return True

    # -- time limits ---------------------------------------------------------------------

    def due_at(self) -> datetime | None:
        step = self.steps[self.current]
        if self.status != CaseStatus.OPEN or step.opened_at is None:
            return None
        return step.opened_at + step.rule.time_limit

    def sweep(self, now: datetime) -> None:
        """Remind at 50% and 75% of the step's time limit; escalate once it is breached."""
        if self.status != CaseStatus.OPEN:
            return
        step = self.steps[self.current]
        assert step.opened_at is not None
        elapsed = (now - step.opened_at) / step.rule.time_limit
        due = step.opened_at + step.rule.time_limit
        for percent in (50, 75):
            if elapsed >= percent / 100 and percent not in step.reminded:
                step.reminded = (*step.reminded, percent)
                self.events.append(ReminderDue(step.rule.name, percent, due))
                self.trail.append(
                    Record(
                        now,
                        "reminder",
                        "system",
                        step.rule.name,
                        detail=f"{percent}% of the time limit used",
                    )
                )
        if elapsed >= 1 and not step.escalated:
            step.escalated = True
            role = step.rule.escalate_to or "process_admin"
            self.tasks.append(
                Task(
                    id=uuid.uuid4(),
                    step=self.current,
                    round=step.round,
                    pool_role=role,
                    escalation=True,
                )
            )
            self.events.append(StepEscalated(step.rule.name, role))
            self.trail.append(
                Record(
                    now,
                    "escalated",
                    "system",
                    step.rule.name,
                    detail=f"time limit breached; escalated to {role}",
                )
            )
