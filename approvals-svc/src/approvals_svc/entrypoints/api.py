"""HTTP API of approvals-svc under /v1: inboxes, decisions and the other task actions, case
history, the directory, delegations and the SLA sweep. Routes parse, call a use case, map."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select, update

from approvals_svc.adapters.orm import delegations, directory_people
from approvals_svc.adapters.repository import ConcurrentUpdate, active_delegations, upsert_person
from approvals_svc.entrypoints.schemas import (
    ApprovalCaseRead,
    DecisionCreate,
    DelegationCreate,
    DelegationRead,
    PersonPut,
    RecordRead,
    SignerCreate,
    SweepCreate,
    TaskRead,
    TaskStatusFilter,
    TransferCreate,
    WithdrawCreate,
)
from approvals_svc.service_layer import handlers
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork
from guakao_shared.api import IdempotencyKey, command_response
from guakao_shared.auth import CurrentUser, Principal, Role, require_role
from guakao_shared.commands import run_command
from guakao_shared.problems import ProblemError

router = APIRouter(prefix="/v1", tags=["approvals"])
SEE_ALL = (Role.PROCESS_ADMIN, Role.AUDITOR, Role.COMPLIANCE_OFFICER)


def _uow(request: Request) -> ApprovalsUnitOfWork:
    runtime = request.app.state.runtime
    return ApprovalsUnitOfWork(runtime.session_factory, service=runtime.service)


def _records(request: Request) -> handlers.RecordStore:
    runtime = request.app.state.runtime
    return handlers.RecordStore(runtime.documents, runtime.settings.records_bucket)


async def _command(
    request: Request,
    user: Principal,
    key: str | None,
    what: tuple[Any, ...],
    run: Callable[[ApprovalsUnitOfWork], Awaitable[Any]],
    status_code: int = 200,
) -> JSONResponse:
    result = await run_command(
        _uow(request),
        run,
        principal=user.sub,
        idempotency_key=key,
        request=what,
        status_code=status_code,
    )
    return command_response(result)


# ---- the inbox ---------------------------------------------------------------------------


@router.get("/tasks", response_model=list[TaskRead], summary="My approval tasks (inbox)")
async def list_tasks(
    user: CurrentUser,
    request: Request,
    status: TaskStatusFilter = "OPEN",
    policy: Annotated[str | None, Query(max_length=200)] = None,
    subject_type: Annotated[str | None, Query(max_length=50)] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TaskRead]:
    """Open tasks assigned to me or pooled to my roles, and those I can decide as a delegate."""
    now = datetime.now(UTC)
    async with _uow(request) as uow:
        who: list[tuple[str | None, str | None, str | None]] = [(user.sub, None, None)]
        who += [(None, role, user.department) for role in user.roles]
        directory = await uow.directory()
        for d in await active_delegations(uow.session, user.sub, now):
            delegator = directory.person(d.delegator)
            who.append((d.delegator, None, None))
            if delegator is not None:
                who += [(None, role, delegator.department) for role in delegator.roles]
        rows = await uow.cases.inbox(
            who=who,
            requester_not=user.sub,
            status=status,
            policy=policy,
            subject_type=subject_type,
            overdue_at=now if overdue else None,
            limit=limit,
            offset=offset,
        )
    return [TaskRead(**row._mapping) for row in rows]


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
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def run(uow: ApprovalsUnitOfWork) -> object:
        case = await handlers.decide(
            uow,
            _records(request),
            task_id=task_id,
            action=body.decision,
            comment=body.comment,
            return_to=body.return_to,
            principal=user,
        )
        return ApprovalCaseRead.of(case).model_dump(mode="json")

    return await _command(
        request, user, key, ("decide", str(task_id), body.model_dump(mode="json")), run
    )


@router.post(
    "/tasks/{task_id}/transfer",
    response_model=ApprovalCaseRead,
    summary="Hand my task to someone else",
)
async def transfer(
    task_id: uuid.UUID,
    body: TransferCreate,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def run(uow: ApprovalsUnitOfWork) -> object:
        case = await handlers.transfer(
            uow,
            _records(request),
            task_id=task_id,
            to=body.to,
            comment=body.comment,
            principal=user,
        )
        return ApprovalCaseRead.of(case).model_dump(mode="json")

    return await _command(
        request, user, key, ("transfer", str(task_id), body.model_dump(mode="json")), run
    )


# ---- cases -------------------------------------------------------------------------------


async def _visible_case(uow: ApprovalsUnitOfWork, case_id: uuid.UUID, user: Principal) -> Any:
    case = await uow.cases.get(case_id)
    if case is None:
        raise handlers.CaseNotFound(case_id)
    involved = (
        {case.requester} | {t.assignee for t in case.tasks} | {t.decided_by for t in case.tasks}
    )
    pooled = {t.pool_role for t in case.tasks}
    if user.sub in involved or user.roles & pooled or user.has_any(*SEE_ALL):
        return case
    raise handlers.CaseNotFound(case_id)


@router.get("/cases/{case_id}", response_model=ApprovalCaseRead, summary="An approval case")
async def get_case(case_id: uuid.UUID, user: CurrentUser, request: Request) -> ApprovalCaseRead:
    async with _uow(request) as uow:
        return ApprovalCaseRead.of(await _visible_case(uow, case_id, user))


@router.get(
    "/cases/{case_id}/history",
    response_model=list[RecordRead],
    summary="Every action on the case: who, for whom, under which rule, when",
)
async def history(case_id: uuid.UUID, user: CurrentUser, request: Request) -> list[RecordRead]:
    async with _uow(request) as uow:
        case = await _visible_case(uow, case_id, user)
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
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def run(uow: ApprovalsUnitOfWork) -> object:
        case = await handlers.add_signer(
            uow,
            _records(request),
            case_id=case_id,
            signer=body.signer,
            comment=body.comment,
            principal=user,
        )
        return ApprovalCaseRead.of(case).model_dump(mode="json")

    return await _command(
        request, user, key, ("add_signer", str(case_id), body.model_dump(mode="json")), run
    )


@router.post(
    "/cases/{case_id}/withdraw",
    response_model=ApprovalCaseRead,
    summary="The requester withdraws the request",
)
async def withdraw(
    case_id: uuid.UUID,
    body: WithdrawCreate,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def run(uow: ApprovalsUnitOfWork) -> object:
        case = await handlers.withdraw(
            uow, _records(request), case_id=case_id, comment=body.comment, principal=user
        )
        return ApprovalCaseRead.of(case).model_dump(mode="json")

    return await _command(request, user, key, ("withdraw", str(case_id)), run)


# ---- directory and delegations -----------------------------------------------------------


@router.put("/directory/people/{sub}", status_code=204, summary="Add or update a person")
async def put_person(sub: str, body: PersonPut, user: CurrentUser, request: Request) -> None:
    require_role(user, Role.PROCESS_ADMIN, action="maintaining the directory")
    unknown = set(body.roles) - {r.value for r in Role}
    if unknown:
        raise ProblemError(
            422,
            "Invalid request",
            f"roles: unknown role(s) {sorted(unknown)}",
            errors=[
                {"field": "roles", "rule": "known_role", "message": f"unknown: {sorted(unknown)}"}
            ],
        )
    async with _uow(request) as uow:
        await upsert_person(
            uow.session,
            sub=sub,
            name=body.name,
            department=body.department,
            roles=body.roles,
            manager=body.manager,
            now=datetime.now(UTC),
        )
        await uow.commit()


@router.get("/directory/people", summary="The directory")
async def list_people(user: CurrentUser, request: Request) -> list[dict[str, Any]]:
    async with _uow(request) as uow:
        rows = (
            await uow.session.execute(select(directory_people).order_by(directory_people.c.sub))
        ).all()
    return [dict(r._mapping) for r in rows]


@router.post(
    "/delegations",
    status_code=201,
    response_model=DelegationRead,
    summary="Let someone decide my tasks for a time window (they act for me)",
)
async def create_delegation(
    body: DelegationCreate, user: CurrentUser, request: Request, key: IdempotencyKey = None
) -> JSONResponse:
    if body.delegate == user.sub:
        raise ProblemError(
            422,
            "Invalid request",
            "delegate: you cannot delegate to yourself",
            errors=[{"field": "delegate", "rule": "not_self", "message": "must be someone else"}],
        )

    async def run(uow: ApprovalsUnitOfWork) -> object:
        row = {
            "id": uuid.uuid4(),
            "delegator": user.sub,
            "delegate": body.delegate,
            "starts": body.starts,
            "ends": body.ends,
            "reason": body.reason,
            "created_at": datetime.now(UTC),
            "revoked_at": None,
        }
        await uow.session.execute(insert(delegations).values(**row))
        return DelegationRead(**row).model_dump(mode="json")

    return await _command(
        request, user, key, ("delegate", body.model_dump(mode="json")), run, status_code=201
    )


@router.get(
    "/delegations", response_model=list[DelegationRead], summary="Delegations I gave or received"
)
async def list_delegations(user: CurrentUser, request: Request) -> list[DelegationRead]:
    async with _uow(request) as uow:
        rows = (
            await uow.session.execute(
                select(delegations).where(
                    (delegations.c.delegator == user.sub) | (delegations.c.delegate == user.sub)
                )
            )
        ).all()
    return [DelegationRead(**r._mapping) for r in rows]


@router.delete("/delegations/{delegation_id}", status_code=204, summary="Revoke my delegation")
async def revoke_delegation(delegation_id: uuid.UUID, user: CurrentUser, request: Request) -> None:
    async with _uow(request) as uow:
        result = await uow.session.execute(
            update(delegations)
            .where(
                delegations.c.id == delegation_id,
                delegations.c.delegator == user.sub,
                delegations.c.revoked_at.is_(None),
            )
            .values(revoked_at=datetime.now(UTC))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ProblemError(404, "Not found", f"no active delegation {delegation_id} of yours")
        await uow.commit()


# ---- time limits -------------------------------------------------------------------------


@router.post("/admin/sla-sweep", summary="Run the reminder/escalation sweep now")
async def sla_sweep(body: SweepCreate, user: CurrentUser, request: Request) -> dict[str, Any]:
    require_role(user, Role.PROCESS_ADMIN, action="running the SLA sweep")
    runtime = request.app.state.runtime
    at = datetime.now(UTC)
    if body.now is not None:
        if not runtime.settings.allow_clock_override:
            raise ProblemError(
                403,
                "Forbidden",
                "now: clock override is disabled here (APPROVALS_ALLOW_CLOCK_OVERRIDE)",
                rule="clock_override",
            )
        at = body.now
    raised = await sweep_all(request.app, at)
    return {"swept_at": at.isoformat(), "events": raised}


SYSTEM = Principal(sub="approvals-sla", department=None, roles=frozenset())


async def sweep_all(app: Any, at: datetime) -> int:
    runtime = app.state.runtime
    records = handlers.RecordStore(runtime.documents, runtime.settings.records_bucket)
    uow = ApprovalsUnitOfWork(runtime.session_factory, service=runtime.service)
    async with uow:
        ids = await uow.cases.open_case_ids()
    raised = 0
    for case_id in ids:
        async with ApprovalsUnitOfWork(runtime.session_factory, service=runtime.service) as uow:
            try:
                count = await handlers.sweep_case(uow, records, case_id, at, SYSTEM)
                await uow.commit()
                raised += count
            except ConcurrentUpdate:
                continue  # a decision won the race; the next sweep sees the new state
    return raised
