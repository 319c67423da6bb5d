"""The approvals unit of work: the approval case repository on one transaction, plus the outbox."""

from guakao_shared.uow import SqlAlchemyUnitOfWork

from approvals_svc.adapters.repository import SqlAlchemyApprovalRepository


class ApprovalsUnitOfWork(SqlAlchemyUnitOfWork):
    cases: SqlAlchemyApprovalRepository

    def _open(self) -> None:
        self.cases = SqlAlchemyApprovalRepository(self.session)
