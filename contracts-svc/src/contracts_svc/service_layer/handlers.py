"""Use cases of contracts-svc: draft from the approved plan, edit (new versions, each rendered
and stored with its SHA-256), approval, signatures, amendments, custody, the filing handshake
with the archive, and expiry reminders."""

from __future__ import annotations

import io
import json
import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from contracts_svc.adapters.esign import SignatureProvider
from contracts_svc.adapters.library import clause_library
from contracts_svc.adapters.render import render
from contracts_svc.domain.model import (
    Contract,
    ContractWasSigned,
    ContractWasSubmitted,
    DocumentRef,
    ExpiryIsNear,
    FilingIsDue,
    Obligation,
    Party,
    Status,
)
from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared import events as ev
from guakao_shared.auth import Principal, Role
from guakao_shared.refusals import PermanentError
from guakao_shared.objectstore import S3DocumentStore

log = logging.getLogger(__name__)
SYSTEM = ev.Actor(sub="contracts-svc")
SEE_ALL = (Role.LEGAL, Role.CUSTODIAN, Role.PROCESS_ADMIN, Role.COMPLIANCE_OFFICER, Role.AUDITOR)


class ContractNotFound(Exception):
    def __init__(self, contract_id: uuid.UUID) -> None:
        super().__init__(f"contract {contract_id} does not exist or is not visible to you")


@dataclass(frozen=True)
class Documents:
    store: S3DocumentStore
    bucket: str

    async def put(
        self, key: str, body: bytes, *, content_type: str, filename: str, document_type: str
    ) -> ev.DocumentRef:
        return await self.store.put(
            bucket=self.bucket,
            key=key,
            stream=io.BytesIO(body),
            max_bytes=len(body),
            content_type=content_type,
            filename=filename,
            document_type=document_type,
        )


def now() -> datetime:
    return datetime.now(UTC)


def can_see(principal: Principal, c: Contract) -> bool:
    if principal.has_any(*SEE_ALL) or principal.sub in (c.applicant, c.custodian):
        return True
    if principal.department == c.department:
        return True
    return any(principal.sub == p.signatory for v in c.versions for p in v.parties)


