"""Checkpoints of the ledger, and evidence packages that auditors verify offline.

A checkpoint seals every ledger entry after the previous checkpoint under one Merkle root and
writes that root to the ledger as a `checkpoint` entry (so the next checkpoint covers it too).
It refuses to seal a span that does not chain: a broken ledger is never certified.

An export is a ZIP (format: `archive_svc.domain.evidence`) with the records asked for, the exact
archived bytes of their documents, the ledger from the first entry relevant to them (or the
start of the checkpoint covering it) to the latest, and the checkpoints over those entries.
It is stored under `exports/<id>.zip` in the archive bucket, and the export itself (who, why,
which records, the package's SHA-256) is written to the ledger as an `export` entry, so that
a package handed over can later be compared with what the archive says it made.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from archive_svc.adapters.package_store import (
    EXPORTS_PREFIX,
    URL_MINUTES,
    ArchivedVersionMissing,
)
from archive_svc.domain.evidence import (
    CHECKPOINT,
    GENESIS_HASH,
    Checkpoint,
    DocumentMismatch,
    Export,
    PackageWriter,
    entry_json,
    merkle_root,
)
from archive_svc.domain.model import LedgerEntry, Record, RecordFilter
from archive_svc.service_layer.access import require_reason
from archive_svc.service_layer.commands import CloseCheckpoint, CreateExport, FetchExport
from archive_svc.service_layer.handlers import now
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork, Packages
from guakao_shared.identity import Role, require_role
from guakao_shared.paging import PageRequest
from guakao_shared.refusals import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

EXPORT = "export"
MAX_RECORDS = 500
EXPORTERS = (Role.COMPLIANCE_OFFICER, Role.AUDITOR)
CHECKPOINTERS = (Role.PROCESS_ADMIN, Role.COMPLIANCE_OFFICER)


class LedgerBroken(Conflict):
    """The entries to be sealed by a checkpoint do not chain: no checkpoint is closed."""

    problem_title = "The ledger does not chain"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "the ledger does not chain, no checkpoint closed: " + "; ".join(problems),
            problems=problems,
        )
        self.problems = problems


class ExportNotBacked(Conflict):
    """An archived version behind the export is gone or no longer hashes as filed."""

    problem_title = "The archive cannot back this export"


class RecordsDisposedOf(Conflict):
    problem_title = "Disposed of"


class NothingToExport(Invalid):
    """The export names no record, or more than an export holds."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__("record_ids", rule, message)


# ---- checkpoints ---------------------------------------------------------------------------


async def close_checkpoint(cmd: CloseCheckpoint, uow: ArchiveUnitOfWork) -> Checkpoint | None:
    """Seal every entry after the last checkpoint under a Merkle root; None when nothing but
    the last checkpoint's own entry was appended since (nothing new to seal)."""
    require_role(cmd.actor, *CHECKPOINTERS, action="closing a ledger checkpoint")
    return await checkpoint(uow, cmd.at)


async def scheduled_checkpoint(cmd: CloseCheckpoint, uow: ArchiveUnitOfWork) -> Checkpoint | None:
    """The periodic job's checkpoint, closed by the service itself. Several replicas may run
    it: the ledger lock orders them, and the later ones find nothing new to seal."""
    return await checkpoint(uow, cmd.at)


