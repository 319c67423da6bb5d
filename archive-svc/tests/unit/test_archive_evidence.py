"""The archive's proof rules (`archive_svc.domain.evidence`, standard library only): how an entry
is hashed and a checkpoint's root computed, and evidence packages built from a synthetic ledger,
verified offline, with every kind of tampering (a document's bytes, the manifest, a ledger
entry, a checkpoint) named precisely."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from archive_svc.domain.evidence import (
    GENESIS_HASH,
    MANIFEST,
    MANIFEST_SHA256,
    DocumentMismatch,
    PackageWriter,
    canonical_json,
    document_path,
    entry_hash,
    entry_hash_of,
    entry_json,
    merkle_root,
    read_manifest,
    verify_package,
)
from archive_svc.domain.model import LedgerEntry

START = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
RECORD_A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
RECORD_B = uuid.UUID("00000000-0000-4000-8000-00000000000b")
RECORD_C = uuid.UUID("00000000-0000-4000-8000-00000000000c")
CASE = uuid.UUID("00000000-0000-4000-8000-0000000000ca")
DOCS = {
    RECORD_A: [b"%PDF-1.7 the signed contract", b'{"signatures": ["lena", "carol"]}'],
    RECORD_B: ["会议纪要 minutes of the closing meeting".encode()],
    RECORD_C: [b"not exported"],
}


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _h(a: str, b: str) -> str:
    return hashlib.sha256((a + b).encode("ascii")).hexdigest()


# ---- hashing and Merkle roots ---------------------------------------------------------------


def test_an_entry_hash_is_the_sha256_of_the_canonical_json_of_its_fields() -> None:
    record_id = uuid.uuid4()
    payload = {"b": [1, "ü"], "a": None}

    digest = entry_hash(
        seq=3, at=START, kind="filed", record_id=record_id, payload=payload, prev_hash="ab" * 32
    )

    body = (
        '{"at":"2026-03-01T09:00:00.123456+00:00","kind":"filed","payload":{"a":null,'
        f'"b":[1,"ü"]}},"prev_hash":"{"ab" * 32}","record_id":"{record_id}","seq":3}}'
    )
    assert canonical_json({"z": 1, "a": "ü"}) == '{"a":"ü","z":1}'.encode()
    assert digest == hashlib.sha256(body.encode()).hexdigest()
    # the same entry as a package holds it (strings) hashes the same
    as_json = entry_json(
        seq=3,
        at=START.astimezone(UTC),
        kind="filed",
        record_id=record_id,
        payload=payload,
        prev_hash="ab" * 32,
        entry_hash=digest,
    )
    assert as_json["at"] == "2026-03-01T09:00:00.123456+00:00"
    assert entry_hash_of(json.loads(json.dumps(as_json))) == digest


def test_the_instant_is_hashed_in_utc_whatever_its_offset() -> None:
    at_shanghai = START.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    common: dict[str, Any] = {"seq": 1, "kind": "k", "record_id": None, "payload": {}}

    assert entry_hash(at=at_shanghai, prev_hash=GENESIS_HASH, **common) == entry_hash(
        at="2026-03-01T09:00:00.123456+00:00", prev_hash=GENESIS_HASH, **common
    )


def _chained(payloads: list[dict[str, Any]], instants: list[datetime]) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for i, payload in enumerate(payloads):
        entries.append(
            LedgerEntry.following(
                entries[-1] if entries else None,
                kind=["filed", "access", "checkpoint", "export"][i % 4],
                record_id=None if i % 3 == 2 else uuid.UUID(int=i + 1),
                payload=payload,
                at=instants[i % len(instants)],
            )
        )
    return entries


ARCHIVED = _chained(
    [
        {},
        {"documents": [{"sha256": "ab" * 32, "size": 12, "archive_version_id": None}]},
        {"reason": "合同审计 — quarterly review", "roles": ["auditor"], "nested": {"z": [1, 2.5]}},
        {"first_seq": 1, "last_seq": 9, "root_hash": "0f" * 32},
        {"quote": 'say "hi"\n\ttab', "emoji": "🗄️", "bool": True, "null": None},
    ]
    * 2,
    [
        START,
        START.replace(microsecond=0),
        START.astimezone(timezone(timedelta(hours=8))),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    ],
)


@pytest.mark.parametrize("entry", ARCHIVED, ids=lambda e: f"entry-{e.seq}")
def test_an_entry_read_back_from_a_package_hashes_as_the_archive_chained_it(
    entry: LedgerEntry,
) -> None:
    as_json = entry_json(
        seq=entry.seq,
        at=entry.at,
        kind=entry.kind,
        record_id=entry.record_id,
        payload=entry.payload,
        prev_hash=entry.prev_hash,
        entry_hash=entry.entry_hash,
    )
    from_the_manifest = json.loads(json.dumps(as_json, ensure_ascii=False))

    assert entry_hash_of(from_the_manifest) == entry.entry_hash


@pytest.mark.parametrize(
    ("leaves", "root"),
    [
        (["a" * 64], "a" * 64),
        (["a" * 64, "b" * 64], _h("a" * 64, "b" * 64)),
        (["a" * 64, "b" * 64, "c" * 64], _h(_h("a" * 64, "b" * 64), "c" * 64)),
        (
            ["1" * 64, "2" * 64, "3" * 64, "4" * 64, "5" * 64],
            _h(_h(_h("1" * 64, "2" * 64), _h("3" * 64, "4" * 64)), "5" * 64),
        ),
    ],
    ids=["one", "two", "odd-promoted", "five"],
)
def test_the_merkle_root_pairs_hex_digests_and_promotes_the_odd_one(
    leaves: list[str], root: str
) -> None:
    assert merkle_root(leaves) == root


def test_there_is_no_merkle_root_of_nothing() -> None:
    with pytest.raises(ValueError, match="no hashes"):
        merkle_root([])


# ---- a synthetic archive -----------------------------------------------------------------------


class Ledger:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []

    def append(self, kind: str, record_id: uuid.UUID | None, payload: dict[str, Any]) -> int:
        seq = len(self.entries) + 1
        prev = self.entries[-1]["entry_hash"] if self.entries else GENESIS_HASH
        at = START + timedelta(minutes=seq)
        fields: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "kind": kind,
            "record_id": record_id,
            "payload": payload,
            "prev_hash": prev,
        }
        self.entries.append(entry_json(**fields, entry_hash=entry_hash(**fields)))
        return seq

    def file(self, record_id: uuid.UUID) -> None:
        self.append("filed", record_id, _filed_payload(record_id))

    def checkpoint(self) -> None:
        first = self.checkpoints[-1]["last_seq"] + 1 if self.checkpoints else 1
        last = len(self.entries)
        root = merkle_root([e["entry_hash"] for e in self.entries[first - 1 :]])
        seq = self.append(
            "checkpoint", None, {"first_seq": first, "last_seq": last, "root_hash": root}
        )
        self.checkpoints.append(
            {
                "id": uuid.uuid4(),
                "first_seq": first,
                "last_seq": last,
                "root_hash": root,
                "created_at": START,
                "ledger_seq": seq,
            }
        )


def _record(record_id: uuid.UUID) -> dict[str, Any]:
    return {
        "record_class": "contract",
        "case_id": str(CASE),
        "source_type": "contract",
        "source_id": str(uuid.uuid5(uuid.NAMESPACE_URL, str(record_id))),
        "source_version": 1,
        "retention_until": "2036-03-01T09:00:01+00:00",
    }


def _doc(record_id: uuid.UUID, body: bytes) -> dict[str, Any]:
    return {
        "sha256": _sha(body),
        "size": len(body),
        "archive_key": f"contract/{CASE}/{record_id}/{_sha(body)}",
        "archive_version_id": f"v-{_sha(body)[:8]}",
    }


def _filed_payload(record_id: uuid.UUID) -> dict[str, Any]:
    return {
        **_record(record_id),
        "custodian": "carol",
        "legal_hold": False,
        "documents": [
            {**_doc(record_id, body), "filename": f"{i}.pdf", "document_type": "signed_contract"}
            for i, body in enumerate(DOCS[record_id])
        ],
    }


def _ledger() -> Ledger:
    ledger = Ledger()
    ledger.file(RECORD_A)  # 1
    ledger.append("access", RECORD_A, {"action": "read", "actor": "ana", "reason": "audit"})  # 2
    ledger.file(RECORD_B)  # 3
    ledger.checkpoint()  # 4: entries 1-3
    ledger.file(RECORD_C)  # 5
    ledger.append("legal_hold.set", RECORD_B, {"actor": "ana", "reason": "dispute"})  # 6
    ledger.checkpoint()  # 7: entries 4-6
    ledger.append("access", None, {"action": "search", "actor": "ana", "reason": "x"})  # 8
    return ledger


def _build(
    path: Path, ledger: Ledger | None = None, records: tuple[uuid.UUID, ...] = (RECORD_A, RECORD_B)
) -> Path:
    ledger = ledger or _ledger()
    with PackageWriter(
        path,
        package_id=uuid.uuid4(),
        created_at=START + timedelta(days=1),
        created_by="ana",
        reason="external audit 2026",
    ) as package:
        for record_id in records:
            package.add_record(record_id=record_id, **_record(record_id))
            for body in DOCS[record_id]:
                package.add_document(
                    record_id, **_doc(record_id, body), chunks=[body[:5], body[5:]]
                )
        package.set_ledger(ledger.entries, ledger.checkpoints)
    return path


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return _build(tmp_path / "package.zip")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _rezip(path: Path | io.BytesIO, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)


def _forge_manifest(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """What a forger does: edit the manifest and recompute `manifest.sha256` to match."""
    members = _members(path)
    manifest = json.loads(members[MANIFEST])
    change(manifest)
    members[MANIFEST] = json.dumps(manifest, indent=2).encode()
    members[MANIFEST_SHA256] = f"{_sha(members[MANIFEST])}  {MANIFEST}\n".encode()
    _rezip(path, members)


def _data_offset(path: Path, name: str) -> tuple[int, int]:
    """Where a stored member's bytes start in the ZIP file, and how many there are."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    raw = path.read_bytes()
    header = info.header_offset
    name_len = int.from_bytes(raw[header + 26 : header + 28], "little")
    extra_len = int.from_bytes(raw[header + 28 : header + 30], "little")
    return header + 30 + name_len + extra_len, info.compress_size


