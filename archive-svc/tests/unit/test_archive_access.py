"""Compliance access, legal hold and disposition, on a unit of work in memory: every read says
why and is logged in the ledger, a custodian sees only their own records, a hold reaches the
storage, and disposition goes through an approval and through what the storage allows."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from archive_builders import (
    ADA,
    AUDREY,
    CAROL,
    CORA,
    EVE,
    SIGNED_PDF,
    FakeArchiveUnitOfWork,
    after_retention,
    approval,
    contract_signed,
    dispose,
    hold,
    read,
)

from archive_svc.domain.model import Record, RecordFilter
from archive_svc.service_layer import access, handlers
from archive_svc.service_layer.access import NotEligibleForDisposition, ReasonRequired
from archive_svc.service_layer.commands import (
    DownloadDocument,
    FindEligibleForDisposition,
    SearchRecords,
)
from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared.commands import CommandBus
from guakao_shared.events import ApprovalRequested
from guakao_shared.idempotency import IdempotencyKeyReused
from guakao_shared.paging import PageRequest
from guakao_shared.process import definition
from guakao_shared.refusals import NotFound, NotPermitted


async def _filed(uow: FakeArchiveUnitOfWork, case_id: uuid.UUID | None = None) -> Record:
    """A contract version filed into the archive (kept by carol), committed."""
    ref = uow.archive.put_source(f"c/{uuid.uuid4()}.pdf", SIGNED_PDF)
    envelope, payload = contract_signed([ref], case_id=case_id)
    await handlers.file_contract(envelope, payload, uow)
    await uow.commit()
    record = await uow.records.get_by_source("contract", payload.contract_id, 1)
    assert record is not None
    return record


@pytest.fixture
def uow() -> FakeArchiveUnitOfWork:
    return FakeArchiveUnitOfWork()


# ---- reading -------------------------------------------------------------------------------


async def test_a_read_names_its_reason_and_is_written_to_the_ledger(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)

    found = await access.read_record(read(record, by=AUDREY, reason=" annual audit "), uow)

    assert found.id == record.id
    entry = uow.ledger.rows[-1]
    assert (entry.kind, entry.record_id) == ("access", record.id)
    assert entry.payload == {
        "action": "read",
        "actor": "audrey",
        "roles": ["auditor"],
        "reason": "annual audit",
    }


async def test_a_read_without_a_reason_is_refused_on_the_reason_field(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)

    with pytest.raises(ReasonRequired) as refused:
        await access.read_record(read(record, reason="  "), uow)

    assert str(refused.value) == "reason: every access to the archive needs a reason"
    assert refused.value.problem_extra["errors"][0]["field"] == "reason"
    assert uow.ledger.kinds() == ["filed"]  # nothing logged for a refused read


async def test_the_custodian_reads_their_records_and_anyone_else_finds_nothing(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)

    assert (await access.read_record(read(record, by=CAROL), uow)).id == record.id
    with pytest.raises(NotFound, match=f"record {record.id} does not exist"):
        await access.read_record(read(record, by=EVE), uow)


async def test_a_search_by_a_custodian_is_narrowed_to_their_records_and_logged(
    uow: FakeArchiveUnitOfWork,
) -> None:
    mine = await _filed(uow)
    uow.records.rows[mine.id].custodian = "carol"
    theirs = await _filed(uow)
    uow.records.rows[theirs.id].custodian = "someone-else"

    found = await access.search(
        SearchRecords(actor=CAROL, reason="custody check", page=PageRequest(limit=10)), uow
    )

    assert [r.id for r in found.items] == [mine.id]
    assert found.total == 1
    logged = uow.ledger.rows[-1].payload
    assert logged["filters"] == {"custodian": "carol"}
    assert logged["results"] == [str(mine.id)]


async def test_a_search_is_a_page_of_the_records_in_filing_order(
    uow: FakeArchiveUnitOfWork,
) -> None:
    case_id = uuid.uuid4()
    filed = [await _filed(uow, case_id) for _ in range(3)]

    page = await access.search(
        SearchRecords(
            actor=AUDREY,
            reason="audit",
            where=RecordFilter(case_id=case_id),
            page=PageRequest(limit=2),
        ),
        uow,
    )

    assert [r.id for r in page.items] == [r.id for r in filed[:2]]
    assert page.total == 3 and page.next_cursor is not None


async def test_a_download_is_logged_with_its_mode(uow: FakeArchiveUnitOfWork) -> None:
    record = await _filed(uow)
    [doc] = record.documents
    command = DownloadDocument(
        actor=CORA, record_id=record.id, sha256=doc.sha256, reason="litigation request 42"
    )

    streamed = await access.download(command, uow)
    presigned = await access.download(
        DownloadDocument(
            actor=CORA, record_id=record.id, sha256=doc.sha256, reason="copy", presigned=True
        ),
        uow,
    )

    assert streamed.body == SIGNED_PDF and streamed.url is None
    assert presigned.url is not None and presigned.body is None
    modes = [
        e.payload.get("mode") for e in uow.ledger.rows if e.payload.get("action") == "download"
    ]
    assert modes == ["stream", "presigned"]


# ---- legal hold ----------------------------------------------------------------------------


async def test_only_compliance_sets_a_legal_hold(uow: FakeArchiveUnitOfWork) -> None:
    record = await _filed(uow)

    with pytest.raises(NotPermitted, match="setting or releasing a legal hold"):
        await access.set_legal_hold(hold(record, by=AUDREY), uow)


async def test_a_legal_hold_on_a_case_holds_every_archived_version_and_is_logged(
    uow: FakeArchiveUnitOfWork,
) -> None:
    case_id = uuid.uuid4()
    first, second = await _filed(uow, case_id), await _filed(uow, case_id)

    changed = await access.set_legal_hold(hold(case_id=case_id), uow)
    again = await access.set_legal_hold(hold(case_id=case_id), uow)

    assert {r.id for r in changed} == {first.id, second.id}
    assert again == []  # already held: nothing changes, nothing is logged twice
    held = {(d.archive_key, d.archive_version_id) for r in changed for d in r.documents}
    assert held == uow.archive.held
    assert uow.ledger.kinds(first) == ["filed", "legal_hold.set"]


async def test_a_legal_hold_on_nothing_known_is_not_found(uow: FakeArchiveUnitOfWork) -> None:
    with pytest.raises(NotFound, match="no record matches"):
        await access.set_legal_hold(hold(case_id=uuid.uuid4()), uow)


# ---- disposition ---------------------------------------------------------------------------


async def test_disposition_before_retention_ends_or_under_hold_is_not_eligible(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)
    await access.set_legal_hold(hold(record), uow)

    with pytest.raises(NotEligibleForDisposition) as refused:
        await access.request_disposition(dispose(record), uow)

    assert refused.value.problem_extra["problems"] == [
        f"retention runs until {record.retention_until.isoformat()}",
        "the record is under legal hold",
    ]


async def test_disposition_after_retention_asks_for_the_approval_of_the_process_step(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)

    requested = await access.request_disposition(
        dispose(record, as_of=after_retention(record)), uow
    )
    await uow.commit()

    assert requested.disposition == "REQUESTED"
    [asked] = uow.events(ApprovalRequested)
    assert asked.policy == definition().approval_policy("aftercare", "dispose_records")
    assert (asked.subject_type, asked.subject_id) == ("disposition", record.id)
    assert asked.request_id == requested.disposition_request_id
    assert uow.ledger.rows[-1].at == after_retention(record)
    with pytest.raises(NotEligibleForDisposition, match="disposition is already REQUESTED"):
        await access.request_disposition(dispose(record, as_of=after_retention(record)), uow)


async def test_records_past_retention_are_listed_for_compliance_only(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)
    await _filed(uow)
    review = FindEligibleForDisposition(
        actor=CORA, as_of=after_retention(record), reason="yearly review"
    )

    eligible = await access.eligible_for_disposition(review, uow)
    before = await access.eligible_for_disposition(
        FindEligibleForDisposition(actor=CORA, as_of=record.filed_at, reason="too early"), uow
    )

    assert eligible.total == 2 and before.total == 0
    with pytest.raises(NotPermitted, match="reviewing disposition"):
        await access.eligible_for_disposition(
            FindEligibleForDisposition(actor=ADA, as_of=record.filed_at, reason="x"), uow
        )


async def test_an_approved_disposition_the_storage_still_refuses_is_blocked_and_logged(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)  # its COMPLIANCE retention runs for years in the storage
    await access.request_disposition(dispose(record, as_of=after_retention(record)), uow)

    await access.disposition_decided(*approval(record, granted=True), uow)

    assert record.disposition == "BLOCKED"
    assert uow.archive.stored  # nothing was deleted
    entry = uow.ledger.rows[-1]
    assert (entry.kind, entry.payload["approved_by"]) == ("disposition.blocked", "leo")
    assert "storage refused the deletion" in entry.payload["detail"]


async def test_an_approved_disposition_past_retention_deletes_the_archived_versions(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)
    await access.request_disposition(dispose(record, as_of=after_retention(record)), uow)
    for where in uow.archive.retained:
        uow.archive.retained[where] = record.filed_at  # as if the years had passed

    await access.disposition_decided(*approval(record, granted=True), uow)

    assert record.disposition == "DISPOSED"
    assert uow.archive.stored == {}
    assert uow.ledger.kinds(record)[-1] == "disposition.disposed"


async def test_a_rejected_disposition_is_refused_and_the_record_kept(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)
    await access.request_disposition(dispose(record, as_of=after_retention(record)), uow)

    await access.disposition_decided(*approval(record, granted=False), uow)
    await access.disposition_decided(*approval(record, granted=True), uow)  # late: ignored

    assert record.disposition == "REFUSED"
    assert uow.ledger.kinds(record)[-1] == "disposition.refused"
    assert uow.archive.stored


# ---- idempotency ---------------------------------------------------------------------------


async def test_a_key_reused_for_another_reason_is_refused(uow: FakeArchiveUnitOfWork) -> None:
    record = await _filed(uow)
    bus = CommandBus[ArchiveUnitOfWork](lambda: uow)
    first = hold(record)

    held = await bus.run(first, access.set_legal_hold, present=len, idempotency_key="hold-1")
    replayed = await bus.run(first, access.set_legal_hold, present=len, idempotency_key="hold-1")
    with pytest.raises(IdempotencyKeyReused):
        await bus.run(
            replace(first, reason="another matter"),
            access.set_legal_hold,
            present=len,
            idempotency_key="hold-1",
        )

    assert (held.body, replayed.body, replayed.replayed) == (1, 1, True)
