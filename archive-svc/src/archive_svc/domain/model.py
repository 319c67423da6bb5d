"""The archive: filed records, their retention, and the hash-chained ledger. Plain Python.

A record is what was filed for one version of a source (a signed contract version, the minutes
of a closed case): its documents as archived (SHA-256, archive key and version), the record
class that fixes how long nothing may touch them, and the ledger entry that proves it.

The ledger is append-only and hash-chained: every entry's hash covers its own content and the
previous entry's hash, so changing, removing or reordering any entry of history is detectable
by anyone who re-computes the chain (`verify_chain`); the hash rule itself is in `evidence`,
with the offline verifier that auditors run. `now` is always passed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from archive_svc.domain.evidence import GENESIS_HASH, entry_hash

# Record ids are derived from what was filed, so a retried filing lands on the same archive keys.
RECORD_NAMESPACE = uuid.UUID("5b1f6f0e-4a3c-5d2e-9f61-6172636869ff")
MUTABLE_AFTER_FILING = frozenset({"legal_hold"})


class UnknownRecordClass(Exception):
    def __init__(self, record_class: str, known: Iterable[str]) -> None:
        super().__init__(
            f"unknown record class {record_class!r}: no retention is defined for it "
            f"(known: {', '.join(sorted(known))})"
        )
        self.record_class = record_class


# ---- retention -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionSchedule:
    """How long each record class is kept untouchable, in days from filing."""

    days: Mapping[str, int]

    def until(self, record_class: str, filed_at: datetime) -> datetime:
        """The end of retention: `days` after filing, rounded up to the next whole second (S3
        Object Lock keeps dates to the millisecond; rounding up never shortens retention)."""
        if record_class not in self.days:
            raise UnknownRecordClass(record_class, self.days)
        until = filed_at.astimezone(UTC) + timedelta(days=self.days[record_class])
        if until.microsecond:
            until = until.replace(microsecond=0) + timedelta(seconds=1)
        return until


# ---- records -------------------------------------------------------------------------------


def record_id_for(source_type: str, source_id: uuid.UUID, source_version: int) -> uuid.UUID:
    """The record id of one version of a source: the same every time that version is filed."""
    return uuid.uuid5(RECORD_NAMESPACE, f"{source_type}:{source_id}:{source_version}")


@dataclass(frozen=True)
class FiledDocument:
    """One document of a record: where it came from, what it hashes to, where it is archived."""

    source_bucket: str
    source_key: str
    source_version_id: str | None
    sha256: str
    size: int
    content_type: str
    filename: str
    document_type: str
    archive_bucket: str
    archive_key: str
    archive_version_id: str | None


@dataclass
class Record:
    id: uuid.UUID
    source_type: str
    source_id: uuid.UUID
    source_version: int
    case_id: uuid.UUID
    record_class: str
    custodian: str
    filed_at: datetime
    retention_until: datetime
    legal_hold: bool = False
    disposition: str = "NONE"  # NONE | REQUESTED | DISPOSED | BLOCKED | REFUSED
    disposition_request_id: uuid.UUID | None = None
    documents: list[FiledDocument] = field(default_factory=list)
    ledger_seq: int | None = None

    @classmethod
    def file(
        cls,
        *,
        source_type: str,
        source_id: uuid.UUID,
        source_version: int,
        case_id: uuid.UUID,
        record_class: str,
        custodian: str,
        retention: RetentionSchedule,
        now: datetime,
    ) -> Record:
        """A new record, before its documents are archived. Refuses an unknown record class."""
        return cls(
            id=record_id_for(source_type, source_id, source_version),
            source_type=source_type,
            source_id=source_id,
            source_version=source_version,
            case_id=case_id,
            record_class=record_class,
            custodian=custodian,
            filed_at=now,
            retention_until=retention.until(record_class, now),
        )

    def archive_key(self, sha256: str) -> str:
        return f"{self.record_class}/{self.case_id}/{self.id}/{sha256}"

    def ledger_payload(self) -> dict[str, Any]:
        """What the ledger's `filed` entry proves about this record (JSON values only)."""
        return {
            "source_type": self.source_type,
            "source_id": str(self.source_id),
            "source_version": self.source_version,
            "case_id": str(self.case_id),
            "record_class": self.record_class,
            "custodian": self.custodian,
            "retention_until": self.retention_until.astimezone(UTC).isoformat(),
            "legal_hold": self.legal_hold,
            "documents": [
                {
                    "sha256": d.sha256,
                    "size": d.size,
                    "filename": d.filename,
                    "document_type": d.document_type,
                    "archive_bucket": d.archive_bucket,
                    "archive_key": d.archive_key,
                    "archive_version_id": d.archive_version_id,
                }
                for d in self.documents
            ],
        }

    def differences_from(self, filed: Mapping[str, Any]) -> list[str]:
        """How this record differs from what its `filed` ledger entry proves (legal hold is
        left out: it is set and lifted after filing)."""
        current = self.ledger_payload()
        return [
            f"{name} is {current.get(name)!r} here but {filed.get(name)!r} in the ledger"
            if name != "documents"
            else "the documents (hashes, keys or versions) differ from those in the ledger"
            for name in sorted(set(current) | set(filed))
            if name not in MUTABLE_AFTER_FILING and current.get(name) != filed.get(name)
        ]


