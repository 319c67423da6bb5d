"""The approvals unit of work: the approval case repository on one transaction, plus the outbox."""

from approvals_svc.adapters.repository import SqlAlchemyApprovalRepository
from guakao_shared.uow import SqlAlchemyUnitOfWork


class ApprovalsUnitOfWork(SqlAlchemyUnitOfWork):
    cases: SqlAlchemyApprovalRepository

    def _open(self) -> None:
        self.cases = SqlAlchemyApprovalRepository(self.session)
