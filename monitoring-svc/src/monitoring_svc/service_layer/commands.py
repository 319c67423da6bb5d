"""The commands of monitoring-svc: one frozen dataclass per use case, the whole request in it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from guakao_shared.commands import Command


@dataclass(frozen=True, kw_only=True)
class RegisterRisk(Command):
    case_id: uuid.UUID
    title: str
    description: str
    likelihood: int
    impact: int
    owner: str
    mitigation: str