async def checkpoint(uow: ArchiveUnitOfWork, now: datetime) -> Checkpoint | None:
    evidence = uow.evidence
    await uow.ledger.lock()  # nothing is appended while we read and seal the span
    last = await evidence.last_checkpoint()
    after = 0 if last is None else last.last_seq
    previous = None if after == 0 else await uow.ledger.get(after)
    hashes, kinds, problems = [], set(), []
    expected_seq, expected_prev = (
        after + 1,
        GENESIS_HASH if previous is None else previous.entry_hash,
    )
    if after and previous is None:
        problems.append(f"entry {after} (the end of the last checkpoint) is missing")
    async for entry in evidence.entries_from(after + 1):
        problems += _link_problems(entry, expected_seq, expected_prev)
        hashes.append(entry.entry_hash)
        kinds.add(entry.kind)
        expected_seq, expected_prev = entry.seq + 1, entry.entry_hash
    if problems:
        raise LedgerBroken(problems)
    if not hashes or kinds == {CHECKPOINT}:
        return None
    first_seq, last_seq = after + 1, after + len(hashes)
    root = merkle_root(hashes)
    payload = {"first_seq": first_seq, "last_seq": last_seq, "root_hash": root}
    entry = await uow.ledger.append(kind=CHECKPOINT, record_id=None, payload=payload, at=now)
    sealed = Checkpoint(
        id=uuid.uuid4(),
        first_seq=first_seq,
        last_seq=last_seq,
        root_hash=root,
        created_at=now,
        ledger_seq=entry.seq,
    )
    await evidence.add_checkpoint(sealed)
    log.info("ledger checkpoint: entries %d-%d sealed, root %s", first_seq, last_seq, root)
    return sealed


def _link_problems(entry: LedgerEntry, seq: int, prev_hash: str) -> list[str]:
    problems = []
    if entry.seq != seq:
        problems.append(f"entry {entry.seq}: expected entry {seq}")
    if entry.prev_hash != prev_hash:
        problems.append(f"entry {entry.seq}: prev_hash does not match entry {entry.seq - 1}")
    if entry.computed_hash() != entry.entry_hash:
        problems.append(f"entry {entry.seq}: hash mismatch")
    return problems


# ---- exports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportLink:
    export: Export
    download_url: str  # a presigned GET of the package
    expires_in_s: int = URL_MINUTES * 60


async def create_export(cmd: CreateExport, uow: ArchiveUnitOfWork) -> ExportLink:
    """Build the package, store it, and write the export to the ledger."""
    require_role(cmd.actor, *EXPORTERS, action="exporting evidence")
    principal, store, at = cmd.actor, uow.packages, now()
    why = require_reason(cmd.reason, "an export needs a reason")
    records = await _records(uow, cmd.record_ids, cmd.case_id)
    evidence = uow.evidence
    seqs = [r.ledger_seq for r in records if r.ledger_seq is not None]
    first = min(seqs)
    covering = await evidence.checkpoint_covering(first)
    start = first if covering is None else covering.first_seq
    entries = [_entry_json(e) async for e in evidence.entries_from(start)]
    checkpoints = [c.as_json() for c in await evidence.checkpoints_from(start)]

    export_id = uuid.uuid4()
    key = f"{EXPORTS_PREFIX}/{export_id}.zip"

    def build_and_store() -> tuple[str, int, str | None]:
        with tempfile.TemporaryFile() as spool:
            _write_package(
                spool, store, export_id, at, principal.sub, why, records, entries, checkpoints
            )
            sha256, size = _digest(spool)
            spool.seek(0)
            return sha256, size, store.put(key, spool, size, sha256)

    try:
        sha256, size, version_id = await store.run(build_and_store)
    except (DocumentMismatch, ArchivedVersionMissing) as exc:
        raise ExportNotBacked(f"{exc}; verify the records (GET /v1/records/{{id}}/verify)") from exc

    entry = await uow.ledger.append(
        kind=EXPORT,
        record_id=None,
        at=at,
        payload={
            "export_id": str(export_id),
            "actor": principal.sub,
            "roles": sorted(principal.roles),
            "reason": why,
            "record_ids": [str(r.id) for r in records],
            "ledger": {"first_seq": start, "last_seq": entries[-1]["seq"]},
            "package": {
                "bucket": store.bucket,
                "key": key,
                "version_id": version_id,
                "sha256": sha256,
                "size": size,
            },
        },
    )
    export = Export(
        id=export_id,
        created_by=principal.sub,
        reason=why,
        created_at=at,
        record_ids=[r.id for r in records],
        package_bucket=store.bucket,
        package_key=key,
        package_version_id=version_id,
        sha256=sha256,
        size=size,
        ledger_seq=entry.seq,
    )
    await evidence.add_export(export)
    log.info(
        "export %s for %s: %d record(s), ledger %d-%d, %d bytes, sha256 %s",
        export_id,
        principal.sub,
        len(records),
        start,
        entries[-1]["seq"],
        size,
        sha256,
    )
    return ExportLink(export, await store.presigned_url(key, version_id))


