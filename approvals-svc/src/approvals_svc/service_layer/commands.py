"""The commands of approvals-svc: one frozen dataclass per use case with the whole request in
it, so an Idempotency-Key reused with a different body (another comment, another signer) is
refused instead of answered with the first result."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from approvals_svc.domain.model import Action
from guakao_shared.commands import Command


@dataclass(frozen=True, kw_only=True)
class Decide(Command):
    task_id: uuid.UUID
    action: Action
    comment: str | None = None
    return_to: str | None = None  # with Action.RETURN: "applicant" (default) or a step name


@dataclass(frozen=True, kw_only=True)
class Transfer(Command):
    task_id: uuid.UUID
    to: str
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class AddSigner(Command):
    case_id: uuid.UUID
    signer: str
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class Withdraw(Command):
    case_id: uuid.UUID
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class PutPerson(Command):
    sub: str
    roles: tuple[str, ...]
    name: str | None = None
    department: str | None = None
    manager: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreateDelegation(Command):
    delegate: str
    starts: datetime
    ends: datetime
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class RevokeDelegation(Command):
    delegation_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class SweepTimeLimits(Command):
    """Remind and escalate on every open case as of `now`."""

    now: datetime


@dataclass(frozen=True, kw_only=True)
class SweepCase(Command):
    """Remind and escalate on one case as of `now` (one transaction of the sweep)."""

    case_id: uuid.UUID
    now: datetime
