"""Compliance access, legal hold and disposition.

Every read, search and download names its reason and is written to the same hash-chained
ledger as the filings (who, what, when, why). Compliance officers and auditors read every
record; anyone else only the records they are the custodian of. A legal hold (records or a
whole case) stops deletion at the storage level even after retention ends. Disposition of a
record whose retention has ended needs an approval (the policy of the process step
`aftercare.dispose_records`), and is itself recorded; S3 decides whether the bytes can go, so
nothing is deleted silently or early.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from archive_svc.domain.model import FiledDocument, Record, RecordFilter
from archive_svc.service_layer.commands import (
    DownloadDocument,
    FindEligibleForDisposition,
    ReadRecord,
    RequestDisposition,
    SearchRecords,
    SetLegalHold,
)
from archive_svc.service_layer.handlers import RecordNotFound, now
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared import events as ev
from guakao_shared.identity import Principal, Role, require_role
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.process import definition
from guakao_shared.refusals import Conflict, Invalid, NotFound

READ_ALL = (Role.COMPLIANCE_OFFICER, Role.AUDITOR)
DISPOSITION_STEP = ("aftercare", "dispose_records")
ALL_OF_A_CASE = PageRequest(limit=10_000)


class ReasonRequired(Invalid):
    """Every access to the archive (and every export) says why."""

    def __init__(self, message: str) -> None:
        super().__init__("reason", "required", message)


class NotEligibleForDisposition(Conflict):
    problem_title = "Not eligible for disposition"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems), problems=problems)


def require_reason(
    reason: str | None, detail: str = "every access to the archive needs a reason"
) -> str:
    text = (reason or "").strip()
    if not text:
        raise ReasonRequired(detail)
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


# ---- reading -------------------------------------------------------------------------------


async def read_record(cmd: ReadRecord, uow: ArchiveUnitOfWork) -> Record:
    return await _read(uow, cmd.record_id, cmd.actor, cmd.reason)


async def _read(
    uow: ArchiveUnitOfWork, record_id: uuid.UUID, principal: Principal, reason: str | None
) -> Record:
    why = require_reason(reason)
    record = await uow.records.get(record_id)
    if record is None or not _may_read(principal, record):
        raise RecordNotFound(record_id)
    await _log(uow, principal, "read", why, record.id)
    return record


async def search(cmd: SearchRecords, uow: ArchiveUnitOfWork) -> Slice[Record]:
    return await _search(uow, cmd.actor, cmd.reason, cmd.where, cmd.page)


async def _search(
    uow: ArchiveUnitOfWork,
    principal: Principal,
    reason: str | None,
    where: RecordFilter,
    page: PageRequest,
) -> Slice[Record]:
    why = require_reason(reason)
    if not principal.has_any(*READ_ALL):
        where = where.of_custodian(principal.sub)  # only their own records
    found = await uow.records.search(where, page)
    await _log(
        uow,
        principal,
        "search",
        why,
        None,
        filters=where.as_logged(),
        results=[str(r.id) for r in found.items],
    )
    return found


@dataclass(frozen=True)
class Download:
    """An archived document: its bytes (streamed), or a 15-minute presigned URL."""

    document: FiledDocument
    body: bytes | None = None
    url: str | None = None


async def download(cmd: DownloadDocument, uow: ArchiveUnitOfWork) -> Download:
    """The archived bytes or a presigned URL; logged either way."""
    record = await _read(uow, cmd.record_id, cmd.actor, cmd.reason)
    document = next((d for d in record.documents if d.sha256 == cmd.sha256), None)
    if document is None:
        raise NotFound(f"record {cmd.record_id} has no document {cmd.sha256}")
    why = require_reason(cmd.reason)
    await _log(
        uow,
        cmd.actor,
        "download",
        why,
        record.id,
        sha256=cmd.sha256,
        mode="presigned" if cmd.presigned else "stream",
    )
    if cmd.presigned:
        url = await uow.archive.presigned_get(document.archive_key, document.archive_version_id)
        return Download(document, url=url)
    body = await uow.archive.read(document.archive_key, document.archive_version_id)
    return Download(document, body=body)


# ---- legal hold ----------------------------------------------------------------------------


async def set_legal_hold(cmd: SetLegalHold, uow: ArchiveUnitOfWork) -> list[Record]:
    """Hold or release records (or every record of a case); the records that changed."""
    require_role(cmd.actor, Role.COMPLIANCE_OFFICER, action="setting or releasing a legal hold")
    why = require_reason(cmd.reason)
    targets = [r for r in [await uow.records.get(i) for i in cmd.record_ids] if r is not None]
    if cmd.case_id is not None:
        targets += (
            await uow.records.search(RecordFilter(case_id=cmd.case_id), ALL_OF_A_CASE)
        ).items
    if not targets:
        raise NotFound("no record matches the records or case given")
    changed = []
    for record in {r.id: r for r in targets}.values():
        if record.legal_hold == cmd.hold:
            continue
        for d in record.documents:
            await uow.archive.set_legal_hold(d.archive_key, d.archive_version_id, cmd.hold)
        record.legal_hold = cmd.hold
        await uow.records.update_state(record)
        await uow.ledger.append(
            kind="legal_hold.set" if cmd.hold else "legal_hold.released",
            record_id=record.id,
            at=now(),
            payload={
                "actor": cmd.actor.sub,
                "reason": why,
                "case_id": str(cmd.case_id) if cmd.case_id else None,
            },
        )
        changed.append(record)
    return changed


# ---- disposition ---------------------------------------------------------------------------


async def eligible_for_disposition(
    cmd: FindEligibleForDisposition, uow: ArchiveUnitOfWork
) -> Slice[Record]:
    """Records whose retention has ended by `as_of` and are not held (a logged search)."""
    require_role(cmd.actor, Role.COMPLIANCE_OFFICER, action="reviewing disposition")
    where = RecordFilter(retention_ended_by=cmd.as_of)
    return await _search(uow, cmd.actor, cmd.reason, where, cmd.page)


async def request_disposition(cmd: RequestDisposition, uow: ArchiveUnitOfWork) -> Record:
    """Ask to dispose of a record whose retention has ended: an approval is requested."""
    require_role(cmd.actor, Role.COMPLIANCE_OFFICER, action="requesting disposition")
    why = require_reason(cmd.reason)
    at = cmd.as_of or now()
    record = await uow.records.get(cmd.record_id)
    if record is None:
        raise RecordNotFound(cmd.record_id)
    problems = []
    if record.retention_until > at:
        problems.append(f"retention runs until {record.retention_until.isoformat()}")
    if record.legal_hold:
        problems.append("the record is under legal hold")
    if record.disposition in ("REQUESTED", "DISPOSED"):
        problems.append(f"disposition is already {record.disposition}")
    if problems:
        raise NotEligibleForDisposition(problems)
    record.disposition, record.disposition_request_id = "REQUESTED", uuid.uuid4()
    await uow.records.update_state(record)
    await uow.ledger.append(
        kind="disposition.requested",
        record_id=record.id,
        at=at,
        payload={"actor": cmd.actor.sub, "reason": why},
    )
    uow.emit(
        ev.ApprovalRequested(
            request_id=record.disposition_request_id,
            subject_type="disposition",
            subject_id=record.id,
            policy=definition().approval_policy(*DISPOSITION_STEP),
            title=f"Dispose of {record.record_class} record {record.id}",
            requester=cmd.actor.sub,
            department=cmd.actor.department or "compliance",
        ),
        case_id=record.case_id,
        actor=ev.Actor.of(cmd.actor),
    )
    return record


async def disposition_decided(
    envelope: ev.Envelope, payload: ev.ApprovalDecided, uow: ArchiveUnitOfWork
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
                await uow.archive.remove(d.archive_key, d.archive_version_id)
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