# ---- an intact package ---------------------------------------------------------------------


def test_a_package_built_from_the_ledger_verifies(package: Path) -> None:
    assert verify_package(package) == []
    manifest = read_manifest(package)
    assert [r["record_id"] for r in manifest["records"]] == [str(RECORD_A), str(RECORD_B)]
    assert [e["seq"] for e in manifest["ledger"]["entries"]] == list(range(1, 9))
    assert [(c["first_seq"], c["last_seq"]) for c in manifest["ledger"]["checkpoints"]] == [
        (1, 3),
        (4, 6),
    ]
    [first_doc, _] = manifest["records"][0]["documents"]
    body = DOCS[RECORD_A][0]
    assert first_doc["path"] == document_path(RECORD_A, _sha(body))
    assert _members(package)[first_doc["path"]] == body
    sha_line = _members(package)[MANIFEST_SHA256].decode()
    assert sha_line == f"{_sha(_members(package)[MANIFEST])}  manifest.json\n"


def test_a_package_that_starts_in_the_middle_of_the_ledger_verifies(tmp_path: Path) -> None:
    ledger = _ledger()
    ledger.entries = ledger.entries[3:]  # from the first checkpoint's own entry
    ledger.checkpoints = ledger.checkpoints[1:]

    assert verify_package(_build(tmp_path / "p.zip", ledger, (RECORD_C,))) == []