async def fetch_export(cmd: FetchExport, uow: ArchiveUnitOfWork) -> ExportLink:
    """An export with a fresh download URL; handing out the URL is logged as an access."""
    require_role(cmd.actor, *EXPORTERS, action="downloading evidence")
    export = await uow.evidence.get_export(cmd.export_id)
    if export is None:
        raise NotFound(f"export {cmd.export_id} does not exist")
    await uow.ledger.append(
        kind="access",
        record_id=None,
        at=now(),
        payload={
            "action": "export_download",
            "actor": cmd.actor.sub,
            "roles": sorted(cmd.actor.roles),
            "reason": (cmd.reason or "").strip() or export.reason,
            "export_id": str(export.id),
        },
    )
    url = await uow.packages.presigned_url(export.package_key, export.package_version_id)
    return ExportLink(export, url)


async def _records(
    uow: ArchiveUnitOfWork, record_ids: tuple[uuid.UUID, ...], case_id: uuid.UUID | None
) -> list[Record]:
    found: dict[uuid.UUID, Record] = {}
    missing = []
    for record_id in dict.fromkeys(record_ids):
        record = await uow.records.get(record_id)
        if record is None:
            missing.append(str(record_id))
        else:
            found[record.id] = record
    if missing:
        raise NotFound(f"no such record: {', '.join(missing)}", missing=missing)
    if case_id is not None:
        in_case = await uow.records.search(
            RecordFilter(case_id=case_id), PageRequest(limit=MAX_RECORDS + 1)
        )
        if not in_case.items:
            raise NotFound(f"case {case_id} has no filed record")
        found.update((r.id, r) for r in in_case.items)
    if not found:
        raise NothingToExport("required", "name the records or the case to export")
    if len(found) > MAX_RECORDS:
        raise NothingToExport("max_records", f"an export holds at most {MAX_RECORDS} records")
    disposed = [str(r.id) for r in found.values() if r.disposition == "DISPOSED"]
    if disposed:
        raise RecordsDisposedOf(
            f"the documents of {', '.join(disposed)} were disposed of and cannot be exported",
            disposed=disposed,
        )
    return sorted(found.values(), key=lambda r: (r.ledger_seq or 0, str(r.id)))


def _entry_json(entry: LedgerEntry) -> dict[str, Any]:
    return entry_json(
        seq=entry.seq,
        at=entry.at,
        kind=entry.kind,
        record_id=entry.record_id,
        payload=entry.payload,
        prev_hash=entry.prev_hash,
        entry_hash=entry.entry_hash,
    )


def _write_package(
    target: IO[bytes],
    store: Packages,
    export_id: uuid.UUID,
    at: datetime,
    created_by: str,
    reason: str,
    records: list[Record],
    entries: list[dict[str, Any]],
    checkpoints: list[dict[str, Any]],
) -> None:
    with PackageWriter(
        target, package_id=export_id, created_at=at, created_by=created_by, reason=reason
    ) as package:
        for record in records:
            package.add_record(
                record_id=record.id,
                record_class=record.record_class,
                case_id=record.case_id,
                source_type=record.source_type,
                source_id=record.source_id,
                source_version=record.source_version,
                retention_until=record.retention_until,
            )
            for d in record.documents:
                package.add_document(
                    record.id,
                    sha256=d.sha256,
                    size=d.size,
                    archive_key=d.archive_key,
                    archive_version_id=d.archive_version_id,
                    filename=d.filename,
                    chunks=store.chunks(d.archive_bucket, d.archive_key, d.archive_version_id),
                )
        package.set_ledger(entries, checkpoints)


def _digest(spool: IO[bytes]) -> tuple[str, int]:
    spool.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := spool.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
