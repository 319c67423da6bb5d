"""The archive's proof rules, in one place: how a ledger entry is hashed, how a checkpoint's
Merkle root is computed, what an evidence package holds, and how it is verified offline; plus
the checkpoints and exports the archive records. Plain Python.

Standard library only, on purpose: the archive's ledger and exports use these rules, and an
auditor verifies a package with nothing but this module (`guakao verify PACKAGE`), without
trusting our servers, our database or our dependencies.

Ledger entry hash
    The SHA-256 (lower-case hex) of the canonical JSON (sorted keys, no spaces, UTF-8, non-ASCII
    kept as is) of ``{seq, at, kind, record_id, payload, prev_hash}``, where ``at`` is the ISO 8601
    form of the instant in UTC (``datetime.astimezone(UTC).isoformat()``, e.g.
    ``2026-03-01T09:00:00.123456+00:00``) and ``record_id`` the UUID's string or null. The first
    entry's ``prev_hash`` is 64 zeros. The archive chains its ledger with this rule
    (`model.LedgerEntry`).

Merkle root (checkpoints)
    Over the entry hashes (hex strings) of a span of consecutive entries, in seq order: while
    more than one hash is left, each pair (1st, 2nd), (3rd, 4th), ... is replaced by
    ``sha256((left + right).encode("ascii")).hexdigest()`` (the two 64-character hex strings
    concatenated, then hashed), and an odd one left at the end is promoted unchanged to the next
    level. The root of a single hash is that hash; there is no root of nothing.

Package (a ZIP file)
    ``manifest.json``    ``{format, package_id, created_at, created_by, reason, records, ledger}``:
                         ``records``: ``[{record_id, record_class, case_id, source_type, source_id,
                         source_version, retention_until, documents: [{path, sha256, size,
                         archive_key, archive_version_id, filename}]}]``; ``ledger``: ``{entries:
                         [{seq, at, kind, record_id, payload, prev_hash, entry_hash}, ...],
                         checkpoints: [{id, first_seq, last_seq, root_hash, created_at,
                         ledger_seq}, ...]}``.
    ``manifest.sha256``  ``"<sha256 of manifest.json>  manifest.json\\n"`` (as ``sha256sum``
                         writes it, so ``sha256sum -c manifest.sha256`` checks an unzipped copy).
    ``documents/<record_id>/<sha256>``  each archived document's exact bytes (stored, not
                         compressed).

What verification proves, and what it does not
    Every document hashes to the SHA-256 its record was filed with, in a ledger entry that is
    part of an unbroken hash chain, and every checkpoint root included re-computes from that
    chain. ``manifest.sha256`` only detects accidental damage: whoever forges a package can
    recompute it. What cannot be forged is the chain: the package's last entry hash, its
    checkpoint roots, and its own SHA-256 (written to the live ledger as an ``export`` entry when
    the package was made) can be compared with the archive's ledger at any later time.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

FORMAT = "guakao-evidence/1"
GENESIS_HASH = "0" * 64
MANIFEST = "manifest.json"
MANIFEST_SHA256 = "manifest.sha256"
DOCUMENTS = "documents"
FILED = "filed"
CHECKPOINT = "checkpoint"
CHUNK = 1024 * 1024
_ZIP64_FROM = 1 << 31
_RECORD_FIELDS = (
    "record_class",
    "case_id",
    "source_type",
    "source_id",
    "source_version",
    "retention_until",
)

PackageTarget = str | Path | IO[bytes]


# ---- hashing -------------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """The one byte form that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def iso_utc(at: datetime | str) -> str:
    """An instant as it is hashed: ISO 8601 in UTC. A string is taken as already in that form."""
    return at if isinstance(at, str) else at.astimezone(UTC).isoformat()


def _id(value: uuid.UUID | str | None) -> str | None:
    return None if value is None else str(value)