def test_the_writer_refuses_bytes_that_are_not_what_was_filed(tmp_path: Path) -> None:
    package = PackageWriter(
        tmp_path / "p.zip", package_id="p", created_at=START, created_by="a", reason="r"
    )
    package.add_record(record_id=RECORD_A, **_record(RECORD_A))

    with pytest.raises(DocumentMismatch, match="not to the filed"):
        package.add_document(RECORD_A, **_doc(RECORD_A, b"filed"), chunks=[b"forged"])
    package.close()


# ---- tampering: documents ------------------------------------------------------------------


def test_changing_any_single_byte_of_a_document_in_the_zip_names_that_document(
    package: Path,
) -> None:
    path = document_path(RECORD_B, _sha(DOCS[RECORD_B][0]))
    start, length = _data_offset(package, path)
    original = package.read_bytes()
    assert original[start : start + length] == DOCS[RECORD_B][0]

    for i in range(start, start + length):
        flipped = bytearray(original)
        flipped[i] ^= 0x01
        package.write_bytes(bytes(flipped))

        problems = verify_package(package)

        assert len(problems) == 1, (i, problems)
        assert problems[0].startswith(f"{path}: its bytes were altered or damaged"), problems


def test_a_document_replaced_with_a_valid_zip_entry_is_a_sha256_mismatch(package: Path) -> None:
    path = document_path(RECORD_A, _sha(DOCS[RECORD_A][1]))
    members = _members(package)
    for i in range(len(members[path])):
        forged = bytearray(DOCS[RECORD_A][1])
        forged[i] ^= 0x20
        _rezip(package, {**members, path: bytes(forged)})

        assert verify_package(package) == [
            f"{path}: sha256 mismatch (the manifest says {_sha(DOCS[RECORD_A][1])}, the bytes "
            f"hash to {_sha(bytes(forged))})"
        ]


