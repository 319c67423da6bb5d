"""Builders for contracts-svc tests: contracts at each stage of their life, the events that
drive them, who acts, and a unit of work that keeps everything in memory.

Import as `contracts_builders` (each service's tests folder is on the path).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from contracts_svc.adapters.esign import BuiltinSignatureProvider
from contracts_svc.adapters.library import clause_library
from contracts_svc.adapters.render import MarkdownRenderer
from contracts_svc.domain.model import Contract, DocumentRef, Filing, Party, Status
from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared import events as ev
from guakao_shared.identity import Principal
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.process import definition
from guakao_shared.testing import RecordingUnitOfWork

# ---- the rules the contracts are drafted under --------------------------------------------

MANDATORY_CLAUSES: tuple[str, ...] = tuple(definition().mandatory_clauses)
LIB = clause_library()
STANDARD = {e.type: e.text for e in LIB if e.variant == "standard"}
T0 = datetime(2027, 1, 4, 9, tzinfo=UTC)
LEGAL = frozenset({"legal"})
PARTIES = (
    Party("Guakao Group", "organisation", "olga"),
    Party("Vendor Ltd", "counterparty", "victor"),
)

# ---- who acts -----------------------------------------------------------------------------


def principal(sub: str, *roles: str, department: str | None = "it") -> Principal:
    return Principal(sub=sub, department=department, roles=frozenset(roles))


LEO = principal("leo", "legal", department="legal")
OLGA = principal("olga", "dept_head")
VICTOR = principal("victor", "applicant", department="vendor")
ADA = principal("ada", "process_admin")

# ---- contracts ----------------------------------------------------------------------------


def draft(
    terms: dict[str, str] | None = None, *, mandatory: tuple[str, ...] = MANDATORY_CLAUSES
) -> Contract:
    """Drafted from a plan that proposed its own wording for every clause (unless `terms`),
    under the process definition's mandatory clauses (unless `mandatory`)."""
    return Contract.draft_from_plan(
        application_id=uuid.uuid4(),
        plan_version=1,
        title="ERP",
        department="it",
        applicant="alice",
        value=Decimal("1500000"),
        currency="CNY",
        start_date=date(2027, 1, 1),
        end_date=date(2027, 12, 31),
        proposed_terms=terms if terms is not None else {c: f"custom {c}" for c in mandatory},
        mandatory_clauses=mandatory,
        library=LIB,
        now=T0,
    )


def ready() -> Contract:
    """Everything approval needs: the clauses, both parties, a custodian."""
    c = draft()
    c.set_parties(PARTIES, by="leo", roles=LEGAL, now=T0)
    c.assign_custodian("carl", by="leo", reason=None, now=T0)
    return c


def approved() -> Contract:
    c = ready()
    c.submit_for_approval(by="leo", request_id=(rid := uuid.uuid4()))
    c.record_outcome(request_id=rid, approved=True)
    c.attach_document(c.current.number, DocumentRef("b", "k", "v1", "a" * 64, 10))
    return c


def signed() -> Contract:
    c = approved()
    for party in PARTIES:
        c.sign(
            party=party.name,
            version=c.approved_version or 0,
            document_sha256="a" * 64,
            signer=party.signatory,
            role="r",
            method="m",
            evidence=None,
            now=T0,
        )
    c.events.clear()
    return c


# ---- events -------------------------------------------------------------------------------


def plan_approved(
    *,
    budget_total: str | None = "1480000.00",
    requested_funds: str = "1500000",
    terms: dict[str, str] | None = None,
    **overrides: Any,
) -> tuple[ev.Envelope, ev.PlanApproved]:
    """plan.approved of a case whose plan proposed `terms` (its own wording by default)."""
    application_id = uuid.uuid4()
    payload = ev.PlanApproved(
        application_id=application_id,
        title="ERP rollout",
        applicant="alice",
        department="it",
        requested_funds=ev.Money(amount=Decimal(requested_funds), currency="CNY"),
        start_date=date(2027, 1, 1),
        end_date=date(2027, 12, 31),
        process_version=1,
        plan=ev.PlanSnapshot(
            version=1,
            technical={},
            finance={"budget": [{"item": "licences", "amount": "999"}]},
            contract_terms=terms
            if terms is not None
            else {c: f"proposed {c}" for c in MANDATORY_CLAUSES},
            signed_off_by={},
        ),
        budget_total=ev.Money(amount=Decimal(budget_total), currency="CNY")
        if budget_total is not None
        else None,
        **overrides,
    )
    return _wrap(payload, application_id, "applications"), payload


