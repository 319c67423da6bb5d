"""HTTP API of approvals-svc under /v1: inboxes, decisions and the other task actions, case
history, the directory, delegations and the SLA sweep. Routes parse, call one use case through
the bus, map the result."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from approvals_svc.entrypoints.deps import Bus
from approvals_svc.entrypoints.schemas import (
    ApprovalCaseRead,
    DecisionCreate,
    DelegationCreate,
    DelegationRead,
    PersonPut,
    PersonRead,
    RecordRead,
    SignerCreate,
    SweepCreate,
    TaskRead,
    TaskStatusFilter,
    TransferCreate,
    WithdrawCreate,
)
from approvals_svc.service_layer import handlers
from approvals_svc.service_layer.commands import (
    AddSigner,
    CreateDelegation,
    Decide,
    PutPerson,
    RevokeDelegation,
    SweepTimeLimits,
    Transfer,
    Withdraw,
)
from guakao_shared.api import IdempotencyKey, Page, Paging, RuntimeClock, command_response
from guakao_shared.auth import CurrentUser

router = APIRouter(prefix="/v1", tags=["approvals"])


# ---- the inbox ---------------------------------------------------------------------------


@router.get("/tasks", response_model=Page[TaskRead], summary="My approval tasks (inbox)")
async def list_tasks(
    user: CurrentUser,
    bus: Bus,
    paging: Paging,
    status: TaskStatusFilter = "OPEN",
    policy: Annotated[str | None, Query(max_length=200)] = None,
    subject_type: Annotated[str | None, Query(max_length=50)] = None,
    overdue: bool = False,
) -> Page[TaskRead]:
    """Open tasks assigned to me or pooled to my roles, and those I can decide as a delegate."""
    filters = handlers.TaskFilter(
        status=status, policy=policy, subject_type=subject_type, overdue=overdue
    )
    found = await bus.query(handlers.inbox, user, filters, paging)
    return Page[TaskRead].of(found.map(TaskRead.of))


# ---- task actions ------------------------------------------------------------------------


@router.post(
    "/tasks/{task_id}/decision",
    response_model=ApprovalCaseRead,
    summary="Approve, reject or return (a comment is required to reject or return)",
)
async def decide(
    task_id: uuid.UUID,
    body: DecisionCreate,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = Decide(
        actor=user,
        task_id=task_id,
        action=body.decision,
        comment=body.comment,
        return_to=body.return_to,
    )
    result = await bus.run(
        command, handlers.decide, present=ApprovalCaseRead.of, idempotency_key=key
    )
    return command_response(result)


@router.post(
    "/tasks/{task_id}/transfer",
    response_model=ApprovalCaseRead,
    summary="Hand my task to someone else",
)
async def transfer(
    task_id: uuid.UUID,
    body: TransferCreate,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = Transfer(actor=user, task_id=task_id, to=body.to, comment=body.comment)
    result = await bus.run(
        command, handlers.transfer, present=ApprovalCaseRead.of, idempotency_key=key
    )
    return command_response(result)


# ---- cases -------------------------------------------------------------------------------


@router.get("/cases/{case_id}", response_model=ApprovalCaseRead, summary="An approval case")
async def get_case(case_id: uuid.UUID, user: CurrentUser, bus: Bus) -> ApprovalCaseRead:
    return ApprovalCaseRead.of(await bus.query(handlers.visible_case, case_id, principal=user))


@router.get(
    "/cases/{case_id}/history",
    response_model=list[RecordRead],
    summary="Every action on the case: who, for whom, under which rule, when",
)
async def history(case_id: uuid.UUID, user: CurrentUser, bus: Bus) -> list[RecordRead]:
    case = await bus.query(handlers.visible_case, case_id, principal=user)
    return [RecordRead.of(r) for r in case.trail]


@router.post(
    "/cases/{case_id}/signers",
    response_model=ApprovalCaseRead,
    summary="Add a signer to the current step (加签)",
)
async def add_signer(
    case_id: uuid.UUID,
    body: SignerCreate,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = AddSigner(actor=user, case_id=case_id, signer=body.signer, comment=body.comment)
    result = await bus.run(
        command, handlers.add_signer, present=ApprovalCaseRead.of, idempotency_key=key
    )
    return command_response(result)


@router.post(
    "/cases/{case_id}/withdraw",
    response_model=ApprovalCaseRead,
    summary="The requester withdraws the request",
)
async def withdraw(
    case_id: uuid.UUID,
    body: WithdrawCreate,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = Withdraw(actor=user, case_id=case_id, comment=body.comment)
    result = await bus.run(
        command, handlers.withdraw, present=ApprovalCaseRead.of, idempotency_key=key
    )
    return command_response(result)


# ---- directory and delegations -----------------------------------------------------------


@router.put("/directory/people/{sub}", status_code=204, summary="Add or update a person")
async def put_person(sub: str, body: PersonPut, user: CurrentUser, bus: Bus) -> None:
    command = PutPerson(
        actor=user,
        sub=sub,
        roles=tuple(body.roles),
        name=body.name,
        department=body.department,
        manager=body.manager,
    )
    await bus.handle(command, handlers.put_person)


@router.get("/directory/people", response_model=Page[PersonRead], summary="The directory")
async def list_people(user: CurrentUser, bus: Bus, paging: Paging) -> Page[PersonRead]:
    found = await bus.query(handlers.people, paging)
    return Page[PersonRead].of(found.map(PersonRead.of))


@router.post(
    "/delegations",
    status_code=201,
    response_model=DelegationRead,
    summary="Let someone decide my tasks for a time window (they act for me)",
)
async def create_delegation(
    body: DelegationCreate, user: CurrentUser, bus: Bus, key: IdempotencyKey = None
) -> JSONResponse:
    command = CreateDelegation(
        actor=user, delegate=body.delegate, starts=body.starts, ends=body.ends, reason=body.reason
    )
    result = await bus.run(
        command,
        handlers.create_delegation,
        present=DelegationRead.of,
        idempotency_key=key,
        status_code=201,
    )
    return command_response(result)


@router.get(
    "/delegations", response_model=Page[DelegationRead], summary="Delegations I gave or received"
)
async def list_delegations(user: CurrentUser, bus: Bus, paging: Paging) -> Page[DelegationRead]:
    found = await bus.query(handlers.delegations_of, user, paging)
    return Page[DelegationRead].of(found.map(DelegationRead.of))


@router.delete("/delegations/{delegation_id}", status_code=204, summary="Revoke my delegation")
async def revoke_delegation(delegation_id: uuid.UUID, user: CurrentUser, bus: Bus) -> None:
    await bus.handle(
        RevokeDelegation(actor=user, delegation_id=delegation_id), handlers.revoke_delegation
    )


# ---- time limits -------------------------------------------------------------------------


@router.post("/admin/sla-sweep", summary="Run the reminder/escalation sweep now")
async def sla_sweep(
    body: SweepCreate, user: CurrentUser, bus: Bus, clock: RuntimeClock
) -> dict[str, Any]:
    command = SweepTimeLimits(actor=user, now=clock.now(body.now))
    raised = await handlers.run_sla_sweep(command, bus)
    return {"swept_at": command.now.isoformat(), "events": raised}
