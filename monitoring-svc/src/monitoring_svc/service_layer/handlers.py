"""Use cases of monitoring-svc. Commands run in an open unit of work that the bus commits;
consumers' handlers run in the inbox's unit of work; queries are never committed."""

from __future__ import annotations

import uuid

from guakao_shared.events import Actor, Envelope, EventData
from guakao_shared.events import RiskRegistered as RiskRegisteredEvent
from guakao_shared.identity import Principal, Role, require_role
from guakao_shared.paging import PageRequest, Slice
from monitoring_svc.domain.model import ProcessEvent, Risk, RiskWasRegistered, stage_of
from monitoring_svc.service_layer.commands import RegisterRisk
from monitoring_svc.service_layer.unit_of_work import MonitoringUnitOfWork

RAISE_RISKS = (Role.PROJECT_MANAGER, Role.PROCESS_ADMIN)
# Until monitoring learns who works on which case, reading is by role.
READ_MONITORING = (
    Role.PROJECT_MANAGER,
    Role.PROCESS_ADMIN,
    Role.COMMITTEE_MEMBER,
    Role.AUDITOR,
    Role.COMPLIANCE_OFFICER,
)


async def register_risk(cmd: RegisterRisk, uow: MonitoringUnitOfWork) -> Risk:
    require_role(cmd.actor, *RAISE_RISKS, action="registering a risk")
    risk = Risk.register(
        id=uuid.uuid4(),
        case_id=cmd.case_id,
        title=cmd.title,
        description=cmd.description,
        likelihood=cmd.likelihood,
        impact=cmd.impact,
        owner=cmd.owner,
        mitigation=cmd.mitigation,
        raised_by=cmd.actor.sub,
        now=uow.now(),
    )
    await uow.risks.add(risk)
    for event in risk.events:
        if isinstance(event, RiskWasRegistered):
            uow.emit(
                RiskRegisteredEvent(
                    risk_id=risk.id,
                    title=risk.title,
                    likelihood=risk.likelihood,
                    impact=risk.impact,
                    score=risk.score,
                    level=risk.level.value,
                    owner=risk.owner,
                    raised_at=risk.raised_at,
                ),
                case_id=risk.case_id,
                actor=Actor.of(cmd.actor),
            )
    return risk


async def risks_of_case(
    uow: MonitoringUnitOfWork, case_id: uuid.UUID, page: PageRequest, *, principal: Principal
) -> Slice[Risk]:
    require_role(principal, *READ_MONITORING, action="reading a risk register")
    return await uow.risks.of_case(case_id, page)


async def events_of_case(
    uow: MonitoringUnitOfWork, case_id: uuid.UUID, page: PageRequest, *, principal: Principal
) -> Slice[ProcessEvent]:
    require_role(principal, *READ_MONITORING, action="reading a case's event log")
    return await uow.process_log.of_case(case_id, page)


# ---- consumers -----------------------------------------------------------------------------


async def record_process_event(
    envelope: Envelope, payload: EventData, uow: MonitoringUnitOfWork
) -> None:
    """Every event of every service, in the case's event log (once, even on a replay)."""
    subject = getattr(payload, "subject_type", None)  # approvals say what they decide on
    await uow.process_log.append(
        ProcessEvent(
            event_id=envelope.event_id,
            case_id=envelope.case_id,
            event_type=envelope.event_type,
            source=envelope.source,
            stage=stage_of(envelope.event_type, subject),
            actor=envelope.actor.sub,
            occurred_at=envelope.occurred_at,
        )
    )
