"""HTTP API of monitoring-svc under /v1: a case's risk register and its process event log.
Routes parse, call one use case through the bus, map the result."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from guakao_shared.api import IdempotencyKey, Page, Paging, command_response
from guakao_shared.auth import CurrentUser
from monitoring_svc.entrypoints.deps import Bus
from monitoring_svc.entrypoints.schemas import ProcessEventRead, RiskCreate, RiskRead
from monitoring_svc.service_layer import handlers
from monitoring_svc.service_layer.commands import RegisterRisk

router = APIRouter(prefix="/v1/cases/{case_id}", tags=["monitoring"])


@router.post(
    "/risks",
    status_code=201,
    response_model=RiskRead,
    summary="Register a risk of the case (likelihood x impact gives its level)",
)
async def register_risk(
    case_id: uuid.UUID,
    body: RiskCreate,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = RegisterRisk(actor=user, case_id=case_id, **body.model_dump())
    result = await bus.run(
        command, handlers.register_risk, present=RiskRead.of, idempotency_key=key, status_code=201
    )
    return command_response(result)


@router.get("/risks", response_model=Page[RiskRead], summary="The case's risk register")
async def list_risks(
    case_id: uuid.UUID, user: CurrentUser, bus: Bus, paging: Paging
) -> Page[RiskRead]:
    found = await bus.query(handlers.risks_of_case, case_id, paging, principal=user)
    return Page.of(found.map(RiskRead.of))


@router.get(
    "/events",
    response_model=Page[ProcessEventRead],
    summary="The case's process event log: every service's events, in time order",
)
async def list_events(
    case_id: uuid.UUID, user: CurrentUser, bus: Bus, paging: Paging
) -> Page[ProcessEventRead]:
    found = await bus.query(handlers.events_of_case, case_id, paging, principal=user)
    return Page.of(found.map(ProcessEventRead.of))
