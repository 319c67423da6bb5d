"""The monitoring unit of work: the risk register and the process log on one transaction, plus
the outbox. The repositories are typed by what use cases need, so tests can hand in fakes."""

from __future__ import annotations

import uuid
from typing import Protocol

from guakao_shared.paging import PageRequest, Slice
from guakao_shared.uow import SqlAlchemyUnitOfWork
from monitoring_svc.adapters.repository import SqlAlchemyProcessLog, SqlAlchemyRiskRegister
from monitoring_svc.domain.model import ProcessEvent, Risk


class RiskRegister(Protocol):
    async def add(self, risk: Risk) -> None: ...
    async def of_case(self, case_id: uuid.UUID, page: PageRequest) -> Slice[Risk]: ...


class ProcessLog(Protocol):
    async def append(self, event: ProcessEvent) -> bool: ...
    async def of_case(self, case_id: uuid.UUID, page: PageRequest) -> Slice[ProcessEvent]: ...


class MonitoringUnitOfWork(SqlAlchemyUnitOfWork):
    risks: RiskRegister
    process_log: ProcessLog

    def _open(self) -> None:
        self.risks = SqlAlchemyRiskRegister(self.session)
        self.process_log = SqlAlchemyProcessLog(self.session)
