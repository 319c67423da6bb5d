"""`guakao verify PACKAGE`: OK with the counts, or every problem and exit status 1."""

from __future__ import annotations

import hashlib
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from archive_svc.domain.evidence import GENESIS_HASH, PackageWriter, entry_hash, entry_json
from guakao_devtools.cli import main

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BODY = b"%PDF-1.7 signed"
SHA = hashlib.sha256(BODY).hexdigest()
RECORD = uuid.UUID(int=1)
RECORD_FIELDS: dict[str, Any] = {
    "record_class": "contract",
    "case_id": str(uuid.UUID(int=2)),
    "source_type": "contract",
    "source_id": str(uuid.UUID(int=3)),
    "source_version": 1,
    "retention_until": "2036-03-01T09:00:00+00:00",
}


def _package(path: Path) -> Path:
    doc: dict[str, Any] = {
        "sha256": SHA,
        "size": len(BODY),
        "archive_key": f"k/{SHA}",
        "archive_version_id": "v1",
    }
    fields: dict[str, Any] = {
        "seq": 1,
        "at": AT,
        "kind": "filed",
        "record_id": RECORD,
        "payload": {**RECORD_FIELDS, "documents": [doc]},
        "prev_hash": GENESIS_HASH,
    }
    with PackageWriter(path, package_id="p", created_at=AT, created_by="ana", reason="r") as p:
        p.add_record(record_id=RECORD, **RECORD_FIELDS)
        p.add_document(RECORD, **doc, chunks=[BODY])
        p.set_ledger([entry_json(**fields, entry_hash=entry_hash(**fields))], [])
    return path


def test_an_intact_package_is_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(_package(tmp_path / "p.zip"))]) == 0
    assert capsys.readouterr().out == "OK: 1 records, 1 documents, 1 ledger entries verified\n"


def test_a_tampered_package_lists_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _package(tmp_path / "p.zip")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(path, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body.replace(b"signed", b"forged"))

    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"documents/{RECORD}/{SHA}: sha256 mismatch" in out
    assert not out.startswith("OK")
