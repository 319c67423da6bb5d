"""The archive unit of work: records and the ledger on one transaction, plus the outbox."""

from archive_svc.adapters.repository import SqlAlchemyLedger, SqlAlchemyRecordRepository
from guakao_shared.uow import SqlAlchemyUnitOfWork


class ArchiveUnitOfWork(SqlAlchemyUnitOfWork):
    records: SqlAlchemyRecordRepository
    ledger: SqlAlchemyLedger

    def _open(self) -> None:
        self.records = SqlAlchemyRecordRepository(self.session)
        self.ledger = SqlAlchemyLedger(self.session)
