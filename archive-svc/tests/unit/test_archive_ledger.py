"""The hash-chained ledger: how an entry is hashed, and how any change to history is found."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from archive_svc.domain.evidence import GENESIS_HASH, canonical_json
from archive_svc.domain.model import ChainVerifier, LedgerEntry, verify_chain

START = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)


def _chain(n: int) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for i in range(n):
        entries.append(
            LedgerEntry.following(
                entries[-1] if entries else None,
                kind="filed",
                record_id=uuid.UUID(int=i + 1),
                payload={"documents": [{"sha256": f"{i:064x}", "size": i}], "n": i},
                at=START + timedelta(minutes=i),
            )
        )
    return entries


def _rehash(entry: LedgerEntry) -> LedgerEntry:
    """What a forger does after editing an entry: recompute its own hash."""
    return dataclasses.replace(entry, entry_hash=entry.computed_hash())


def _by_seq(entries: list[LedgerEntry], seq: int) -> int:
    return next(i for i, e in enumerate(entries) if e.seq == seq)


def _with(entries: list[LedgerEntry], which: int, **changes: Any) -> list[LedgerEntry]:
    changed = list(entries)
    i = _by_seq(changed, which)
    changed[i] = dataclasses.replace(changed[i], **changes)
    return changed


# ---- hashing -------------------------------------------------------------------------------


def test_an_entry_hash_is_the_sha256_of_its_canonical_json() -> None:
    record_id = uuid.uuid4()
    entry = LedgerEntry.following(
        None, kind="filed", record_id=record_id, payload={"b": 2, "a": "甲"}, at=START
    )

    expected = json.dumps(
        {
            "seq": 1,
            "at": "2026-03-01T09:00:00.123456+00:00",
            "kind": "filed",
            "record_id": str(record_id),
            "payload": {"a": "甲", "b": 2},
            "prev_hash": "0" * 64,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert entry.entry_hash == hashlib.sha256(expected).hexdigest()
    assert b" " not in canonical_json({"b": [1, 2], "a": {"d": 1, "c": 2}})


def test_the_first_entry_is_number_one_and_follows_the_genesis_hash() -> None:
    first = LedgerEntry.following(None, kind="filed", record_id=None, payload={}, at=START)

    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH == "0" * 64


def test_each_entry_chains_to_the_hash_of_the_one_before() -> None:
    entries = _chain(3)

    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].prev_hash == entries[0].entry_hash
    assert entries[2].prev_hash == entries[1].entry_hash


def test_key_order_of_the_payload_does_not_change_the_hash() -> None:
    a = LedgerEntry.following(None, kind="k", record_id=None, payload={"x": 1, "y": 2}, at=START)
    b = LedgerEntry.following(None, kind="k", record_id=None, payload={"y": 2, "x": 1}, at=START)

    assert a.entry_hash == b.entry_hash


def test_the_same_instant_in_another_time_zone_hashes_the_same() -> None:
    """The database hands times back in UTC; the hash must not depend on the zone written."""
    beijing = START.astimezone(timezone(timedelta(hours=8)))
    a = LedgerEntry.following(None, kind="k", record_id=None, payload={}, at=START)
    b = LedgerEntry.following(None, kind="k", record_id=None, payload={}, at=beijing)

    assert a.entry_hash == b.entry_hash


# ---- verification --------------------------------------------------------------------------


def test_an_intact_chain_verifies_with_no_problems() -> None:
    assert verify_chain(_chain(8)) == []
    assert verify_chain([]) == []


def test_a_tampered_payload_is_a_hash_mismatch_of_exactly_that_entry() -> None:
    entries = _chain(8)
    payload = {**entries[4].payload, "n": 999}

    assert verify_chain(_with(entries, 5, payload=payload)) == ["entry 5: hash mismatch"]


def test_a_tampered_document_hash_inside_the_payload_is_detected() -> None:
    entries = _chain(8)
    payload = {**entries[2].payload, "documents": [{"sha256": "f" * 64, "size": 2}]}

    assert verify_chain(_with(entries, 3, payload=payload)) == ["entry 3: hash mismatch"]


def test_a_forged_entry_with_a_recomputed_hash_breaks_the_link_from_the_next() -> None:
    entries = _chain(8)
    forged = _rehash(dataclasses.replace(entries[4], payload={**entries[4].payload, "n": 999}))
    entries[4] = forged

    assert verify_chain(entries) == ["entry 6: prev_hash does not match entry 5"]


def test_a_tampered_entry_hash_is_reported_on_the_entry_and_the_next_link() -> None:
    entries = _chain(8)

    assert verify_chain(_with(entries, 5, entry_hash="a" * 64)) == [
        "entry 5: hash mismatch",
        "entry 6: prev_hash does not match entry 5",
    ]


def test_a_tampered_prev_hash_is_reported_precisely() -> None:
    entries = _chain(8)

    assert verify_chain(_with(entries, 6, prev_hash="b" * 64)) == [
        "entry 6: hash mismatch",
        "entry 6: prev_hash does not match entry 5",
    ]


def test_a_changed_time_or_kind_is_a_hash_mismatch() -> None:
    entries = _chain(5)

    assert verify_chain(_with(entries, 2, at=START + timedelta(days=1))) == [
        "entry 2: hash mismatch"
    ]
    assert verify_chain(_with(entries, 4, kind="accessed")) == ["entry 4: hash mismatch"]
    assert verify_chain(_with(entries, 3, record_id=uuid.uuid4())) == ["entry 3: hash mismatch"]


def test_a_deleted_entry_is_reported_as_missing() -> None:
    entries = _chain(8)
    del entries[_by_seq(entries, 5)]

    assert verify_chain(entries) == [
        "entry 6: entry 5 is missing",
        "entry 6: prev_hash does not match entry 4",
    ]


def test_several_deleted_entries_are_reported_as_a_range() -> None:
    entries = [e for e in _chain(8) if e.seq not in {4, 5, 6}]

    assert verify_chain(entries) == [
        "entry 7: entries 4-6 are missing",
        "entry 7: prev_hash does not match entry 3",
    ]


def test_a_deleted_first_entry_is_reported() -> None:
    entries = _chain(4)[1:]

    assert verify_chain(entries) == [
        "entry 2: the ledger must start at entry 1",
        "entry 2: prev_hash is not the genesis hash",
    ]


def test_reordered_entries_are_reported() -> None:
    entries = _chain(6)
    i, j = _by_seq(entries, 3), _by_seq(entries, 4)
    entries[i], entries[j] = entries[j], entries[i]

    assert verify_chain(entries) == [
        "entry 4: entry 3 is missing",
        "entry 4: prev_hash does not match entry 2",
        "entry 3: out of order (follows entry 4)",
        "entry 3: prev_hash does not match entry 4",
        "entry 5: entry 4 is missing",
        "entry 5: prev_hash does not match entry 3",
    ]


def test_a_renumbered_entry_is_detected_by_its_hash() -> None:
    entries = _chain(4)

    problems = verify_chain(_with(entries, 4, seq=7))

    assert problems == ["entry 7: hash mismatch", "entry 7: entries 4-6 are missing"]


@pytest.mark.parametrize("size", [1, 2, 5])
def test_the_streaming_verifier_counts_what_it_checked(size: int) -> None:
    verifier = ChainVerifier()
    for entry in _chain(size):
        verifier.feed(entry)

    assert verifier.entries == size
    assert verifier.problems == []
    assert verifier.last is not None and verifier.last.seq == size
