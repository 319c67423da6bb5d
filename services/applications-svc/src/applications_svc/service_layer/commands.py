"""The commands of applications-svc: one frozen dataclass per use case, the whole request in it,
so the Idempotency-Key's fingerprint covers everything (a reused key with another body is
refused). When a command arrives is not part of it: a retry comes later with the same key, so
the use cases read the time from the unit of work's clock.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO, Literal

from applications_svc.domain.model import Resources, Risk
from guakao_shared.commands import Command

PlanSection = Literal["technical", "finance"]


# ---- stage 1: the application ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateApplication(Command):
    title: str
    background: str
    objectives: str
    expected_benefits: str
    resources: Resources
    start_date: date
    end_date: date
    risks: tuple[Risk, ...]


@dataclass(frozen=True, kw_only=True)
class UpdateApplication(Command):
    application_id: uuid.UUID
    changes: dict[str, Any]  # only the fields the request sets, as domain values
    expected_version: int | None = None  # If-Match: refused unless the case is at it


@dataclass(frozen=True, kw_only=True)
class SubmitApplication(Command):
    application_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class WithdrawApplication(Command):
    application_id: uuid.UUID
    reason: str | None = None


class Upload:
    """The bytes of an uploaded file, read once by the use case that stores them. They enter
    the fingerprint as their SHA-256, so a retry with other bytes under the same key is refused.
    """

    def __init__(self, stream: BinaryIO, sha256: str) -> None:
        self.stream, self.sha256 = stream, sha256

    @classmethod
    def of(cls, stream: BinaryIO) -> Upload:
        """Hash a seekable stream (an upload the server has already received) and rewind it."""
        digest = hashlib.sha256()
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
        stream.seek(0)
        return cls(stream, digest.hexdigest())

    def __str__(self) -> str:  # what the fingerprint sees of it
        return f"sha256:{self.sha256}"


@dataclass(frozen=True, kw_only=True)
class AttachDocument(Command):
    application_id: uuid.UUID
    document_type: str
    filename: str
    content_type: str
    declared_size: int | None  # as the upload says; the bytes stored are counted again
    content: Upload


# ---- stage 2: the plan -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EditPlanSection(Command):
    application_id: uuid.UUID
    section: PlanSection
    content: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class SignOffPlanSection(Command):
    application_id: uuid.UUID
    section: PlanSection


@dataclass(frozen=True, kw_only=True)
class SubmitPlan(Command):
    application_id: uuid.UUID
