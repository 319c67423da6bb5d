"""monitoring-svc's use cases on an in-memory unit of work: what they store and what they emit."""

from __future__ import annotations

import uuid

import pytest
from monitoring_builders import CASE_ID, envelope, person, register_risk, submitted

from guakao_shared.commands import CommandBus
from guakao_shared.events import RiskRegistered
from guakao_shared.idempotency import IdempotencyKeyReused
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.refusals import NotPermitted
from guakao_shared.testing import RecordingUnitOfWork
from monitoring_svc.domain.model import InvalidRisk, ProcessEvent, Risk
from monitoring_svc.service_layer import handlers
from monitoring_svc.service_layer.unit_of_work import MonitoringUnitOfWork


class MemoryRisks:
    def __init__(self) -> None:
        self.rows: list[Risk] = []

    async def add(self, risk: Risk) -> None:
        self.rows.append(risk)

    async def of_case(self, case_id: uuid.UUID, page: PageRequest) -> Slice[Risk]:
        found = [r for r in self.rows if r.case_id == case_id]
        return Slice(found[page.offset : page.offset + page.limit], len(found), page)


class MemoryLog:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, ProcessEvent] = {}

    async def append(self, event: ProcessEvent) -> bool:
        if event.event_id in self.rows:
            return False
        self.rows[event.event_id] = event
        return True

    async def of_case(self, case_id: uuid.UUID, page: PageRequest) -> Slice[ProcessEvent]:
        found = sorted(
            (e for e in self.rows.values() if e.case_id == case_id), key=lambda e: e.occurred_at
        )
        return Slice(found[page.offset : page.offset + page.limit], len(found), page)


class FakeMonitoringUnitOfWork(RecordingUnitOfWork, MonitoringUnitOfWork):
    risks: MemoryRisks
    process_log: MemoryLog

    def __init__(self) -> None:
        super().__init__()
        self.risks = MemoryRisks()
        self.process_log = MemoryLog()


@pytest.fixture
def uow() -> FakeMonitoringUnitOfWork:
    return FakeMonitoringUnitOfWork()


async def test_a_registered_risk_is_stored_and_announced_with_its_rating(
    uow: FakeMonitoringUnitOfWork,
) -> None:
    risk = await handlers.register_risk(register_risk(likelihood=4, impact=5), uow)
    await uow.commit()

    assert uow.risks.rows == [risk]
    assert risk.raised_at == uow.clock_at  # the runtime's clock, never the command's
    [announced] = uow.events(RiskRegistered)
    assert (announced.risk_id, announced.score, announced.level) == (risk.id, 20, "CRITICAL")
    assert uow.published[0].case_id == CASE_ID


async def test_an_applicant_cannot_register_a_risk(uow: FakeMonitoringUnitOfWork) -> None:
    with pytest.raises(NotPermitted, match="project_manager"):
        await handlers.register_risk(register_risk(actor=person("alice", "applicant")), uow)
    assert uow.risks.rows == []


async def test_a_refused_risk_emits_nothing(uow: FakeMonitoringUnitOfWork) -> None:
    with pytest.raises(InvalidRisk):
        await handlers.register_risk(register_risk(likelihood=9), uow)
    await uow.commit()
    assert uow.published == []


async def test_a_retry_with_the_same_key_answers_the_first_result_and_registers_once() -> None:
    uow = FakeMonitoringUnitOfWork()
    bus = CommandBus(lambda: uow)
    first = await bus.run(register_risk(), handlers.register_risk, idempotency_key="k-123456")
    again = await bus.run(register_risk(), handlers.register_risk, idempotency_key="k-123456")

    assert again.replayed and not first.replayed
    assert again.body == first.body
    assert len(uow.risks.rows) == 1


async def test_the_same_key_with_a_different_body_is_refused() -> None:
    uow = FakeMonitoringUnitOfWork()
    bus = CommandBus(lambda: uow)
    await bus.run(register_risk(), handlers.register_risk, idempotency_key="k-123456")
    with pytest.raises(IdempotencyKeyReused):
        await bus.run(
            register_risk(mitigation="another plan"),
            handlers.register_risk,
            idempotency_key="k-123456",
        )
    assert len(uow.risks.rows) == 1


async def test_every_event_lands_once_in_its_case_s_log(uow: FakeMonitoringUnitOfWork) -> None:
    event = envelope(submitted())
    for _ in range(2):  # a replay from the earliest offset
        await handlers.record_process_event(event, submitted(), uow)

    found = await handlers.events_of_case(uow, CASE_ID, PageRequest(), principal=person())
    assert [(e.event_type, e.stage, e.actor) for e in found.items] == [
        ("application.submitted", "application", "alice")
    ]


async def test_reading_the_log_needs_a_monitoring_role(uow: FakeMonitoringUnitOfWork) -> None:
    with pytest.raises(NotPermitted):
        await handlers.events_of_case(
            uow, CASE_ID, PageRequest(), principal=person("alice", "applicant")
        )
