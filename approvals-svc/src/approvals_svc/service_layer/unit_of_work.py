"""The approvals unit of work: repositories on one transaction, plus the outbox."""

from approvals_svc.adapters.repository import SqlAlchemyApprovalRepository, SqlAlchemyDirectory
from guakao_shared.uow import SqlAlchemyUnitOfWork


class ApprovalsUnitOfWork(SqlAlchemyUnitOfWork):
    cases: SqlAlchemyApprovalRepository

    def _open(self) -> None:
        self.cases = SqlAlchemyApprovalRepository(self.session)

    async def directory(self) -> SqlAlchemyDirectory:
        return await SqlAlchemyDirectory.load(self.session)