def test_a_truncated_or_missing_document_is_named(package: Path) -> None:
    path = document_path(RECORD_A, _sha(DOCS[RECORD_A][0]))
    members = _members(package)
    _rezip(package, {**members, path: members[path][:-1]})
    problems = verify_package(package)
    assert problems[1] == (
        f"{path}: size mismatch (the manifest says {len(members[path])}, the package holds "
        f"{len(members[path]) - 1} bytes)"
    )
    _rezip(package, {n: b for n, b in members.items() if n != path})
    assert verify_package(package) == [f"{path}: missing from the package"]


def test_a_document_whose_sha256_is_in_no_ledger_entry_of_its_record_is_named(
    package: Path,
) -> None:
    body = b"slipped in later"
    forged = document_path(RECORD_B, _sha(body))
    members = _members(package)
    _rezip(package, {**members, forged: body})

    def add(manifest: dict[str, Any]) -> None:
        manifest["records"][1]["documents"].append(
            {"path": forged, **_doc(RECORD_B, body), "filename": "x"}
        )

    _forge_manifest(package, add)

    assert verify_package(package) == [
        f"{forged}: sha256 {_sha(body)} is in no ledger entry of record {RECORD_B}"
    ]


def test_a_file_not_listed_in_the_manifest_is_named(package: Path) -> None:
    _rezip(package, {**_members(package), "documents/extra": b"?"})

    assert verify_package(package) == ["documents/extra: not listed in the manifest"]


# ---- tampering: the manifest ---------------------------------------------------------------


def test_changing_any_single_byte_of_the_manifest_is_detected(package: Path) -> None:
    members = _members(package)
    manifest = members[MANIFEST]
    for i in range(len(manifest)):
        forged = bytearray(manifest)
        forged[i] ^= 0x01
        in_memory = io.BytesIO()
        _rezip(in_memory, {**members, MANIFEST: bytes(forged)})

        problems = verify_package(in_memory)

        assert problems[0].startswith(f"{MANIFEST_SHA256} does not match {MANIFEST}"), (i, problems)


def test_a_record_that_differs_from_its_filed_entry_is_named(package: Path) -> None:
    def extend(manifest: dict[str, Any]) -> None:
        manifest["records"][0]["retention_until"] = "2046-03-01T09:00:01+00:00"

    _forge_manifest(package, extend)

    assert verify_package(package) == [
        f"record {RECORD_A}: retention_until is '2046-03-01T09:00:01+00:00' in the manifest but "
        "'2036-03-01T09:00:01+00:00' in ledger entry 1"
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "manifest.json: not valid JSON"),
        (b"[]", "manifest.json: not a JSON object"),
        (
            b'{"format": "guakao-evidence/1", "records": [], "ledger": {"entries": [{}]}}',
            "manifest.json: ledger.entries[0]: seq is missing or of the wrong type",
        ),
    ],
    ids=["not-json", "not-an-object", "bad-entry"],
)
def test_a_malformed_manifest_is_reported_not_crashed_on(
    package: Path, body: bytes, problem: str
) -> None:
    members = _members(package)
    _rezip(
        package,
        {**members, MANIFEST: body, MANIFEST_SHA256: f"{_sha(body)}  {MANIFEST}\n".encode()},
    )

    problems = verify_package(package)

    assert any(p.startswith(problem) for p in problems), problems


