"""The contracts unit of work: the contract repository on one transaction, plus the outbox."""

from contracts_svc.adapters.repository import SqlAlchemyContractRepository
from guakao_shared.uow import SqlAlchemyUnitOfWork


class ContractsUnitOfWork(SqlAlchemyUnitOfWork):
    contracts: SqlAlchemyContractRepository

    def _open(self) -> None:
        self.contracts = SqlAlchemyContractRepository(self.session)
