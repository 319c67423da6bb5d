"""Retention by record class: how long nothing filed may be deleted or overwritten."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from archive_svc.config import Settings
from archive_svc.domain.model import (
    Record,
    RetentionSchedule,
    UnknownRecordClass,
    record_id_for,
)

FILED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SCHEDULE = RetentionSchedule({"contract": 3650, "minutes": 3650, "evaluation": 1825})
DB = "postgresql://postgres@127.0.0.1:1/archive"


@pytest.mark.parametrize(
    ("record_class", "days"), [("contract", 3650), ("minutes", 3650), ("evaluation", 1825)]
)
def test_retention_ends_the_class_days_after_filing(record_class: str, days: int) -> None:
    assert SCHEDULE.until(record_class, FILED) == FILED + timedelta(days=days)


def test_a_contract_is_kept_for_ten_years() -> None:
    assert SCHEDULE.until("contract", FILED) == datetime(2036, 2, 27, 9, 30, tzinfo=UTC)


def test_a_fraction_of_a_second_is_rounded_up_never_down() -> None:
    filed = FILED.replace(microsecond=1)

    until = SCHEDULE.until("evaluation", filed)

    assert until == FILED + timedelta(days=1825, seconds=1)
    assert until > filed + timedelta(days=1825)


def test_an_unknown_record_class_has_no_retention() -> None:
    with pytest.raises(UnknownRecordClass, match=r"'invoice'.*contract, evaluation, minutes"):
        SCHEDULE.until("invoice", FILED)


def test_a_new_record_carries_its_retention_and_a_stable_id() -> None:
    source_id, case_id = uuid.uuid4(), uuid.uuid4()

    record = Record.file(
        source_type="contract",
        source_id=source_id,
        source_version=2,
        case_id=case_id,
        record_class="contract",
        custodian="carol",
        retention=SCHEDULE,
        now=FILED,
    )

    assert record.retention_until == FILED + timedelta(days=3650)
    assert record.id == record_id_for("contract", source_id, 2)
    assert record.id != record_id_for("contract", source_id, 3)
    assert record.archive_key("ab" * 32) == f"contract/{case_id}/{record.id}/{'ab' * 32}"
    assert record.legal_hold is False


# ---- settings ------------------------------------------------------------------------------


def test_the_default_retention_classes() -> None:
    settings = Settings(database_url=DB)

    assert settings.retention_days == {"contract": 3650, "minutes": 3650, "evaluation": 1825}
    assert settings.archive_bucket == "guakao-archive"


def test_retention_classes_come_from_the_environment_as_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", DB)
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", '{"contract": 5475, "audit_evidence": 2555}')

    assert Settings().retention_days == {"contract": 5475, "audit_evidence": 2555}


@pytest.mark.parametrize(
    "days",
    [{}, {"contract": 0}, {"contract": -1}, {"Contract": 10}, {"con/tract": 10}, {"a" * 51: 1}],
)
def test_invalid_retention_classes_are_refused_at_start(days: dict[str, int]) -> None:
    with pytest.raises(ValidationError, match="retention_days"):
        Settings(database_url=DB, retention_days=days)