def test_something_that_is_not_a_zip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    path.write_bytes(b"PK not really")

    assert verify_package(path) == [
        "the package is not a readable ZIP file (File is not a zip file)"
    ]


# ---- tampering: the ledger -----------------------------------------------------------------


def test_changing_a_ledger_entrys_payload_is_a_hash_mismatch(package: Path) -> None:
    def forge(manifest: dict[str, Any]) -> None:
        manifest["ledger"]["entries"][1]["payload"]["reason"] = "nothing to see"

    _forge_manifest(package, forge)

    assert verify_package(package) == ["ledger entry 2: hash mismatch"]


def test_rehashing_a_changed_entry_breaks_the_chain_and_the_checkpoint(package: Path) -> None:
    def forge(manifest: dict[str, Any]) -> None:
        entry = manifest["ledger"]["entries"][1]
        entry["payload"]["reason"] = "nothing to see"
        entry["entry_hash"] = entry_hash_of(entry)

    _forge_manifest(package, forge)

    problems = verify_package(package)
    assert problems[0] == "ledger entry 3: prev_hash does not match entry 2"
    assert problems[1].startswith("checkpoint of entries 1-3: root mismatch (recorded ")
    assert len(problems) == 2


def test_dropping_a_ledger_entry_is_a_gap(package: Path) -> None:
    def drop(manifest: dict[str, Any]) -> None:
        del manifest["ledger"]["entries"][5]  # entry 6

    _forge_manifest(package, drop)

    assert verify_package(package) == [
        "ledger entry 7: entry 6 is missing",
        "ledger entry 7: prev_hash does not match entry 5",
        "checkpoint of entries 4-6: entry 6 of its span is not in the package, its root cannot "
        "be re-computed",
    ]


def test_dropping_the_filing_entry_of_a_record_is_named(package: Path) -> None:
    def drop(manifest: dict[str, Any]) -> None:
        del manifest["ledger"]["entries"][2]  # entry 3: record B filed

    _forge_manifest(package, drop)

    path = document_path(RECORD_B, _sha(DOCS[RECORD_B][0]))
    assert verify_package(package) == [
        "ledger entry 4: entry 3 is missing",
        "ledger entry 4: prev_hash does not match entry 2",
        "checkpoint of entries 1-3: entry 3 of its span is not in the package, its root cannot "
        "be re-computed",
        f"record {RECORD_B}: its filing ledger entry is not in the package",
        f"{path}: sha256 {_sha(DOCS[RECORD_B][0])} is in no ledger entry of record {RECORD_B}",
    ]


def test_reordering_ledger_entries_is_detected(package: Path) -> None:
    def swap(manifest: dict[str, Any]) -> None:
        entries = manifest["ledger"]["entries"]
        entries[4], entries[5] = entries[5], entries[4]

    _forge_manifest(package, swap)

    problems = verify_package(package)
    assert "ledger entry 5: out of order (follows entry 6)" in problems


def test_altering_a_checkpoint_root_is_named(package: Path) -> None:
    def forge(manifest: dict[str, Any]) -> None:
        manifest["ledger"]["checkpoints"][1]["root_hash"] = "f" * 64

    _forge_manifest(package, forge)

    problems = verify_package(package)
    assert problems[0].startswith(f"checkpoint of entries 4-6: root mismatch (recorded {'f' * 64}")
    assert problems[1:] == ["checkpoint of entries 4-6: it differs from its ledger entry 7"]


def test_a_checkpoint_whose_own_ledger_entry_is_missing_is_named(package: Path) -> None:
    def forge(manifest: dict[str, Any]) -> None:
        manifest["ledger"]["checkpoints"][1]["ledger_seq"] = 99

    _forge_manifest(package, forge)

    assert verify_package(package) == [
        "checkpoint of entries 4-6: its ledger entry 99 is not in the package"
    ]
