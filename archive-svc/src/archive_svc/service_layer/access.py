"""Compliance access, legal hold and disposition.

Every read, search and download names its reason and is written to the same hash-chained
ledger as the filings (who, what, when, why). Compliance officers and auditors read every
record; anyone else only the records they are the custodian of. A legal hold (records or a
whole case) stops deletion at the storage level even after retention ends. Disposition of a
record whose retention has ended needs an approval, and is itself recorded; S3 decides
whether the bytes can go, so nothing is deleted silently or early.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from archive_svc.adapters.archive import S3Archive
from archive_svc.domain.model import Record
from archive_svc.service_layer.handlers import RecordNotFound, now
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared import events as ev
from guakao_shared.auth import Principal, Role
from guakao_shared.problems import ProblemError

READ_ALL = (Role.COMPLIANCE_OFFICER, Role.AUDITOR)
DISPOSITION_POLICY = "records.disposition"


def _require_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ProblemError(
            422,
            "Invalid request",
            "reason: every access to the archive needs a reason",
            errors=[{"field": "reason", "rule": "required", "message": "say why you need it"}],
        )
    return text


def _may_read(principal: Principal, record: Record) -> bool:
    return principal.has_any(*READ_ALL) or principal.sub == record.custodian


async def _log(
    uow: ArchiveUnitOfWork,
    principal: Principal,
    action: str,
    reason: str,
    record_id: uuid.UUID | None,
    **detail: Any,
) -> int:
    entry = await uow.ledger.append(
        kind="access",
        record_id=record_id,
        at=now(),
        payload={
            "action": action,
            "actor": principal.sub,
            "roles": sorted(principal.roles),
            "reason": reason,
            **detail,
        },
    )
    return entry.seq


async def read_record(
    uow: ArchiveUnitOfWork, record_id: uuid.UUID, principal: Principal, reason: str | None
) -> Record:
    why = _require_reason(reason)
    record = await uow.records.get(record_id)
    if record is None or not _may_read(principal, record):
        raise RecordNotFound(record_id)
    await _log(uow, principal, "read", why, record.id)
    return record


async def search(
    uow: ArchiveUnitOfWork,
    principal: Principal,
    reason: str | None,
    filters: dict[str, Any],
    limit: int,
    offset: int,
) -> list[Record]:
    why = _require_reason(reason)
    if not principal.has_any(*READ_ALL):
        filters = {**filters, "custodian": principal.sub}  # only their own records
    found = await uow.records.search(**filters, limit=limit, offset=offset)
    await _log(
        uow,
        principal,
        "search",
        why,
        None,
        filters={k: str(v) for k, v in filters.items() if v is not None},
        results=[str(r.id) for r in found],
    )
    return found


async def download(
    uow: ArchiveUnitOfWork,
    archive: S3Archive,
    record_id: uuid.UUID,
    sha256: str,
    principal: Principal,
    reason: str | None,
    presigned: bool,
) -> tuple[bytes | None, str | None, Any]:
    """The archived bytes (streamed) or a 15-minute presigned URL; logged either way."""
    record = await read_record(uow, record_id, principal, reason)
    document = next((d for d in record.documents if d.sha256 == sha256), None)
    if document is None:
        raise ProblemError(404, "Not found", f"record {record_id} has no document {sha256}")
    why = _require_reason(reason)
    await _log(
        uow,
        principal,
        "download",
        why,
        record.id,
        sha256=sha256,
        mode="presigned" if presigned else "stream",
    )
    if presigned:
        url = await archive.presigned_get(document.archive_key, document.archive_version_id)
        return None, url, document
    return await archive.read(document.archive_key, document.archive_version_id), None, document


async def set_legal_hold(
    uow: ArchiveUnitOfWork,
    archive: S3Archive,
    *,
    on: bool,
    record_ids: list[uuid.UUID],
    case_id: uuid.UUID | None,
    reason: str | None,
    principal: Principal,
) -> list[Record]:
    why = _require_reason(reason)
    targets = [r for r in [await uow.records.get(i) for i in record_ids] if r is not None]
    if case_id is not None:
        targets += await uow.records.search(case_id=case_id, limit=10_000)
    if not targets:
        raise ProblemError(404, "Not found", "no record matches the records or case given")
    changed = []
    for record in {r.id: r for r in targets}.values():
        if record.legal_hold == on:
            continue
        for d in record.documents:
            await archive.set_legal_hold(d.archive_key, d.archive_version_id, on)
        record.legal_hold = on
        await uow.records.update_state(record)
        await uow.ledger.append(
            kind="legal_hold.set" if on else "legal_hold.released",
            record_id=record.id,
            at=now(),
            payload={
                "actor": principal.sub,
                "reason": why,
                "case_id": str(case_id) if case_id else None,
            },
        )
        changed.append(record)
    return changed


async def request_disposition(
    uow: ArchiveUnitOfWork,
    *,
    record_id: uuid.UUID,
    reason: str | None,
    principal: Principal,
    at: datetime,
) -> Record:
    why = _require_reason(reason)
    record = await uow.records.get(record_id)
    if record is None:
        raise RecordNotFound(record_id)
    problems = []
    if record.retention_until > at:
        problems.append(f"retention runs until {record.retention_until.isoformat()}")
    if record.legal_hold:
        problems.append("the record is under legal hold")
    if record.disposition in ("REQUESTED", "DISPOSED"):
        problems.append(f"disposition is already {record.disposition}")
    if problems:
        raise ProblemError(
            409, "Not eligible for disposition", "; ".join(problems), problems=problems
        )
    record.disposition, record.disposition_request_id = "REQUESTED", uuid.uuid4()
    await uow.records.update_state(record)
    await uow.ledger.append(
        kind="disposition.requested",
        record_id=record.id,
        at=at,
        payload={"actor": principal.sub, "reason": why},
    )
    uow.emit(
        ev.ApprovalRequested(
            request_id=record.disposition_request_id,
            subject_type="disposition",
            subject_id=record.id,
            policy=DISPOSITION_POLICY,
            title=f"Dispose of {record.record_class} record {record.id}",
            requester=principal.sub,
            department=principal.department or "compliance",
        ),
        case_id=record.case_id,
        actor=principal.as_actor(),
    )
    return record


async def disposition_decided(
    envelope: ev.Envelope,
    payload: ev.ApprovalDecided,
    uow: ArchiveUnitOfWork,
    *,
    archive: S3Archive,
) -> None:
    """Consumer: the disposition approval came back. Approved: delete each archived version
    (S3 refuses while retention or a hold lasts: then the record is BLOCKED, with the reason).
    Either way the outcome goes into the ledger; the ledger keeps the record's proof forever."""
    if payload.subject_type != "disposition":
        return
    record = await uow.records.by_disposition_request(payload.request_id)
    if record is None or record.disposition != "REQUESTED":
        return
    outcome, detail = "REFUSED", None
    if isinstance(payload, ev.ApprovalGranted):
        try:
            for d in record.documents:
                await archive.remove(d.archive_key, d.archive_version_id)
            outcome = "DISPOSED"
        except ConnectionError:
            raise  # storage down: retried by the consumer until it is back
        except Exception as exc:  # S3 refused: retention or legal hold still in force
            outcome, detail = "BLOCKED", f"storage refused the deletion: {exc}"
    record.disposition = outcome
    await uow.records.update_state(record)
    await uow.ledger.append(
        kind=f"disposition.{outcome.lower()}",
        record_id=record.id,
        at=now(),
        payload={"approved_by": payload.decided_by, "comment": payload.comment, "detail": detail},
    )