def record_filed(c: Contract) -> tuple[ev.Envelope, ev.RecordFiled]:
    payload = ev.RecordFiled(
        record_id=uuid.uuid4(),
        source_type="contract",
        source_id=c.id,
        source_version=c.filing.version or 0,
        record_class="contract",
        retention_until=datetime(2057, 1, 1, tzinfo=UTC),
        ledger_seq=1,
        documents=[],
    )
    return _wrap(payload, c.application_id, "archive"), payload


def filing_failed(
    c: Contract, *, retryable: bool = True
) -> tuple[ev.Envelope, ev.RecordFilingFailed]:
    payload = ev.RecordFilingFailed(
        source_type="contract",
        source_id=c.id,
        source_version=c.filing.version or 0,
        reason="archive unavailable",
        retryable=retryable,
    )
    return _wrap(payload, c.application_id, "archive"), payload


def _wrap(payload: ev.EventData, case_id: uuid.UUID, source: str) -> ev.Envelope:
    return ev.Envelope.wrap(payload, source=source, case_id=case_id, actor=ev.Actor(sub=source))


# ---- a unit of work in memory -------------------------------------------------------------


class InMemoryContracts:
    """The repository's behaviour on a dict: saved copies, so a handler that forgets to save
    leaves no trace."""

    def __init__(self, *contracts: Contract) -> None:
        self.rows: dict[uuid.UUID, Contract] = {}
        for c in contracts:
            self.rows[c.id] = _copy(c)

    async def get(self, contract_id: uuid.UUID, *, for_update: bool = False) -> Contract | None:
        found = self.rows.get(contract_id)
        return _copy(found) if found else None

    async def exists_for_plan(self, application_id: uuid.UUID, plan_version: int) -> bool:
        return any(
            (c.application_id, c.plan_version) == (application_id, plan_version)
            for c in self.rows.values()
        )

    async def add(self, c: Contract) -> None:
        c.version = 1
        self.rows[c.id] = _copy(c)

    async def save(self, c: Contract) -> None:
        c.version += 1
        self.rows[c.id] = _copy(c)

    async def ids(
        self, *, status: Status | None = None, filing: Filing | None = None
    ) -> list[uuid.UUID]:
        return [
            c.id
            for c in self.rows.values()
            if (status is None or c.status == status)
            and (filing is None or c.filing.status == filing)
        ]

    async def search(self, *, page: PageRequest, **filters: Any) -> Slice[Contract]:
        found = [
            _copy(c)
            for c in self.rows.values()
            if filters.get("application_id") in (None, c.application_id)
        ]
        return Slice(found[page.offset : page.offset + page.limit], len(found), page)


def _copy(c: Contract) -> Contract:
    return replace(
        c,
        versions=list(c.versions),
        custody=list(c.custody),
        signatures=list(c.signatures),
        reviews=list(c.reviews),
        filing=replace(c.filing),
        reminders_sent=list(c.reminders_sent),
        filing_documents=list(c.filing_documents),
        events=[],
    )


class MemoryDocuments:
    """Object storage in a dict, with the claim checks it hands out."""

    bucket = "guakao-contracts"

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    async def put(
        self, key: str, body: bytes, *, content_type: str, filename: str, document_type: str
    ) -> ev.DocumentRef:
        self.bodies[key] = body
        return ev.DocumentRef(
            bucket=self.bucket,
            key=key,
            version_id="v1",
            sha256=hashlib.sha256(body).hexdigest(),
            size=len(body),
            content_type=content_type,
            filename=filename,
            document_type=document_type,
        )

    async def read(self, ref: ev.DocumentRef) -> bytes:
        return self.bodies[ref.key]


class FakeContractsUnitOfWork(RecordingUnitOfWork, ContractsUnitOfWork):
    """The contracts unit of work with no database: in-memory contracts and documents, the
    real renderer, clause library and built-in signature provider, and a clock stopped at T0."""

    def __init__(self, *contracts: Contract) -> None:
        RecordingUnitOfWork.__init__(self, T0)
        self.memory = InMemoryContracts(*contracts)
        self.contracts = self.memory
        self.memory_documents = MemoryDocuments()
        self.documents = self.memory_documents
        self.renderer = MarkdownRenderer()
        self.signatures = BuiltinSignatureProvider(b"test-secret")
        self.library = LIB
        self.reminder_days = (30, 15, 7)

    def stored(self, contract_id: uuid.UUID) -> Contract:
        return self.memory.rows[contract_id]

    def only(self) -> Contract:
        (c,) = self.memory.rows.values()
        return c
