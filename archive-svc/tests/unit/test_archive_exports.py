"""Checkpoints and evidence packages, on a unit of work in memory: a checkpoint seals what was
appended since the last one, an export is a package that verifies offline with nothing but the
archive's proof rules, and both are written to the ledger."""

from __future__ import annotations

import io
import uuid

import pytest
from archive_builders import (
    ADA,
    AUDREY,
    CAROL,
    CORA,
    SIGNED_PDF,
    FakeArchiveUnitOfWork,
    contract_signed,
)

from archive_svc.domain.evidence import merkle_root, read_manifest, verify_package
from archive_svc.domain.model import Record
from archive_svc.service_layer import exports, handlers
from archive_svc.service_layer.access import ReasonRequired
from archive_svc.service_layer.commands import CloseCheckpoint, CreateExport, FetchExport
from guakao_shared.refusals import NotFound, NotPermitted


async def _filed(uow: FakeArchiveUnitOfWork) -> Record:
    ref = uow.archive.put_source(f"c/{uuid.uuid4()}.pdf", SIGNED_PDF)
    envelope, payload = contract_signed([ref])
    await handlers.file_contract(envelope, payload, uow)
    await uow.commit()
    record = await uow.records.get_by_source("contract", payload.contract_id, 1)
    assert record is not None
    return record


@pytest.fixture
def uow() -> FakeArchiveUnitOfWork:
    return FakeArchiveUnitOfWork()


async def test_a_checkpoint_seals_the_entries_since_the_last_one_under_their_merkle_root(
    uow: FakeArchiveUnitOfWork,
) -> None:
    first, second = await _filed(uow), await _filed(uow)
    at = first.filed_at

    sealed = await exports.close_checkpoint(CloseCheckpoint(actor=ADA, at=at), uow)
    nothing_new = await exports.close_checkpoint(CloseCheckpoint(actor=CORA, at=at), uow)

    assert sealed is not None and nothing_new is None
    assert (sealed.first_seq, sealed.last_seq) == (first.ledger_seq, second.ledger_seq)
    assert sealed.root_hash == merkle_root([e.entry_hash for e in uow.ledger.rows[:2]])
    own = uow.ledger.rows[-1]
    assert (own.seq, own.kind, own.payload) == (
        sealed.ledger_seq,
        "checkpoint",
        sealed.ledger_payload(),
    )


async def test_only_admins_and_compliance_close_a_checkpoint(uow: FakeArchiveUnitOfWork) -> None:
    record = await _filed(uow)

    with pytest.raises(NotPermitted, match="closing a ledger checkpoint"):
        await exports.close_checkpoint(CloseCheckpoint(actor=AUDREY, at=record.filed_at), uow)


async def test_an_export_is_a_package_that_verifies_offline_and_is_logged(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)
    await exports.close_checkpoint(CloseCheckpoint(actor=ADA, at=record.filed_at), uow)

    link = await exports.create_export(
        CreateExport(actor=AUDREY, record_ids=(record.id,), reason="external audit FY2026"), uow
    )

    package = io.BytesIO(uow.packages.packages[link.export.package_key])
    assert verify_package(package) == []
    manifest = read_manifest(package)
    assert [r["record_id"] for r in manifest["records"]] == [str(record.id)]
    assert len(manifest["ledger"]["checkpoints"]) == 1
    logged = uow.ledger.rows[-1]
    assert (logged.seq, logged.kind) == (link.export.ledger_seq, "export")
    assert logged.payload["package"]["sha256"] == link.export.sha256
    assert logged.payload["reason"] == "external audit FY2026"


async def test_an_export_needs_a_reason_a_known_record_and_an_exporter(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)

    with pytest.raises(ReasonRequired, match="reason: an export needs a reason"):
        await exports.create_export(
            CreateExport(actor=AUDREY, record_ids=(record.id,), reason=" "), uow
        )
    with pytest.raises(NotFound, match="no such record"):
        await exports.create_export(
            CreateExport(actor=AUDREY, record_ids=(uuid.uuid4(),), reason="x"), uow
        )
    with pytest.raises(NotPermitted, match="exporting evidence"):
        await exports.create_export(
            CreateExport(actor=CAROL, record_ids=(record.id,), reason="x"), uow
        )


async def test_a_package_whose_archived_bytes_changed_is_not_made(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)
    [location] = uow.archive.stored
    uow.archive.stored[location] = b"forged"

    with pytest.raises(exports.ExportNotBacked, match="verify the records"):
        await exports.create_export(
            CreateExport(actor=AUDREY, record_ids=(record.id,), reason="audit"), uow
        )

    assert uow.packages.packages == {}


async def test_fetching_an_export_again_is_logged_with_its_reason(
    uow: FakeArchiveUnitOfWork,
) -> None:
    record = await _filed(uow)
    made = await exports.create_export(
        CreateExport(actor=AUDREY, record_ids=(record.id,), reason="litigation"), uow
    )

    again = await exports.fetch_export(
        FetchExport(actor=CORA, export_id=made.export.id, reason="handing over"), uow
    )

    assert again.export == made.export
    logged = uow.ledger.rows[-1].payload
    assert (logged["action"], logged["reason"]) == ("export_download", "handing over")
