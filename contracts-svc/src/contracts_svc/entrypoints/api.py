"""HTTP API of contracts-svc under /v1/contracts. Routes parse, build one command (or name one
query), run it through the bus and map the result; the rules live in the service layer."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from contracts_svc.domain.model import Status
from contracts_svc.entrypoints.deps import Bus
from contracts_svc.entrypoints.schemas import (
    AmendmentCreate,
    ClausePut,
    ClauseType,
    ContractRead,
    CustodianPut,
    LibraryClauseRead,
    ObligationsPut,
    PartiesPut,
    ReviewCreate,
    SignatureCreate,
    SweepCreate,
    VersionRead,
)
from contracts_svc.service_layer import handlers
from contracts_svc.service_layer.commands import (
    Amend,
    AssignCustodian,
    EditClause,
    ReviewVersion,
    RunSweep,
    SetObligations,
    SetParties,
    Sign,
    SubmitForApproval,
)
from guakao_shared.api import IdempotencyKey, Page, Paging, RuntimeClock, command_response
from guakao_shared.auth import CurrentUser

router = APIRouter(prefix="/v1", tags=["contracts"])


@router.get(
    "/clause-library",
    response_model=list[LibraryClauseRead],
    summary="Approved clause wording by type and variant",
)
async def library(user: CurrentUser, bus: Bus) -> list[LibraryClauseRead]:
    return [LibraryClauseRead.of(e) for e in await bus.query(handlers.library_entries)]


@router.get("/contracts", response_model=Page[ContractRead], summary="Search contracts")
async def list_contracts(
    user: CurrentUser,
    bus: Bus,
    paging: Paging,
    application_id: uuid.UUID | None = None,
    status: Status | None = None,
    counterparty: Annotated[str | None, Query(max_length=200)] = None,
    value_min: Decimal | None = None,
    value_max: Decimal | None = None,
    ends_before: date | None = None,
    ends_after: date | None = None,
) -> Page[ContractRead]:
    search = handlers.ContractSearch(
        application_id=application_id,
        status=status,
        counterparty=counterparty,
        value_min=value_min,
        value_max=value_max,
        ends_before=ends_before,
        ends_after=ends_after,
    )
    found = await bus.query(handlers.search_contracts, search, principal=user, page=paging)
    return Page.of(found.map(ContractRead.of))


@router.get("/contracts/{contract_id}", response_model=ContractRead, summary="A contract")
async def get_contract(contract_id: uuid.UUID, user: CurrentUser, bus: Bus) -> ContractRead:
    return ContractRead.of(await bus.query(handlers.visible_contract, contract_id, principal=user))


@router.get(
    "/contracts/{contract_id}/versions/{number}",
    response_model=VersionRead,
    summary="One version, with its document reference and SHA-256",
)
async def get_version(
    contract_id: uuid.UUID, number: int, user: CurrentUser, bus: Bus
) -> VersionRead:
    return VersionRead.of(
        await bus.query(handlers.contract_version, contract_id, number, principal=user)
    )


@router.get(
    "/contracts/{contract_id}/versions/{number}/document",
    summary="The rendered document of a version (what signers read)",
)
async def get_document(
    contract_id: uuid.UUID, number: int, user: CurrentUser, bus: Bus
) -> Response:
    body, sha256 = await bus.query(handlers.version_document, contract_id, number, principal=user)
    return Response(
        body, media_type="text/markdown; charset=utf-8", headers={"X-Content-SHA256": sha256}
    )


@router.get("/contracts/{contract_id}/diff", summary="Which clauses changed between versions")
async def version_diff(
    contract_id: uuid.UUID,
    user: CurrentUser,
    bus: Bus,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> dict[str, Any]:
    return await bus.query(
        handlers.version_diff, contract_id, from_version, to_version, principal=user
    )


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
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = EditClause(
        actor=user, contract_id=contract_id, clause_type=clause_type, text=body.text
    )
    result = await bus.run(
        command, handlers.edit_clause, present=ContractRead.of, idempotency_key=key
    )
    return command_response(result)


@router.put(
    "/contracts/{contract_id}/parties",
    response_model=ContractRead,
    summary="Set the parties and their signatories (legal): a new version",
)
async def put_parties(
    contract_id: uuid.UUID,
    body: PartiesPut,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = SetParties(actor=user, contract_id=contract_id, parties=body.domain())
    result = await bus.run(
        command, handlers.set_parties, present=ContractRead.of, idempotency_key=key
    )
    return command_response(result)


@router.put(
    "/contracts/{contract_id}/obligations",
    response_model=ContractRead,
    summary="Set deliverables, payment milestones, reporting duties (legal)",
)
async def put_obligations(
    contract_id: uuid.UUID,
    body: ObligationsPut,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = SetObligations(actor=user, contract_id=contract_id, obligations=body.domain())
    result = await bus.run(
        command, handlers.set_obligations, present=ContractRead.of, idempotency_key=key
    )
    return command_response(result)


@router.put(
    "/contracts/{contract_id}/custodian",
    response_model=ContractRead,
    summary="Assign or transfer custody (recorded)",
)
async def put_custodian(
    contract_id: uuid.UUID,
    body: CustodianPut,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = AssignCustodian(
        actor=user, contract_id=contract_id, custodian=body.custodian, reason=body.reason
    )
    result = await bus.run(
        command, handlers.assign_custodian, present=ContractRead.of, idempotency_key=key
    )
    return command_response(result)


@router.post(
    "/contracts/{contract_id}/reviews",
    response_model=ContractRead,
    summary="The project's side reviews a version (approve or request changes)",
)
async def post_review(
    contract_id: uuid.UUID,
    body: ReviewCreate,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = ReviewVersion(
        actor=user,
        contract_id=contract_id,
        version=body.version,
        verdict=body.verdict,
        comment=body.comment,
    )
    result = await bus.run(command, handlers.review, present=ContractRead.of, idempotency_key=key)
    return command_response(result)


@router.post(
    "/contracts/{contract_id}/submit",
    response_model=ContractRead,
    summary="Send to approval (refused while a mandatory clause is missing)",
)
async def submit(
    contract_id: uuid.UUID, user: CurrentUser, bus: Bus, key: IdempotencyKey = None
) -> JSONResponse:
    command = SubmitForApproval(actor=user, contract_id=contract_id)
    result = await bus.run(command, handlers.submit, present=ContractRead.of, idempotency_key=key)
    return command_response(result)


@router.post(
    "/contracts/{contract_id}/signatures",
    response_model=ContractRead,
    summary="Sign the approved version for a party (its signatory)",
)
async def sign(
    contract_id: uuid.UUID,
    body: SignatureCreate,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = Sign(
        actor=user,
        contract_id=contract_id,
        party=body.party,
        version=body.version,
        document_sha256=body.document_sha256,
    )
    result = await bus.run(command, handlers.sign, present=ContractRead.of, idempotency_key=key)
    return command_response(result)


@router.post(
    "/contracts/{contract_id}/amendments",
    response_model=ContractRead,
    summary="Amend a signed contract: a new version, approved and signed again",
)
async def amend(
    contract_id: uuid.UUID,
    body: AmendmentCreate,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = Amend(actor=user, contract_id=contract_id, reason=body.reason)
    result = await bus.run(command, handlers.amend, present=ContractRead.of, idempotency_key=key)
    return command_response(result)


@router.post("/admin/sweep", summary="Run filing retries and expiry reminders now")
async def sweep(
    body: SweepCreate, user: CurrentUser, bus: Bus, clock: RuntimeClock
) -> dict[str, Any]:
    at = clock.now(body.now)
    raised = await handlers.run_sweep(RunSweep(actor=user, now=at), bus)
    return {"swept_at": at.isoformat(), "events": raised}
