"""Small shared mechanics: command fingerprints, the outbox relay's lock key, the topology."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from guakao_shared.commands import Command
from guakao_shared.identity import Principal
from guakao_shared.outbox import advisory_lock_key
from guakao_shared.topology import (
    BUCKETS,
    SERVICES,
    TOPICS,
    dead_letter_topic,
    events_topic,
)

# ---- command fingerprints (what an Idempotency-Key is bound to) -----------------------------


@dataclass(frozen=True, kw_only=True)
class Decide(Command):
    task_id: uuid.UUID
    comment: str | None = None
    terms: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Transfer(Command):
    task_id: uuid.UUID
    comment: str | None = None
    terms: dict[str, Any] = field(default_factory=dict)


ALICE = Principal(sub="alice", department="it", roles=frozenset({"dept_head"}))
TASK = uuid.UUID(int=7)


def test_the_fingerprint_is_the_whole_command_whatever_the_order_of_its_mappings() -> None:
    first = Decide(actor=ALICE, task_id=TASK, terms={"a": Decimal("1.50"), "b": [1, 2]})
    second = Decide(actor=ALICE, task_id=TASK, terms={"b": [1, 2], "a": Decimal("1.50")})
    assert first.fingerprint() == second.fingerprint()


def test_the_actor_is_not_part_of_it_the_key_is_already_theirs() -> None:
    fresh_token = Principal(sub="alice", department="it", roles=frozenset(), claims={"iat": 2})
    assert Decide(actor=ALICE, task_id=TASK).fingerprint() == (
        Decide(actor=fresh_token, task_id=TASK).fingerprint()
    )


@pytest.mark.parametrize(
    "other",
    [
        Decide(actor=ALICE, task_id=TASK, comment="ok, but"),
        Decide(actor=ALICE, task_id=uuid.UUID(int=8)),
        Decide(actor=ALICE, task_id=TASK, terms={"a": 1}),
        Transfer(actor=ALICE, task_id=TASK),
    ],
    ids=["comment", "subject", "nested-value", "command-type"],
)
def test_any_difference_in_what_is_asked_changes_it(other: Command) -> None:
    assert Decide(actor=ALICE, task_id=TASK).fingerprint() != other.fingerprint()


def test_values_of_another_type_fingerprint_differently() -> None:
    assert Decide(actor=ALICE, task_id=TASK, terms={"a": 1}).fingerprint() != (
        Decide(actor=ALICE, task_id=TASK, terms={"a": "1"}).fingerprint()
    )


def test_a_fingerprint_is_a_sha256_hex_digest() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", Decide(actor=ALICE, task_id=TASK).fingerprint())


# ---- the outbox relay's advisory lock --------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_the_relay_lock_key_is_stable_for_a_service(service: str) -> None:
    assert advisory_lock_key(service) == advisory_lock_key(service)


def test_each_service_relay_takes_its_own_lock() -> None:
    keys = [advisory_lock_key(service) for service in SERVICES]

    assert len(set(keys)) == len(SERVICES)


@pytest.mark.parametrize("service", [*SERVICES, "", "x" * 500, "挂靠"])
def test_the_relay_lock_key_fits_a_postgres_bigint(service: str) -> None:
    assert -(2**63) <= advisory_lock_key(service) < 2**63


# ---- topology --------------------------------------------------------------------------

TOPIC_NAMES = {topic.name for topic in TOPICS}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_versioned_events_topic(service: str) -> None:
    assert events_topic(service) == f"guakao.{service}.v1"
    assert events_topic(service) in TOPIC_NAMES


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_dead_letter_topic(service: str) -> None:
    assert dead_letter_topic(service) == f"guakao.{service}.dlq"
    assert dead_letter_topic(service) in TOPIC_NAMES


def test_topics_are_declared_once() -> None:
    assert len(TOPIC_NAMES) == len(TOPICS)


def test_the_archive_bucket_is_write_once() -> None:
    (archive,) = [bucket for bucket in BUCKETS if bucket.name == "guakao-archive"]

    assert archive.object_lock is True
    assert archive.versioning is True
