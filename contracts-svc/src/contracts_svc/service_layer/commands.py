"""The commands of contracts-svc: one per use case, each carrying the whole request, so the
fingerprint stored with an Idempotency-Key covers every field (a reused key with a different
body is refused)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from contracts_svc.domain.model import Obligation, Party
from guakao_shared.commands import Command


@dataclass(frozen=True, kw_only=True)
class EditClause(Command):
    contract_id: uuid.UUID
    clause_type: str
    text: str


@dataclass(frozen=True, kw_only=True)
class SetParties(Command):
    contract_id: uuid.UUID
    parties: tuple[Party, ...]


@dataclass(frozen=True, kw_only=True)
class SetObligations(Command):
    contract_id: uuid.UUID
    obligations: tuple[Obligation, ...]


@dataclass(frozen=True, kw_only=True)
class AssignCustodian(Command):
    contract_id: uuid.UUID
    custodian: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReviewVersion(Command):
    contract_id: uuid.UUID
    version: int
    verdict: Literal["approve", "changes_requested"]
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class SubmitForApproval(Command):
    contract_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class Sign(Command):
    contract_id: uuid.UUID
    party: str
    version: int
    document_sha256: str


@dataclass(frozen=True, kw_only=True)
class Amend(Command):
    contract_id: uuid.UUID
    reason: str


@dataclass(frozen=True, kw_only=True)
class RunSweep(Command):
    """Filing retries and expiry reminders as of `now`, for every signed contract."""

    now: datetime


@dataclass(frozen=True, kw_only=True)
class SweepContract(Command):
    """One contract's part of the sweep, in its own transaction."""

    contract_id: uuid.UUID
    now: datetime