def entry_hash(
    *,
    seq: int,
    at: datetime | str,
    kind: str,
    record_id: uuid.UUID | str | None,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The hash of one ledger entry (see the module docstring)."""
    body = {
        "seq": seq,
        "at": iso_utc(at),
        "kind": kind,
        "record_id": _id(record_id),
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def entry_json(
    *,
    seq: int,
    at: datetime | str,
    kind: str,
    record_id: uuid.UUID | str | None,
    payload: Mapping[str, Any],
    prev_hash: str,
    entry_hash: str,
) -> dict[str, Any]:
    """A ledger entry as a package holds it (JSON values only)."""
    return {
        "seq": seq,
        "at": iso_utc(at),
        "kind": kind,
        "record_id": _id(record_id),
        "payload": dict(payload),
        "prev_hash": prev_hash,
        "entry_hash": entry_hash,
    }


def entry_hash_of(entry: Mapping[str, Any]) -> str:
    """Re-compute the hash of an entry given as a mapping (e.g. from a manifest)."""
    return entry_hash(
        seq=entry["seq"],
        at=entry["at"],
        kind=entry["kind"],
        record_id=entry["record_id"],
        payload=entry["payload"],
        prev_hash=entry["prev_hash"],
    )


def merkle_root(hashes: Sequence[str]) -> str:
    """The Merkle root of entry hashes in seq order (see the module docstring for the rule)."""
    level = list(hashes)
    if not level:
        raise ValueError("there is no Merkle root of no hashes")
    while len(level) > 1:
        parents = [
            hashlib.sha256((level[i] + level[i + 1]).encode("ascii")).hexdigest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            parents.append(level[-1])
        level = parents
    return level[0]


def document_path(record_id: uuid.UUID | str, sha256: str) -> str:
    return f"{DOCUMENTS}/{record_id}/{sha256}"


# ---- what the archive records about checkpoints and exports -------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A span of consecutive ledger entries sealed under one Merkle root; written to the ledger
    itself as a `checkpoint` entry (`ledger_seq`), so the next span covers it."""

    id: uuid.UUID
    first_seq: int
    last_seq: int
    root_hash: str
    created_at: datetime
    ledger_seq: int

    def ledger_payload(self) -> dict[str, Any]:
        """What its `checkpoint` ledger entry holds."""
        return {"first_seq": self.first_seq, "last_seq": self.last_seq, "root_hash": self.root_hash}

    def covers(self, seq: int) -> bool:
        return self.first_seq <= seq <= self.last_seq

    def as_json(self) -> dict[str, Any]:
        """The checkpoint as a package holds it."""
        return {
            "id": str(self.id),
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "root_hash": self.root_hash,
            "created_at": iso_utc(self.created_at),
            "ledger_seq": self.ledger_seq,
        }


@dataclass(frozen=True)
class Export:
    """An evidence package made for someone, for a reason; logged as an `export` entry."""

    id: uuid.UUID
    created_by: str
    reason: str
    created_at: datetime
    record_ids: list[uuid.UUID]
    package_bucket: str
    package_key: str
    package_version_id: str | None
    sha256: str
    size: int
    ledger_seq: int


# ---- writing a package ---------------------------------------------------------------------


class DocumentMismatch(Exception):
    """The bytes given for a document do not hash to the SHA-256 it was filed with."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        super().__init__(f"{path}: the bytes hash to {actual}, not to the filed {expected}")
        self.path, self.expected, self.actual = path, expected, actual


class PackageWriter:
    """Writes one evidence package. Add the records, then their documents, then the ledger;
    `close()` (or leaving the `with` block without an error) writes the manifest.

        with PackageWriter(path, package_id=..., created_at=..., created_by=..., reason=...) as p:
            p.add_record(record_id=..., record_class=..., ...)
            p.add_document(record_id, sha256=..., size=..., archive_key=..., chunks=...)
            p.set_ledger(entries, checkpoints)
    """

    def __init__(
        self,
        target: PackageTarget,
        *,
        package_id: uuid.UUID | str,
        created_at: datetime,
        created_by: str,
        reason: str,
    ) -> None:
        self._zip = zipfile.ZipFile(target, "w")
        t = created_at.astimezone(UTC)
        self._date_time = (t.year, t.month, t.day, t.hour, t.minute, t.second)
        self._records: dict[str, dict[str, Any]] = {}
        self._written: set[str] = set()
        self.manifest: dict[str, Any] = {
            "format": FORMAT,
            "package_id": str(package_id),
            "created_at": iso_utc(created_at),
            "created_by": created_by,
            "reason": reason,
            "records": [],
            "ledger": {"entries": [], "checkpoints": []},
        }
        self.manifest_sha256: str | None = None

    def __enter__(self) -> PackageWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._zip.close()

    def add_record(
        self,
        *,
        record_id: uuid.UUID | str,
        record_class: str,
        case_id: uuid.UUID | str,
        source_type: str,
        source_id: uuid.UUID | str,
        source_version: int,
        retention_until: datetime | str,
    ) -> None:
        record: dict[str, Any] = {
            "record_id": str(record_id),
            "record_class": record_class,
            "case_id": str(case_id),
            "source_type": source_type,
            "source_id": str(source_id),
            "source_version": source_version,
            "retention_until": iso_utc(retention_until),
            "documents": [],
        }
        self._records[record["record_id"]] = record
        self.manifest["records"].append(record)

    def add_document(
        self,
        record_id: uuid.UUID | str,
        *,
        sha256: str,
        size: int,
        archive_key: str,
        archive_version_id: str | None,
        chunks: Iterable[bytes],
        filename: str | None = None,
    ) -> None:
        """Copy one document's bytes into the package while hashing them; raise
        `DocumentMismatch` (the package is then unusable) if they are not what was filed."""
        record = self._records[str(record_id)]
        path = document_path(record_id, sha256)
        if path not in self._written:
            info = zipfile.ZipInfo(path, date_time=self._date_time)
            info.compress_type = zipfile.ZIP_STORED
            digest, written = hashlib.sha256(), 0
            with self._zip.open(info, "w", force_zip64=size >= _ZIP64_FROM) as sink:
                for chunk in chunks:
                    digest.update(chunk)
                    written += len(chunk)
                    sink.write(chunk)
            if digest.hexdigest() != sha256:
                raise DocumentMismatch(path, sha256, digest.hexdigest())
            self._written.add(path)
        record["documents"].append(
            {
                "path": path,
                "sha256": sha256,
                "size": size,
                "archive_key": archive_key,
                "archive_version_id": archive_version_id,
                "filename": filename,
            }
        )

    def set_ledger(
        self, entries: Iterable[Mapping[str, Any]], checkpoints: Iterable[Mapping[str, Any]]
    ) -> None:
        """The ledger entries (in seq order, as `entry_json` gives them) and the checkpoints
        (`{id, first_seq, last_seq, root_hash, created_at, ledger_seq}`) that cover them."""
        self.manifest["ledger"] = {
            "entries": [dict(e) for e in entries],
            "checkpoints": [
                {
                    "id": str(c["id"]),
                    "first_seq": c["first_seq"],
                    "last_seq": c["last_seq"],
                    "root_hash": c["root_hash"],
                    "created_at": iso_utc(c["created_at"]),
                    "ledger_seq": c.get("ledger_seq"),
                }
                for c in checkpoints
            ],
        }

    def close(self) -> str:
        """Write `manifest.json` and `manifest.sha256`, close the ZIP; the manifest's SHA-256."""
        if self.manifest_sha256 is None:
            body = (json.dumps(self.manifest, indent=2, ensure_ascii=False) + "\n").encode()
            self.manifest_sha256 = hashlib.sha256(body).hexdigest()
            self._write(MANIFEST, body, zipfile.ZIP_DEFLATED)
            self._write(
                MANIFEST_SHA256,
                f"{self.manifest_sha256}  {MANIFEST}\n".encode(),
                zipfile.ZIP_STORED,
            )
            self._zip.close()
        return self.manifest_sha256

    def _write(self, name: str, body: bytes, compression: int) -> None:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = compression
        self._zip.writestr(info, body)


# ---- verifying a package -------------------------------------------------------------------


_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


def read_manifest(path: PackageTarget) -> dict[str, Any]:
    """The package's manifest, unverified (call `verify_package` first)."""
    with zipfile.ZipFile(path) as zf:
        manifest: dict[str, Any] = json.loads(zf.read(MANIFEST))
        return manifest


def verify_package(path: PackageTarget) -> list[str]:
    """Every problem found in an evidence package; [] when it is intact.

    Checks that `manifest.sha256` matches `manifest.json`; that the included ledger entries
    chain (each hash re-computes, each `prev_hash` is the previous entry's hash, no seq is
    missing); that each checkpoint's Merkle root re-computes from the entries of its span and
    matches its own ledger entry; that each record matches its `filed` entry; and that every
    document's bytes hash to its SHA-256, which appears in a ledger entry of its record."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"the package is not a readable ZIP file ({exc})"]
    with zf:
        return _verify(zf)


def _verify(zf: zipfile.ZipFile) -> list[str]:
    problems: list[str] = []
    names = zf.namelist()
    problems += [f"{n}: the package holds it more than once" for n in sorted(_duplicates(names))]
    try:
        body = zf.read(MANIFEST)
    except KeyError:
        return [*problems, f"{MANIFEST} is missing"]
    except _UNREADABLE as exc:
        return [*problems, f"{MANIFEST}: unreadable in the package ({exc})"]
    problems += _check_manifest_sha256(zf, body)
    try:
        manifest = json.loads(body)
    except ValueError as exc:
        return [*problems, f"{MANIFEST}: not valid JSON ({exc})"]
    shape = _shape_problems(manifest)
    if shape:
        return problems + shape
    entries: list[dict[str, Any]] = manifest["ledger"]["entries"]
    problems += _chain_problems(entries)
    problems += _checkpoint_problems(manifest["ledger"]["checkpoints"], entries)
    expected = {MANIFEST, MANIFEST_SHA256}
    for record in manifest["records"]:
        problems += _record_problems(zf, record, entries)
        expected |= {d["path"] for d in record["documents"]}
    problems += [
        f"{n}: not listed in the manifest" for n in sorted(set(names) - expected) if n[-1:] != "/"
    ]
    return problems


def _duplicates(names: list[str]) -> set[str]:
    return {name for name, count in Counter(names).items() if count > 1}


def _check_manifest_sha256(zf: zipfile.ZipFile, body: bytes) -> list[str]:
    try:
        recorded = zf.read(MANIFEST_SHA256).decode("ascii").split()
    except KeyError:
        return [f"{MANIFEST_SHA256} is missing"]
    except (*_UNREADABLE, UnicodeDecodeError) as exc:
        return [f"{MANIFEST_SHA256}: unreadable in the package ({exc})"]
    actual = hashlib.sha256(body).hexdigest()
    if not recorded or recorded[0] != actual:
        return [
            f"{MANIFEST_SHA256} does not match {MANIFEST} (it says "
            f"{recorded[0] if recorded else 'nothing'}, {MANIFEST} hashes to {actual})"
        ]
    return []


# The manifest comes from whoever hands us the package: check its shape before relying on it.


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hex64(value: Any) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


_HEX64 = re.compile(r"[0-9a-f]{64}")


_ENTRY_FIELDS: dict[str, Any] = {
    "seq": _is_int,
    "at": lambda v: isinstance(v, str),
    "kind": lambda v: isinstance(v, str),
    "record_id": lambda v: v is None or isinstance(v, str),
    "payload": lambda v: isinstance(v, dict),
    "prev_hash": _is_hex64,
    "entry_hash": _is_hex64,
}
_CHECKPOINT_FIELDS: dict[str, Any] = {
    "first_seq": _is_int,
    "last_seq": _is_int,
    "root_hash": _is_hex64,
    "ledger_seq": lambda v: v is None or _is_int(v),
}
_RECORD_SHAPE: dict[str, Any] = {
    "record_id": lambda v: isinstance(v, str),
    "documents": lambda v: isinstance(v, list) and all(isinstance(d, dict) for d in v),
}
_DOCUMENT_FIELDS: dict[str, Any] = {
    "path": lambda v: isinstance(v, str),
    "sha256": _is_hex64,
    "size": _is_int,
}


def _fields(where: str, item: Any, checks: dict[str, Any]) -> list[str]:
    if not isinstance(item, dict):
        return [f"{MANIFEST}: {where} is not an object"]
    return [
        f"{MANIFEST}: {where}: {name} is missing or of the wrong type"
        for name, ok in checks.items()
        if name not in item or not ok(item[name])
    ]


def _shape_problems(manifest: Any) -> list[str]:
    if not isinstance(manifest, dict):
        return [f"{MANIFEST}: not a JSON object"]
    problems = []
    if manifest.get("format") != FORMAT:
        problems.append(f"{MANIFEST}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    records, ledger = manifest.get("records"), manifest.get("ledger")
    if not isinstance(records, list):
        problems.append(f"{MANIFEST}: records is missing or not a list")
    else:
        for i, record in enumerate(records):
            wrong = _fields(f"records[{i}]", record, _RECORD_SHAPE)
            problems += wrong
            if not wrong:
                for j, doc in enumerate(record["documents"]):
                    problems += _fields(f"records[{i}].documents[{j}]", doc, _DOCUMENT_FIELDS)
    if not isinstance(ledger, dict):
        return [*problems, f"{MANIFEST}: ledger is missing or not an object"]
    for name, checks in (("entries", _ENTRY_FIELDS), ("checkpoints", _CHECKPOINT_FIELDS)):
        items = ledger.get(name)
        if not isinstance(items, list):
            problems.append(f"{MANIFEST}: ledger.{name} is missing or not a list")
            continue
        for i, item in enumerate(items):
            problems += _fields(f"ledger.{name}[{i}]", item, checks)
    return problems


def _chain_problems(entries: list[dict[str, Any]]) -> list[str]:
    """The included entries form one unbroken piece of the chain (it may start after entry 1:
    a package holds the ledger from the first entry relevant to it)."""
    problems = []
    previous: dict[str, Any] | None = None
    for entry in entries:
        seq = entry["seq"]
        if entry_hash_of(entry) != entry["entry_hash"]:
            problems.append(f"ledger entry {seq}: hash mismatch")
        if previous is None:
            if seq == 1 and entry["prev_hash"] != GENESIS_HASH:
                problems.append("ledger entry 1: prev_hash is not the genesis hash")
        else:
            before = previous["seq"]
            if seq <= before:
                problems.append(f"ledger entry {seq}: out of order (follows entry {before})")
            elif seq > before + 1:
                problems.append(f"ledger entry {seq}: {_missing(before + 1, seq - 1)}")
            if entry["prev_hash"] != previous["entry_hash"]:
                problems.append(f"ledger entry {seq}: prev_hash does not match entry {before}")
        previous = entry
    return problems


def _missing(first: int, last: int) -> str:
    return f"entry {first} is missing" if first == last else f"entries {first}-{last} are missing"


def _checkpoint_problems(
    checkpoints: list[dict[str, Any]], entries: list[dict[str, Any]]
) -> list[str]:
    by_seq = {e["seq"]: e for e in entries}
    problems = []
    for checkpoint in checkpoints:
        first, last, root = checkpoint["first_seq"], checkpoint["last_seq"], checkpoint["root_hash"]
        name = f"checkpoint of entries {first}-{last}"
        if last < first:
            problems.append(f"{name}: the span is empty")
            continue
        absent = [s for s in range(first, last + 1) if s not in by_seq]
        if absent:
            problems.append(
                f"{name}: {_spans(absent)} of its span {'is' if len(absent) == 1 else 'are'} "
                "not in the package, its root cannot be re-computed"
            )
        else:
            computed = merkle_root([by_seq[s]["entry_hash"] for s in range(first, last + 1)])
            if computed != root:
                problems.append(
                    f"{name}: root mismatch (recorded {root}, the entries give {computed})"
                )
        seq = checkpoint["ledger_seq"]
        own = by_seq.get(seq) if seq is not None else None
        expected = {"first_seq": first, "last_seq": last, "root_hash": root}
        if seq is None:
            problems.append(f"{name}: it names no ledger entry of its own")
        elif own is None:
            problems.append(f"{name}: its ledger entry {seq} is not in the package")
        elif own["kind"] != CHECKPOINT or own["payload"] != expected:
            problems.append(f"{name}: it differs from its ledger entry {seq}")
    return problems


def _spans(seqs: list[int]) -> str:
    runs: list[list[int]] = []
    for s in seqs:
        if runs and s == runs[-1][1] + 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return f"entry {text}" if len(seqs) == 1 else f"entries {text}"


def _record_problems(
    zf: zipfile.ZipFile, record: dict[str, Any], entries: list[dict[str, Any]]
) -> list[str]:
    record_id = record["record_id"]
    own = [e for e in entries if e["record_id"] == record_id]
    filed = [e for e in own if e["kind"] == FILED]
    problems = []
    if not filed:
        problems.append(f"record {record_id}: its filing ledger entry is not in the package")
    else:
        entry = filed[0]
        problems += [
            f"record {record_id}: {name} is {record.get(name)!r} in the manifest but "
            f"{entry['payload'].get(name)!r} in ledger entry {entry['seq']}"
            for name in _RECORD_FIELDS
            if record.get(name) != entry["payload"].get(name)
        ]
    for doc in record["documents"]:
        problems += _document_problems(zf, record_id, doc, own)
    return problems


def _document_problems(
    zf: zipfile.ZipFile, record_id: str, doc: dict[str, Any], own: list[dict[str, Any]]
) -> list[str]:
    path, sha256 = doc["path"], doc["sha256"]
    problems = []
    if path != document_path(record_id, sha256):
        problems.append(
            f"{path}: a document of record {record_id} with sha256 {sha256} "
            f"belongs at {document_path(record_id, sha256)}"
        )
    proofs = [
        (entry["seq"], filed)
        for entry in own
        for filed in entry["payload"].get("documents") or []
        if isinstance(filed, dict) and filed.get("sha256") == sha256
    ]
    if not proofs:
        problems.append(f"{path}: sha256 {sha256} is in no ledger entry of record {record_id}")
    else:
        seq, filed = proofs[0]
        problems += [
            f"{path}: {name} is {doc.get(name)!r} in the manifest but {filed.get(name)!r} in "
            f"ledger entry {seq}"
            for name in ("size", "archive_key", "archive_version_id")
            if doc.get(name) != filed.get(name)
        ]
    try:
        info = zf.getinfo(path)
    except KeyError:
        return [*problems, f"{path}: missing from the package"]
    try:
        actual, size = _hash_member(zf, info)
    except _UNREADABLE as exc:
        return [
            *problems,
            f"{path}: its bytes were altered or damaged, they cannot be read back ({exc})",
        ]
    if actual != sha256:
        problems.append(
            f"{path}: sha256 mismatch (the manifest says {sha256}, the bytes hash to {actual})"
        )
    if size != doc["size"]:
        problems.append(
            f"{path}: size mismatch (the manifest says {doc['size']}, the package "
            f"holds {size} bytes)"
        )
    return problems


def _hash_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with zf.open(info) as member:
        while chunk := member.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
