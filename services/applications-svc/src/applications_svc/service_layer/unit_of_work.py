"""The applications unit of work: the case repository on one transaction, plus the outbox."""

from applications_svc.adapters.repository import SqlAlchemyApplicationRepository
from guakao_shared.uow import SqlAlchemyUnitOfWork


class ApplicationsUnitOfWork(SqlAlchemyUnitOfWork):
    applications: SqlAlchemyApplicationRepository

    def _open(self) -> None:
        self.applications = SqlAlchemyApplicationRepository(self.session)
