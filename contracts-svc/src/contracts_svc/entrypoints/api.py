"""HTTP API of contracts-svc under /v1/contracts."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from contracts_svc.adapters.library import clause_library
from contracts_svc.adapters.repository import ConcurrentUpdate
from contracts_svc.domain.model import Status, diff
from contracts_svc.entrypoints.schemas import (
    AmendmentCreate,
    ClausePut,
    ClauseType,
    ContractRead,
    CustodianPut,
    ObligationsPut,
    PartiesPut,
    ReviewCreate,
    SignatureCreate,
    SweepCreate,
    VersionRead,
)
from contracts_svc.service_layer import handlers
from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared.api import IdempotencyKey, command_response
from guakao_shared.auth import CurrentUser, Principal, Role, require_role
from guakao_shared.commands import run_command
from guakao_shared.problems import ProblemError

router = APIRouter(prefix="/v1", tags=["contracts"])


def _uow(request: Request) -> ContractsUnitOfWork:
    runtime = request.app.state.runtime
    return ContractsUnitOfWork(runtime.session_factory, service=runtime.service)


def _docs(request: Request) -> handlers.Documents:
    runtime = request.app.state.runtime
    return handlers.Documents(runtime.documents, runtime.settings.documents_bucket)


async def _command(
    request: Request,
    user: Principal,
    key: str | None,
    what: tuple[Any, ...],
    run: Callable[[ContractsUnitOfWork], Awaitable[Any]],
) -> JSONResponse:
    async def execute(uow: ContractsUnitOfWork) -> object:
        return ContractRead.of(await run(uow)).model_dump(mode="json")

    result = await run_command(
        _uow(request), execute, principal=user.sub, idempotency_key=key, request=what
    )
    return command_response(result)


@router.get("/clause-library", summary="Approved clause wording by type and variant")
async def library(user: CurrentUser) -> list[dict[str, str]]:
    return [e.__dict__ for e in clause_library()]


@router.get("/contracts", response_model=list[ContractRead], summary="Search contracts")
async def list_contracts(
    user: CurrentUser,
    request: Request,
    application_id: uuid.UUID | None = None,
    status: Status | None = None,
    counterparty: Annotated[str | None, Query(max_length=200)] = None,
    value_min: Decimal | None = None,
    value_max: Decimal | None = None,
    ends_before: date | None = None,
    ends_after: date | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ContractRead]:
    visible = None if user.has_any(*handlers.SEE_ALL) else (user.sub, user.department)
    async with _uow(request) as uow:
        found = await uow.contracts.search(
            application_id=application_id,
            status=status.value if status else None,
            counterparty=counterparty,
            value_min=value_min,
            value_max=value_max,
            ends_before=ends_before,
            ends_after=ends_after,
            visible_to=visible,
            limit=limit,
            offset=offset,
        )
    return [ContractRead.of(c) for c in found]


@router.get("/contracts/{contract_id}", response_model=ContractRead, summary="A contract")
async def get_contract(contract_id: uuid.UUID, user: CurrentUser, request: Request) -> ContractRead:
    async with _uow(request) as uow:
        return ContractRead.of(await handlers.get_visible(uow, contract_id, user))


@router.get(
    "/contracts/{contract_id}/versions/{number}",
    response_model=VersionRead,
    summary="One version, with its document reference and SHA-256",
)
async def get_version(
    contract_id: uuid.UUID, number: int, user: CurrentUser, request: Request
) -> VersionRead:
    async with _uow(request) as uow:
        c = await handlers.get_visible(uow, contract_id, user)
    return VersionRead.of(c.version_of(number))


@router.get(
    "/contracts/{contract_id}/versions/{number}/document",
    summary="The rendered document of a version (what signers read)",
)
async def get_document(
    contract_id: uuid.UUID, number: int, user: CurrentUser, request: Request
) -> Response:
    async with _uow(request) as uow:
        c = await handlers.get_visible(uow, contract_id, user)
    doc = c.version_of(number).document
    if doc is None:
        raise ProblemError(404, "Not found", f"version {number} has no document yet")
    from guakao_shared.events import DocumentRef

    body = await request.app.state.runtime.documents.read(
        DocumentRef(
            bucket=doc.bucket,
            key=doc.key,
            version_id=doc.version_id,
            sha256=doc.sha256,
            size=doc.size,
            content_type="text/markdown",
            filename="contract.md",
            document_type="contract_draft",
        )
    )
    return Response(
        body, media_type="text/markdown; charset=utf-8", headers={"X-Content-SHA256": doc.sha256}
    )


@router.get("/contracts/{contract_id}/diff", summary="Which clauses changed between versions")
async def version_diff(
    contract_id: uuid.UUID,
    user: CurrentUser,
    request: Request,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> dict[str, Any]:
    async with _uow(request) as uow:
        c = await handlers.get_visible(uow, contract_id, user)
    return {
        "from": from_version,
        "to": to_version,
        **diff(c.version_of(from_version), c.version_of(to_version)),
    }


@router.put(
    "/contracts/{contract_id}/clauses/{clause_type}",
    response_model=ContractRead,
    summary="Edit a clause (legal): a new version",
)
async def put_clause(
    contract_id: uuid.UUID,
    clause_type: ClauseType,
    body: ClausePut,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return await _command(
        request,
        user,
        key,
        ("clause", str(contract_id), clause_type, body.text),
        lambda uow: handlers.edit_clause(
            uow,
            _docs(request),
            contract_id=contract_id,
            clause_type=clause_type,
            text=body.text,
            principal=user,
        ),
    )


@router.put(
    "/contracts/{contract_id}/parties",
    response_model=ContractRead,
    summary="Set the parties and their signatories (legal): a new version",
)
async def put_parties(
    contract_id: uuid.UUID,
    body: PartiesPut,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    parties = [p.model_dump() for p in body.parties]
    return await _command(
        request,
        user,
        key,
        ("parties", str(contract_id), parties),
        lambda uow: handlers.set_parties(
            uow, _docs(request), contract_id=contract_id, parties=parties, principal=user
        ),
    )


@router.put(
    "/contracts/{contract_id}/obligations",
    response_model=ContractRead,
    summary="Set deliverables, payment milestones, reporting duties (legal)",
)
async def put_obligations(
    contract_id: uuid.UUID,
    body: ObligationsPut,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    obligations = [o.model_dump() for o in body.obligations]
    return await _command(
        request,
        user,
        key,
        ("obligations", str(contract_id), body.model_dump(mode="json")),
        lambda uow: handlers.set_obligations(
            uow, _docs(request), contract_id=contract_id, obligations=obligations, principal=user
        ),
    )


@router.put(
    "/contracts/{contract_id}/custodian",
    response_model=ContractRead,
    summary="Assign or transfer custody (recorded)",
)
async def put_custodian(
    contract_id: uuid.UUID,
    body: CustodianPut,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return await _command(
        request,
        user,
        key,
        ("custodian", str(contract_id), body.custodian),
        lambda uow: handlers.assign_custodian(
            uow,
            contract_id=contract_id,
            custodian=body.custodian,
            reason=body.reason,
            principal=user,
        ),
    )


@router.post(
    "/contracts/{contract_id}/reviews",
    response_model=ContractRead,
    summary="The project's side reviews a version (approve or request changes)",
)
async def post_review(
    contract_id: uuid.UUID,
    body: ReviewCreate,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return await _command(
        request,
        user,
        key,
        ("review", str(contract_id), body.model_dump()),
        lambda uow: handlers.review(
            uow,
            contract_id=contract_id,
            version=body.version,
            verdict=body.verdict,
            comment=body.comment,
            principal=user,
        ),
    )


@router.post(
    "/contracts/{contract_id}/submit",
    response_model=ContractRead,
    summary="Send to approval (refused while a mandatory clause is missing)",
)
async def submit(
    contract_id: uuid.UUID, user: CurrentUser, request: Request, key: IdempotencyKey = None
) -> JSONResponse:
    return await _command(
        request,
        user,
        key,
        ("submit", str(contract_id)),
        lambda uow: handlers.submit(uow, contract_id=contract_id, principal=user),
    )


@router.post(
    "/contracts/{contract_id}/signatures",
    response_model=ContractRead,
    summary="Sign the approved version for a party (its signatory)",
)
async def sign(
    contract_id: uuid.UUID,
    body: SignatureCreate,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    provider = request.app.state.signature_provider
    return await _command(
        request,
        user,
        key,
        ("sign", str(contract_id), body.model_dump()),
        lambda uow: handlers.sign(
            uow,
            _docs(request),
            provider,
            contract_id=contract_id,
            party=body.party,
            version=body.version,
            document_sha256=body.document_sha256,
            principal=user,
        ),
    )


@router.post(
    "/contracts/{contract_id}/amendments",
    response_model=ContractRead,
    summary="Amend a signed contract: a new version, approved and signed again",
)
async def amend(
    contract_id: uuid.UUID,
    body: AmendmentCreate,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return await _command(
        request,
        user,
        key,
        ("amend", str(contract_id), body.reason),
        lambda uow: handlers.amend(
            uow, _docs(request), contract_id=contract_id, reason=body.reason, principal=user
        ),
    )


@router.post("/admin/sweep", summary="Run filing retries and expiry reminders now")
async def sweep(body: SweepCreate, user: CurrentUser, request: Request) -> dict[str, Any]:
    from datetime import UTC, datetime

    require_role(user, Role.PROCESS_ADMIN, action="running the contracts sweep")
    settings = request.app.state.runtime.settings
    at = datetime.now(UTC)
    if body.now is not None:
        if not settings.allow_clock_override:
            raise ProblemError(
                403,
                "Forbidden",
                "now: clock override is disabled here (CONTRACTS_ALLOW_CLOCK_OVERRIDE)",
                rule="clock_override",
            )
        at = body.now
    return {"swept_at": at.isoformat(), "events": await sweep_all(request.app, at)}


async def sweep_all(app: Any, at: Any) -> int:
    runtime = app.state.runtime
    async with ContractsUnitOfWork(runtime.session_factory, service=runtime.service) as uow:
        ids = await uow.contracts.ids(status=Status.SIGNED)
    raised = 0
    for contract_id in ids:
        async with ContractsUnitOfWork(runtime.session_factory, service=runtime.service) as uow:
            try:
                raised += await handlers.sweep_contract(
                    uow, contract_id, at, tuple(runtime.settings.expiry_reminder_days)
                )
                await uow.commit()
            except ConcurrentUpdate:
                continue
    return raised
