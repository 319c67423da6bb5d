"""Builders for monitoring-svc tests: commands, principals and envelopes with sensible
defaults, so each test names only what it is about."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from guakao_shared.events import Actor, ApplicationSubmitted, Envelope, EventData, Money
from guakao_shared.identity import Principal
from monitoring_svc.service_layer.commands import RegisterRisk

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
CASE_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def person(sub: str = "pm1", *roles: str, department: str | None = "it") -> Principal:
    return Principal(sub=sub, department=department, roles=frozenset(roles or ("project_manager",)))


def register_risk(**overrides: Any) -> RegisterRisk:
    fields: dict[str, Any] = {
        "actor": person(),
        "case_id": CASE_ID,
        "title": "Key supplier may miss the integration milestone",
        "description": "",
        "likelihood": 3,
        "impact": 4,
        "owner": "pm1",
        "mitigation": "Second supplier qualified by March",
    }
    return RegisterRisk(**{**fields, **overrides})


def submitted(case_id: uuid.UUID = CASE_ID) -> EventData:
    return ApplicationSubmitted(
        application_id=case_id,
        title="Data platform",
        applicant="alice",
        department="it",
        requested_funds=Money(amount=Decimal(500_000), currency="CNY"),
        start_date=date(2027, 4, 1),
        end_date=date(2027, 12, 31),
        materials=[],
    )


def envelope(
    data: EventData, *, source: str = "applications", case_id: uuid.UUID = CASE_ID
) -> Envelope:
    return Envelope.wrap(data, source=source, case_id=case_id, actor=Actor(sub="alice"))