async def get_visible(
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


async def _render_new_versions(contract: Contract, docs: Documents) -> None:
    """Every version gets its readable document, stored with its SHA-256, as it is made."""
    for version in contract.versions:
        if version.document is None:
            body = render(contract, version)
            ref = await docs.put(
                f"{contract.id}/v{version.number}.md",
                body,
                content_type="text/markdown",
                filename=f"{contract.number}-v{version.number}.md",
                document_type="contract_draft",
            )
            contract.attach_document(
                version.number,
                DocumentRef(ref.bucket, ref.key, ref.version_id, ref.sha256, ref.size),
            )


# ---- drafting (consumer of plan.approved) ---------------------------------------------------


async def draft_from_plan(
    envelope: ev.Envelope, payload: ev.PlanApproved, uow: ContractsUnitOfWork, docs: Documents
) -> None:
    if await uow.contracts.exists_for_plan(payload.application_id, payload.plan.version):
        return
    budget = payload.plan.finance.get("budget") or []
    if budget:
        value = sum((Decimal(str(line.get("amount", 0))) for line in budget), Decimal(0))
        currency = budget[0].get("currency", payload.requested_funds.currency)
    else:
        value, currency = payload.requested_funds.amount, payload.requested_funds.currency
    contract = Contract.draft_from_plan(
        application_id=payload.application_id,
        plan_version=payload.plan.version,
        title=payload.title,
        department=payload.department,
        applicant=payload.applicant,
        value=value,
        currency=currency,
        start_date=payload.start_date,
        end_date=payload.end_date,
        proposed_terms=payload.plan.contract_terms,
        library=clause_library(),
        now=now(),
    )
    contract.process_version = payload.process_version
    await _render_new_versions(contract, docs)
    await uow.contracts.add(contract)
    log.info(
        "drafted contract %s from plan %s v%s",
        contract.number,
        payload.application_id,
        payload.plan.version,
    )


# ---- editing -------------------------------------------------------------------------------


async def edit_clause(
    uow: ContractsUnitOfWork,
    docs: Documents,
    *,
    contract_id: uuid.UUID,
    clause_type: str,
    text: str,
    principal: Principal,
) -> Contract:
    c = await get_visible(uow, contract_id, principal, for_update=True)
    c.edit_clause(
        clause_type,
        text,
        by=principal.sub,
        roles=principal.roles,
        library=clause_library(),
        now=now(),
    )
    await _render_new_versions(c, docs)
    await uow.contracts.save(c)
    return c


async def set_parties(
    uow: ContractsUnitOfWork,
    docs: Documents,
    *,
    contract_id: uuid.UUID,
    parties: list[dict[str, str]],
    principal: Principal,
) -> Contract:
    c = await get_visible(uow, contract_id, principal, for_update=True)
    c.set_parties(
        tuple(Party(**p) for p in parties), by=principal.sub, roles=principal.roles, now=now()
    )
    await _render_new_versions(c, docs)
    await uow.contracts.save(c)
    return c


async def set_obligations(
    uow: ContractsUnitOfWork,
    docs: Documents,
    *,
    contract_id: uuid.UUID,
    obligations: list[dict[str, Any]],
    principal: Principal,
) -> Contract:
    c = await get_visible(uow, contract_id, principal, for_update=True)
    c.set_obligations(
        tuple(Obligation(**o) for o in obligations),
        by=principal.sub,
        roles=principal.roles,
        now=now(),
    )
    await _render_new_versions(c, docs)
    await uow.contracts.save(c)
    return c


async def assign_custodian(
    uow: ContractsUnitOfWork,
    *,
    contract_id: uuid.UUID,
    custodian: str,
    reason: str | None,
    principal: Principal,
) -> Contract:
    c = await get_visible(uow, contract_id, principal, for_update=True)
    if not (principal.has_any(Role.LEGAL, Role.PROCESS_ADMIN) or principal.sub == c.custodian):
        from contracts_svc.domain.model import NotAllowed

        raise NotAllowed(
            "assigning the custodian requires legal, process_admin or the current custodian",
            required_roles=["legal", "process_admin"],
        )
    c.assign_custodian(custodian, by=principal.sub, reason=reason, now=now())
    await uow.contracts.save(c)
    return c


async def amend(
    uow: ContractsUnitOfWork,
    docs: Documents,
    *,
    contract_id: uuid.UUID,
    reason: str,
    principal: Principal,
) -> Contract:
    c = await get_visible(uow, contract_id, principal, for_update=True)
    c.amend(by=principal.sub, roles=principal.roles, reason=reason, now=now())
    await _render_new_versions(c, docs)
    await uow.contracts.save(c)
    return c


async def review(
    uow: ContractsUnitOfWork,
    *,
    contract_id: uuid.UUID,
    version: int,
    verdict: str,
    comment: str | None,
    principal: Principal,
) -> Contract:
    c = await get_visible(uow, contract_id, principal, for_update=True)
    c.review(
        version=version,
        by=principal.sub,
        roles=principal.roles,
        verdict=verdict,
        comment=comment,
        now=now(),
    )
    await uow.contracts.save(c)
    return c


# ---- approval ------------------------------------------------------------------------------


async def submit(
    uow: ContractsUnitOfWork, *, contract_id: uuid.UUID, principal: Principal
) -> Contract:
    c = await get_visible(uow, contract_id, principal, for_update=True)
    c.submit_for_approval(by=principal.sub, request_id=uuid.uuid4())
    await uow.contracts.save(c)
    _publish(uow, c, principal.as_actor())
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


async def sign(
    uow: ContractsUnitOfWork,
    docs: Documents,
    provider: SignatureProvider,
    *,
    contract_id: uuid.UUID,
    party: str,
    version: int,
    document_sha256: str,
    principal: Principal,
) -> Contract:
    c = await get_visible(uow, contract_id, principal, for_update=True)
    evidence = provider.sign(
        contract_id=str(c.id),
        version=version,
        party=party,
        signer=principal.sub,
        document_sha256=document_sha256,
    )
    # what the signer signs as: the party's authorised signatory, with the roles they hold
    role = "authorised signatory" + (
        f" ({', '.join(sorted(principal.roles))})" if principal.roles else ""
    )
    c.sign(
        party=party,
        version=version,
        document_sha256=document_sha256,
        signer=principal.sub,
        role=role,
        method=evidence.method,
        evidence=evidence.evidence,
        now=now(),
    )
    await uow.contracts.save(c)
    await _publish_signed(uow, c, docs, principal.as_actor())
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


async def _publish_signed(
    uow: ContractsUnitOfWork, c: Contract, docs: Documents, actor: ev.Actor
) -> None:
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
        evidence_ref = await docs.put(
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
        now=now(),
        retryable=payload.retryable,
    ):
        await uow.contracts.save(c)


# ---- the periodic sweep: filing retries and expiry reminders -------------------------------


async def sweep_contract(
    uow: ContractsUnitOfWork, contract_id: uuid.UUID, at: datetime, reminder_days: tuple[int, ...]
) -> int:
    c = await uow.contracts.get(contract_id, for_update=True)
    if c is None or c.status != Status.SIGNED:
        return 0
    c.retry_filing(at)
    c.expiry_reminders(at.date(), reminder_days)
    raised = len(c.events)
    if raised:
        await uow.contracts.save(c)
        _publish(uow, c, SYSTEM)
    return raised


def _publish(uow: ContractsUnitOfWork, c: Contract, actor: ev.Actor) -> None:
    for event in c.events:
        if isinstance(event, ContractWasSubmitted):
            assert c.approval_request_id is not None
            uow.emit(
                ev.ApprovalRequested(
                    request_id=c.approval_request_id,
                    subject_type="contract",
                    subject_id=c.id,
                    policy="contract.approval",
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
