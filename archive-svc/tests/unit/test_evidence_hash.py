"""The offline verifier (`guakao_shared.evidence`, standard library only) hashes ledger entries
exactly as the archive chains them, so a package verifies against the archive's own hashes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from archive_svc.domain import model
from archive_svc.domain.model import LedgerEntry
from guakao_shared import evidence

START = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
PAYLOADS: list[dict[str, Any]] = [
    {},
    {"documents": [{"sha256": "ab" * 32, "size": 12, "archive_version_id": None}]},
    {"reason": "合同审计 — quarterly review", "roles": ["auditor"], "nested": {"z": [1, 2.5]}},
    {"first_seq": 1, "last_seq": 9, "root_hash": "0f" * 32},
    {"quote": 'say "hi"\n\ttab', "emoji": "🗄️", "bool": True, "null": None},
]
INSTANTS = [
    START,
    START.replace(microsecond=0),
    START.astimezone(timezone(timedelta(hours=8))),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
]


def _chain() -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for i, payload in enumerate(PAYLOADS * 2):
        entries.append(
            LedgerEntry.following(
                entries[-1] if entries else None,
                kind=["filed", "access", "checkpoint", "export"][i % 4],
                record_id=None if i % 3 == 2 else uuid.UUID(int=i + 1),
                payload=payload,
                at=INSTANTS[i % len(INSTANTS)],
            )
        )
    return entries


def _as_package_holds_it(entry: LedgerEntry) -> dict[str, Any]:
    """Through entry_json and a JSON round trip, as the manifest carries it."""
    as_json = evidence.entry_json(
        seq=entry.seq,
        at=entry.at,
        kind=entry.kind,
        record_id=entry.record_id,
        payload=entry.payload,
        prev_hash=entry.prev_hash,
        entry_hash=entry.entry_hash,
    )
    loaded: dict[str, Any] = json.loads(json.dumps(as_json, ensure_ascii=False))
    return loaded


@pytest.mark.parametrize("entry", _chain(), ids=lambda e: f"entry-{e.seq}")
def test_the_shared_hash_is_the_archives_hash(entry: LedgerEntry) -> None:
    fields: dict[str, Any] = {
        "seq": entry.seq,
        "at": entry.at,
        "kind": entry.kind,
        "record_id": entry.record_id,
        "payload": entry.payload,
        "prev_hash": entry.prev_hash,
    }

    assert evidence.entry_hash(**fields) == model.entry_hash(**fields) == entry.entry_hash
    assert evidence.entry_hash_of(_as_package_holds_it(entry)) == entry.entry_hash
    assert evidence.canonical_json(entry.payload) == model.canonical_json(entry.payload)


def test_the_genesis_hash_is_the_same() -> None:
    assert evidence.GENESIS_HASH == model.GENESIS_HASH
