"""HTTP API of approvals-svc under /v1: the caller's task inbox and decisions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from guakao_shared.api import IdempotencyKey, command_response
from guakao_shared.auth import CurrentUser
from guakao_shared.commands import run_command

from approvals_svc.entrypoints.schemas import ApprovalCaseRead, DecisionCreate, TaskRead
from approvals_svc.service_layer import handlers
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork

router = APIRouter(prefix="/v1", tags=["approvals"])


def _uow(request: Request) -> ApprovalsUnitOfWork:
    runtime = request.app.state.runtime
    return ApprovalsUnitOfWork(runtime.session_factory, service=runtime.service)


@router.get("/tasks", response_model=list[TaskRead], summary="My open approval tasks")
async def list_tasks(
    user: CurrentUser,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TaskRead]:
    async with _uow(request) as uow:
        rows = await uow.cases.open_tasks(
            roles=user.roles, exclude_requester=user.sub, limit=limit, offset=offset
        )
    return [TaskRead(**row._mapping) for row in rows]


@router.post(
    "/tasks/{task_id}/decision",
    response_model=ApprovalCaseRead,
    summary="Approve or reject a task (a comment is required to reject)",
)
async def decide(
    task_id: uuid.UUID,
    body: DecisionCreate,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def execute(uow: ApprovalsUnitOfWork) -> object:
        case = await handlers.decide(
            uow, task_id=task_id, decision=body.decision, comment=body.comment, principal=user
        )
        return ApprovalCaseRead.of(case).model_dump(mode="json")

    result = await run_command(
        _uow(request),
        execute,
        principal=user.sub,
        idempotency_key=key,
        request=("decide", str(task_id), body.model_dump(mode="json")),
    )
    return command_response(result)
