"""The declarative list of what the infrastructure must hold: databases, topics, buckets.

`guakao infra up`, the Kubernetes bootstrap jobs and the test fixtures all create exactly this,
so topics (with their partition counts; broker auto-create is off) and buckets never drift.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICES: tuple[str, ...] = ("applications", "approvals", "contracts", "monitoring", "archive")


def events_topic(service: str) -> str:
    """The topic a service publishes its domain events to, keyed by case id."""
    return f"guakao.{service}.v1"


def dead_letter_topic(service: str) -> str:
    """Where a service's consumers park messages they could not process."""
    return f"guakao.{service}.dlq"


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    retention_ms: int = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Bucket:
    name: str
    versioning: bool = True
    object_lock: bool = False


DATABASES: tuple[str, ...] = SERVICES

TOPICS: tuple[Topic, ...] = tuple(
    topic
    for service in SERVICES
    for topic in (
        Topic(events_topic(service), partitions=6),
        Topic(dead_letter_topic(service), partitions=1, retention_ms=30 * 24 * 3600 * 1000),
    )
)

BUCKETS: tuple[Bucket, ...] = (
    Bucket("guakao-applications"),
    Bucket("guakao-approvals"),
    Bucket("guakao-contracts"),
    Bucket("guakao-monitoring"),
    # The WORM archive: Object Lock can only be switched on when the bucket is created.
    Bucket("guakao-archive", object_lock=True),
)
