"""Use cases of contracts-svc: draft from the approved plan, edit (new versions, each rendered
and stored with its SHA-256), approval, signatures, amendments, custody, the filing handshake
with the archive, and expiry reminders. Commands are `handler(command, uow)`, consumers
`handler(envelope, payload, uow)`, queries `query(uow, ...)`; none of them commits (the bus or
the inbox does, once, with the outbox). The rules of the process (the mandatory clauses, the
approval policy) come from the process definition the contract runs under."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from contracts_svc.adapters.repository import ConcurrentUpdate
from contracts_svc.domain.model import (
    Contract,
    ContractWasSigned,
    ContractWasSubmitted,
    DocumentRef,
    ExpiryIsNear,
    FilingIsDue,
    LibraryClause,
    Status,
    Version,
    diff,
)
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
    SweepContract,
)
from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared import events as ev
from guakao_shared.commands import CommandBus
from guakao_shared.identity import Principal, Role, require_role, system_principal
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.process import ProcessDefinition, definition
from guakao_shared.refusals import NotFound, NotPermitted, PermanentError

log = logging.getLogger(__name__)
SERVICE_PRINCIPAL = system_principal("contracts-svc")
SYSTEM = ev.Actor.of(SERVICE_PRINCIPAL)
SEE_ALL = (Role.LEGAL, Role.CUSTODIAN, Role.PROCESS_ADMIN, Role.COMPLIANCE_OFFICER, Role.AUDITOR)
# where contracts sit in the process definition: the stage and the step that is approved
STAGE, DRAFT_STEP = "contract", "draft_contract"


class ContractNotFound(NotFound):
    def __init__(self, contract_id: uuid.UUID) -> None:
        super().__init__(f"contract {contract_id} does not exist or is not visible to you")


def can_see(principal: Principal, c: Contract) -> bool:
    if principal.has_any(*SEE_ALL) or principal.sub in (c.applicant, c.custodian):
        return True
    if principal.department == c.department:
        return True
    return any(principal.sub == p.signatory for v in c.versions for p in v.parties)


async def _visible(
    uow: ContractsUnitOfWork,
    contract_id: uuid.UUID,
    principal: Principal,
    *,
    for_update: bool = False,
) -> Contract:
    contract = await uow.contracts.get(contract_id, for_update=for_update)
    if contract is None or not can_see(principal, contract):
        raise ContractNotFound(contract_id)
    return contract


async def _render_new_versions(contract: Contract, uow: ContractsUnitOfWork) -> None:
    """Every version gets its readable document, stored with its SHA-256, as it is made."""
    for version in contract.versions:
        if version.document is None:
            ref = await uow.documents.put(
                f"{contract.id}/v{version.number}.md",
                uow.renderer.render(contract, version),
                content_type="text/markdown",
                filename=f"{contract.number}-v{version.number}.md",
                document_type="contract_draft",
            )
            contract.attach_document(
                version.number,
                DocumentRef(ref.bucket, ref.key, ref.version_id, ref.sha256, ref.size),
            )


def _process(version: int) -> ProcessDefinition:
    try:
        return definition(version)
    except KeyError as exc:  # retrying cannot make an unknown process version appear
        raise PermanentError(str(exc)) from None


# ---- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractSearch:
    application_id: uuid.UUID | None = None
    status: Status | None = None
    counterparty: str | None = None
    value_min: Decimal | None = None
    value_max: Decimal | None = None
    ends_before: date | None = None
    ends_after: date | None = None


async def search_contracts(
    uow: ContractsUnitOfWork, search: ContractSearch, *, principal: Principal, page: PageRequest
) -> Slice[Contract]:
    """The contracts matching `search` that the principal may see (all of them for SEE_ALL)."""
    visible = None if principal.has_any(*SEE_ALL) else (principal.sub, principal.department)
    return await uow.contracts.search(
        application_id=search.application_id,
        status=search.status.value if search.status else None,
        counterparty=search.counterparty,
        value_min=search.value_min,
        value_max=search.value_max,
        ends_before=search.ends_before,
        ends_after=search.ends_after,
        visible_to=visible,
        page=page,
    )


async def visible_contract(
    uow: ContractsUnitOfWork, contract_id: uuid.UUID, *, principal: Principal
) -> Contract:
    return await _visible(uow, contract_id, principal)


async def contract_version(
    uow: ContractsUnitOfWork, contract_id: uuid.UUID, number: int, *, principal: Principal
) -> Version:
    return (await _visible(uow, contract_id, principal)).version_of(number)


async def version_document(
    uow: ContractsUnitOfWork, contract_id: uuid.UUID, number: int, *, principal: Principal
) -> tuple[bytes, str]:
    """The rendered document of a version (what signers read) and its SHA-256."""
    doc = (await _visible(uow, contract_id, principal)).version_of(number).document
    if doc is None:
        raise NotFound(f"version {number} has no document yet")
    body = await uow.documents.read(
        ev.DocumentRef(
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
    return body, doc.sha256


async def version_diff(
    uow: ContractsUnitOfWork,
    contract_id: uuid.UUID,
    from_version: int,
    to_version: int,
    *,
    principal: Principal,
) -> dict[str, Any]:
    c = await _visible(uow, contract_id, principal)
    return {
        "from": from_version,
        "to": to_version,
        **diff(c.version_of(from_version), c.version_of(to_version)),
    }


async def library_entries(uow: ContractsUnitOfWork) -> list[LibraryClause]:
    return list(uow.library)


# ---- drafting (consumer of plan.approved) ---------------------------------------------------


async def draft_from_plan(
    envelope: ev.Envelope, payload: ev.PlanApproved, uow: ContractsUnitOfWork
) -> None:
    """Draft the contract of an approved plan version (once): the plan's proposed terms for the
    process definition's mandatory clauses, valued at the plan's budget total."""
    if await uow.contracts.exists_for_plan(payload.application_id, payload.plan.version):
        return
    process = _process(payload.process_version)
    value = payload.budget_total or payload.requested_funds  # older producers: no budget_total
    contract = Contract.draft_from_plan(
        application_id=payload.application_id,
        plan_version=payload.plan.version,
        title=payload.title,
        department=payload.department,
        applicant=payload.applicant,
        value=value.amount,
        currency=value.currency,
        start_date=payload.start_date,
        end_date=payload.end_date,
        proposed_terms=payload.plan.contract_terms,
        mandatory_clauses=tuple(process.mandatory_clauses),
        library=uow.library,
        now=uow.now(),
    )
    contract.process_version = payload.process_version
    await _render_new_versions(contract, uow)
    await uow.contracts.add(contract)
    log.info(
        "drafted contract %s from plan %s v%s",
        contract.number,
        payload.application_id,
        payload.plan.version,
    )


# ---- editing -------------------------------------------------------------------------------


async def edit_clause(cmd: EditClause, uow: ContractsUnitOfWork) -> Contract:
    c = await _visible(uow, cmd.contract_id, cmd.actor, for_update=True)
    c.edit_clause(
        cmd.clause_type,
        cmd.text,
        by=cmd.actor.sub,
        roles=cmd.actor.roles,
        library=uow.library,
        now=uow.now(),
    )
    await _render_new_versions(c, uow)
    await uow.contracts.save(c)
    return c


async def set_parties(cmd: SetParties, uow: ContractsUnitOfWork) -> Contract:
    c = await _visible(uow, cmd.contract_id, cmd.actor, for_update=True)
    c.set_parties(cmd.parties, by=cmd.actor.sub, roles=cmd.actor.roles, now=uow.now())
    await _render_new_versions(c, uow)
    await uow.contracts.save(c)
    return c


async def set_obligations(cmd: SetObligations, uow: ContractsUnitOfWork) -> Contract:
    c = await _visible(uow, cmd.contract_id, cmd.actor, for_update=True)
    c.set_obligations(cmd.obligations, by=cmd.actor.sub, roles=cmd.actor.roles, now=uow.now())
    await _render_new_versions(c, uow)
    await uow.contracts.save(c)
    return c


async def assign_custodian(cmd: AssignCustodian, uow: ContractsUnitOfWork) -> Contract:
    c = await _visible(uow, cmd.contract_id, cmd.actor, for_update=True)
    if not (cmd.actor.has_any(Role.LEGAL, Role.PROCESS_ADMIN) or cmd.actor.sub == c.custodian):
        raise NotPermitted(
            "assigning the custodian requires legal, process_admin or the current custodian",
            required_roles=["legal", "process_admin"],
        )
    c.assign_custodian(cmd.custodian, by=cmd.actor.sub, reason=cmd.reason, now=uow.now())
    await uow.contracts.save(c)
    return c


async def amend(cmd: Amend, uow: ContractsUnitOfWork) -> Contract:
    c = await _visible(uow, cmd.contract_id, cmd.actor, for_update=True)
    c.amend(by=cmd.actor.sub, roles=cmd.actor.roles, reason=cmd.reason, now=uow.now())
    await _render_new_versions(c, uow)
    await uow.contracts.save(c)
    return c


async def review(cmd: ReviewVersion, uow: ContractsUnitOfWork) -> Contract:
    c = await _visible(uow, cmd.contract_id, cmd.actor, for_update=True)
    c.review(
        version=cmd.version,
        by=cmd.actor.sub,
        roles=cmd.actor.roles,
        verdict=cmd.verdict,
        comment=cmd.comment,
        now=uow.now(),
    )
    await uow.contracts.save(c)
    return c


# ---- approval ------------------------------------------------------------------------------


async def submit(cmd: SubmitForApproval, uow: ContractsUnitOfWork) -> Contract:
    c = await _visible(uow, cmd.contract_id, cmd.actor, for_update=True)
    c.submit_for_approval(by=cmd.actor.sub, request_id=uuid.uuid4())
    await uow.contracts.save(c)
    _publish(uow, c, ev.Actor.of(cmd.actor))
    return c


async def record_approval_outcome(
    envelope: ev.Envelope, payload: ev.ApprovalDecided, uow: ContractsUnitOfWork
) -> None:
    if payload.subject_type != "contract":
        return
    c = await uow.contracts.get(payload.subject_id, for_update=True)
    if c is None:
        raise PermanentError(f"approval outcome for unknown contract {payload.subject_id}")
    if c.record_outcome(
        request_id=payload.request_id, approved=isinstance(payload, ev.ApprovalGranted)
    ):
        await uow.contracts.save(c)


# ---- signing -------------------------------------------------------------------------------


async def sign(cmd: Sign, uow: ContractsUnitOfWork) -> Contract:
    c = await _visible(uow, cmd.contract_id, cmd.actor, for_update=True)
    evidence = uow.signatures.sign(
        contract_id=str(c.id),
        version=cmd.version,
        party=cmd.party,
        signer=cmd.actor.sub,
        document_sha256=cmd.document_sha256,
    )
    # what the signer signs as: the party's authorised signatory, with the roles they hold
    role = "authorised signatory" + (
        f" ({', '.join(sorted(cmd.actor.roles))})" if cmd.actor.roles else ""
    )
    c.sign(
        party=cmd.party,
        version=cmd.version,
        document_sha256=cmd.document_sha256,
        signer=cmd.actor.sub,
        role=role,
        method=evidence.method,
        evidence=evidence.evidence,
        now=uow.now(),
    )
    await uow.contracts.save(c)
    await _publish_signed(uow, c, ev.Actor.of(cmd.actor))
    return c


def _refs(c: Contract, version: int) -> ev.DocumentRef:
    d = c.version_of(version).document
    assert d is not None
    return ev.DocumentRef(
        bucket=d.bucket,
        key=d.key,
        version_id=d.version_id,
        sha256=d.sha256,
        size=d.size,
        content_type="text/markdown",
        filename=f"{c.number}-v{version}.md",
        document_type="signed_contract",
    )


async def _publish_signed(uow: ContractsUnitOfWork, c: Contract, actor: ev.Actor) -> None:
    for event in list(c.events):
        if not isinstance(event, ContractWasSigned):
            continue
        v = c.version_of(event.version)
        signatures = [s for s in c.signatures if s.version == event.version]
        evidence = json.dumps(
            [{**asdict(s), "signed_at": s.signed_at.isoformat()} for s in signatures],
            indent=2,
            sort_keys=True,
        ).encode()
        evidence_ref = await uow.documents.put(
            f"{c.id}/v{event.version}-signatures.json",
            evidence,
            content_type="application/json",
            filename=f"{c.number}-v{event.version}-signatures.json",
            document_type="signature_evidence",
        )
        documents = [_refs(c, event.version), evidence_ref]
        c.filing_documents = [d.model_dump(mode="json") for d in documents]
        uow.emit(
            ev.ContractSigned(
                contract_id=c.id,
                application_id=c.application_id,
                contract_number=c.number,
                version=event.version,
                title=c.title,
                value=ev.Money(amount=c.value, currency=c.currency),
                start_date=c.start_date,
                end_date=c.end_date,
                parties=[
                    ev.Party(name=p.name, kind=p.kind, signatory=p.signatory) for p in v.parties
                ],
                custodian=c.custodian or "unassigned",
                documents=documents,
                signatures=[
                    ev.SignatureRecord(
                        signer=s.signer,
                        role=s.role,
                        organisation=s.organisation,
                        signed_at=s.signed_at,
                        method=s.method,
                        document_sha256=s.document_sha256,
                        evidence=s.evidence,
                    )
                    for s in signatures
                ],
                obligations=[
                    ev.Obligation(
                        kind=o.kind,
                        description=o.description,
                        due_date=o.due_date,
                        owner=o.owner,
                        amount=ev.Money(amount=o.amount, currency=o.currency or c.currency)
                        if o.amount is not None
                        else None,
                    )
                    for o in v.obligations
                ],
                amendment_of=v.amendment_of,
            ),
            case_id=c.application_id,
            actor=actor,
        )
    c.events = [e for e in c.events if not isinstance(e, ContractWasSigned)]
    await uow.contracts.save(c)


# ---- filing answers (consumer of the archive) ----------------------------------------------


async def record_filed(
    envelope: ev.Envelope, payload: ev.RecordFiled, uow: ContractsUnitOfWork
) -> None:
    if payload.source_type != "contract":
        return
    c = await uow.contracts.get(payload.source_id, for_update=True)
    if c is not None and c.filed(version=payload.source_version, record_id=payload.record_id):
        await uow.contracts.save(c)


async def record_filing_failed(
    envelope: ev.Envelope, payload: ev.RecordFilingFailed, uow: ContractsUnitOfWork
) -> None:
    if payload.source_type != "contract":
        return
    c = await uow.contracts.get(payload.source_id, for_update=True)
    if c is not None and c.filing_failed(
        version=payload.source_version,
        reason=payload.reason,
        now=uow.now(),
        retryable=payload.retryable,
    ):
        await uow.contracts.save(c)


# ---- the periodic sweep: filing retries and expiry reminders -------------------------------


async def signed_contracts(uow: ContractsUnitOfWork) -> list[uuid.UUID]:
    return await uow.contracts.ids(status=Status.SIGNED)


async def sweep_contract(cmd: SweepContract, uow: ContractsUnitOfWork) -> int:
    """One signed contract as of `cmd.now`: a failed filing due again is requested again, and
    the nearest expiry reminder threshold passed is announced. Returns the events raised."""
    c = await uow.contracts.get(cmd.contract_id, for_update=True)
    if c is None or c.status != Status.SIGNED:
        return 0
    c.retry_filing(cmd.now)
    c.expiry_reminders(cmd.now.date(), uow.reminder_days)
    raised = len(c.events)
    if raised:
        await uow.contracts.save(c)
        _publish(uow, c, SYSTEM)
    return raised


async def sweep(bus: CommandBus[ContractsUnitOfWork], at: datetime) -> int:
    """The periodic job: every signed contract, each in its own transaction (one that changed
    meanwhile is left to the next run). Safe to run twice: nothing is raised twice."""
    raised = 0
    for contract_id in await bus.query(signed_contracts):
        try:
            raised += await bus.handle(
                SweepContract(actor=SERVICE_PRINCIPAL, contract_id=contract_id, now=at),
                sweep_contract,
            )
        except ConcurrentUpdate:
            continue
    return raised


async def run_sweep(cmd: RunSweep, bus: CommandBus[ContractsUnitOfWork]) -> int:
    """The sweep run now by a process admin (drills and tests, "as of" `cmd.now`)."""
    require_role(cmd.actor, Role.PROCESS_ADMIN, action="running the contracts sweep")
    return await sweep(bus, cmd.now)


def _publish(uow: ContractsUnitOfWork, c: Contract, actor: ev.Actor) -> None:
    for event in c.events:
        if isinstance(event, ContractWasSubmitted):
            assert c.approval_request_id is not None
            uow.emit(
                ev.ApprovalRequested(
                    request_id=c.approval_request_id,
                    subject_type="contract",
                    subject_id=c.id,
                    policy=definition(c.process_version).approval_policy(STAGE, DRAFT_STEP),
                    title=f"{c.number}: {c.title}",
                    requester=c.applicant,
                    department=c.department,
                    amount=ev.Money(amount=c.value, currency=c.currency),
                    process_version=c.process_version,
                ),
                case_id=c.application_id,
                actor=actor,
            )
        elif isinstance(event, FilingIsDue):
            refs = [ev.DocumentRef.model_validate(d) for d in c.filing_documents]
            uow.emit(
                ev.ContractFilingRequested(
                    contract_id=c.id,
                    application_id=c.application_id,
                    version=event.version,
                    custodian=c.custodian or "unassigned",
                    documents=refs,
                    attempt=event.attempt,
                ),
                case_id=c.application_id,
                actor=actor,
            )
        elif isinstance(event, ExpiryIsNear):
            uow.emit(
                ev.ContractExpiring(
                    contract_id=c.id,
                    contract_number=c.number,
                    end_date=c.end_date,
                    days_left=event.days_left,
                    custodian=c.custodian or "unassigned",
                ),
                case_id=c.application_id,
                actor=actor,
            )
    c.events.clear()