# ---- search --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordFilter:
    """Which records a search asks for; a field left None matches every record."""

    source_id: uuid.UUID | None = None
    source_type: str | None = None
    case_id: uuid.UUID | None = None
    record_class: str | None = None
    custodian: str | None = None
    filed_from: datetime | None = None
    filed_to: datetime | None = None  # exclusive
    # Eligible for disposition: retention ended by then, not held, not disposed of or pending.
    retention_ended_by: datetime | None = None

    def of_custodian(self, custodian: str) -> RecordFilter:
        """The same search narrowed to one custodian's records."""
        return replace(self, custodian=custodian)

    def as_logged(self) -> dict[str, str]:
        """The filter as the ledger records a search: the fields given, as strings."""
        return {f.name: str(v) for f in fields(self) if (v := getattr(self, f.name)) is not None}


# ---- the ledger ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    at: datetime
    kind: str
    record_id: uuid.UUID | None
    payload: dict[str, Any]
    prev_hash: str
    entry_hash: str

    @classmethod
    def following(
        cls,
        previous: LedgerEntry | None,
        *,
        kind: str,
        record_id: uuid.UUID | None,
        payload: dict[str, Any],
        at: datetime,
    ) -> LedgerEntry:
        """The entry that comes after `previous` (None: the first entry, after genesis)."""
        seq = 1 if previous is None else previous.seq + 1
        prev_hash = GENESIS_HASH if previous is None else previous.entry_hash
        return cls(
            seq=seq,
            at=at,
            kind=kind,
            record_id=record_id,
            payload=payload,
            prev_hash=prev_hash,
            entry_hash=entry_hash(
                seq=seq, at=at, kind=kind, record_id=record_id, payload=payload, prev_hash=prev_hash
            ),
        )

    def computed_hash(self) -> str:
        return entry_hash(
            seq=self.seq,
            at=self.at,
            kind=self.kind,
            record_id=self.record_id,
            payload=self.payload,
            prev_hash=self.prev_hash,
        )


class ChainVerifier:
    """Checks a ledger read in order, entry by entry (so a long ledger can be streamed)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.entries = 0
        self._previous: LedgerEntry | None = None

    def feed(self, entry: LedgerEntry) -> None:
        previous, seq = self._previous, entry.seq
        if entry.computed_hash() != entry.entry_hash:
            self.problems.append(f"entry {seq}: hash mismatch")
        if previous is None:
            if seq != 1:
                self.problems.append(f"entry {seq}: the ledger must start at entry 1")
            if entry.prev_hash != GENESIS_HASH:
                self.problems.append(f"entry {seq}: prev_hash is not the genesis hash")
        else:
            if seq <= previous.seq:
                self.problems.append(f"entry {seq}: out of order (follows entry {previous.seq})")
            elif seq > previous.seq + 1:
                missing = (
                    f"entry {previous.seq + 1} is missing"
                    if seq == previous.seq + 2
                    else f"entries {previous.seq + 1}-{seq - 1} are missing"
                )
                self.problems.append(f"entry {seq}: {missing}")
            if entry.prev_hash != previous.entry_hash:
                self.problems.append(f"entry {seq}: prev_hash does not match entry {previous.seq}")
        self.entries += 1
        self._previous = entry

    @property
    def last(self) -> LedgerEntry | None:
        return self._previous


def verify_chain(entries: Iterable[LedgerEntry]) -> list[str]:
    """Every problem found in a ledger given from its first entry, in order; [] when intact."""
    verifier = ChainVerifier()
    for entry in entries:
        verifier.feed(entry)
    return verifier.problems
