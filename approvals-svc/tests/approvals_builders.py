"""Builders for approvals-svc tests: the organisation, principals, incoming events and commands
with sensible defaults, so each test names only what it is about."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from approvals_svc.domain.model import Action, Person
from approvals_svc.service_layer.commands import (
    CreateDelegation,
    Decide,
    PutPerson,
    SweepTimeLimits,
    Withdraw,
)
from guakao_shared.events import (
    Actor,
    ApplicationWithdrawn,
    ApprovalRequested,
    Envelope,
    EventData,
    Money,
)
from guakao_shared.identity import Principal

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
CASE_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
REQUEST_ID = uuid.UUID("00000000-0000-4000-8000-000000000002")


class Org:
    """The directory as the engine reads it, in memory."""

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
        while person is not None and person.manager and person.manager not in line:
            line.append(person.manager)
            person = self.people.get(person.manager)
        return line


# alice (it) applies; rita heads it; cm1-cm3 sit on the committee; ada runs the process.
PEOPLE = (
    Person("alice", "it", frozenset({"applicant"}), manager="rita"),
    Person("rita", "it", frozenset({"dept_head"})),
    Person("dan", "it", frozenset({"applicant"})),
    *(Person(f"cm{i}", "board", frozenset({"committee_member"})) for i in (1, 2, 3)),
    Person("ada", "pmo", frozenset({"process_admin"})),
)


def principal(sub: str, *roles: str, department: str | None = None) -> Principal:
    """Someone with a token: their roles and department as the token says (or as PEOPLE do)."""
    known = next((p for p in PEOPLE if p.sub == sub), None)
    if known is not None:
        roles = roles or tuple(known.roles)
        department = department or known.department
    return Principal(sub=sub, department=department, roles=frozenset(roles))


ALICE = principal("alice")
RITA = principal("rita")
ADA = principal("ada")


def approval_requested(**overrides: Any) -> ApprovalRequested:
    """applications asks for the necessity review of alice's application (under the limit that
    adds the committee, so one step: rita's department heads, any one signs)."""
    fields: dict[str, Any] = {
        "request_id": REQUEST_ID,
        "subject_type": "application",
        "subject_id": CASE_ID,
        "policy": "application.necessity_review",
        "title": "ERP upgrade",
        "requester": "alice",
        "department": "it",
        "amount": Money(amount=Decimal("500000.00"), currency="CNY"),
        "process_version": 1,
    }
    return ApprovalRequested(**{**fields, **overrides})


def application_withdrawn(
    request_id: uuid.UUID | None = REQUEST_ID, reason: str | None = "merged into another project"
) -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id=CASE_ID, request_id=request_id, reason=reason)


def envelope(
    data: EventData, *, source: str = "applications", case_id: uuid.UUID = CASE_ID
) -> Envelope:
    return Envelope.wrap(data, source=source, case_id=case_id, actor=Actor(sub="alice"))


def decide(
    task_id: uuid.UUID,
    by: Principal = RITA,
    action: Action = Action.APPROVE,
    comment: str | None = "agreed",
    **overrides: Any,
) -> Decide:
    return Decide(actor=by, task_id=task_id, action=action, comment=comment, **overrides)


def withdraw(
    case_id: uuid.UUID, by: Principal = ALICE, comment: str | None = "no longer needed"
) -> Withdraw:
    return Withdraw(actor=by, case_id=case_id, comment=comment)


def sweep(at: datetime, by: Principal = ADA) -> SweepTimeLimits:
    return SweepTimeLimits(actor=by, now=at)


def delegation(
    delegate: str = "dan", by: Principal = RITA, hours: float = 8, **overrides: Any
) -> CreateDelegation:
    fields: dict[str, Any] = {
        "actor": by,
        "delegate": delegate,
        "starts": NOW - HOUR,
        "ends": NOW + hours * HOUR,
        "reason": "annual leave",
    }
    return CreateDelegation(**{**fields, **overrides})


def put_person(sub: str, *roles: str, by: Principal = ADA, **overrides: Any) -> PutPerson:
    return PutPerson(actor=by, sub=sub, roles=roles, **overrides)
