"""Small shared mechanics: request fingerprints, the outbox relay's lock key, the topology."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest

from guakao_shared.idempotency import fingerprint
from guakao_shared.outbox import advisory_lock_key
from guakao_shared.topology import (
    BUCKETS,
    SERVICES,
    TOPICS,
    dead_letter_topic,
    events_topic,
)

# ---- idempotency fingerprints ----------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("alice", {"a": 1, "b": 2}), ("alice", {"b": 2, "a": 1})),
        (
            ({"outer": {"x": [1, 2], "y": None}, "z": "s"},),
            ({"z": "s", "outer": {"y": None, "x": [1, 2]}},),
        ),
        (
            ("POST", "/applications", {"funds": Decimal("1.50"), "id": uuid.UUID(int=7)}),
            ("POST", "/applications", {"id": uuid.UUID(int=7), "funds": Decimal("1.50")}),
        ),
    ],
    ids=["flat", "nested", "non-json-values"],
)
def test_equal_requests_have_the_same_fingerprint_whatever_the_key_order(
    first: tuple[Any, ...], second: tuple[Any, ...]
) -> None:
    assert fingerprint(*first) == fingerprint(*second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("alice", {"a": 1}), ("bob", {"a": 1})),
        (("alice", {"a": 1}), ("alice", {"a": 2})),
        (("alice", {"a": 1}), ("alice", {"b": 1})),
        (("alice", {"a": [1, 2]}), ("alice", {"a": [2, 1]})),
        (("alice", "submit"), ("submit", "alice")),
        (("alice",), ("alice", None)),
        ((1,), ("1",)),
    ],
    ids=["principal", "value", "key", "list-order", "part-order", "arity", "type"],
)
def test_different_requests_have_different_fingerprints(
    first: tuple[Any, ...], second: tuple[Any, ...]
) -> None:
    assert fingerprint(*first) != fingerprint(*second)


def test_a_fingerprint_is_a_sha256_hex_digest() -> None:
    digest = fingerprint("alice", {"a": 1})

    assert re.fullmatch(r"[0-9a-f]{64}", digest)


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
