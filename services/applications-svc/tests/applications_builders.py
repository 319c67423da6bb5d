"""Builders for applications-svc tests: cases arranged through the domain's own commands, the
use cases' commands and principals with sensible defaults, so each test names only what it is
about. Times, people and the process's lists are written out here, independently of the code."""

from __future__ import annotations

import dataclasses
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from applications_svc.domain.model import (
    EDITABLE,
    Application,
    CaseStatus,
    Document,
    Money,
    Outcome,
    Personnel,
    Plan,
    Resources,
    Risk,
    SignOff,
)
from applications_svc.service_layer.commands import (
    AttachDocument,
    CreateApplication,
    EditPlanSection,
    PlanSection,
    SignOffPlanSection,
    SubmitApplication,
    SubmitPlan,
    UpdateApplication,
    Upload,
    WithdrawApplication,
)
from guakao_shared.events import Actor, ApprovalDecided, DocumentRef, Envelope, EventData
from guakao_shared.identity import Principal

D = TypeVar("D", bound=ApprovalDecided)

APPLICANT = "alice"
DECIDER = "rita"
TECH_LEAD, TECH_LEAD_ROLES = "tom", frozenset({"tech_lead"})
FINANCE, FINANCE_ROLES = "fiona", frozenset({"finance"})
SECTION_OWNERS: dict[str, tuple[str, frozenset[str]]] = {
    "technical": (TECH_LEAD, TECH_LEAD_ROLES),
    "finance": (FINANCE, FINANCE_ROLES),
}

CREATED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ARRANGED = CREATED + timedelta(hours=1)  # when the steps that arrange a test happened
LATER = CREATED + timedelta(hours=2)  # when the step under test happens
EVEN_LATER = LATER + timedelta(hours=1)

# Stage 1's required materials as the process definition (v1) lists them.
REQUIRED = ("feasibility_study", "resource_request", "risk_assessment")
PROCESS_VERSION = 1

# The seven contract clauses of the specification, written out independently of the code.
CLAUSES = (
    "scope_of_cooperation",
    "responsibilities",
    "fund_management",
    "technical_standards",
    "ip_ownership",
    "breach_liability",
    "risk_allocation",
)
TECHNICAL_SECTION: dict[str, Any] = {
    "cooperation_mode": "joint development",
    "contract_terms": {clause: f"the agreed {clause.replace('_', ' ')}" for clause in CLAUSES},
}
FINANCE_SECTION: dict[str, Any] = {
    "budget": [{"item": "licences", "amount": 120000, "currency": "CNY"}]
}
SECTION_CONTENT = {"technical": TECHNICAL_SECTION, "finance": FINANCE_SECTION}

ALL_STATUSES = list(CaseStatus)
NOT_EDITABLE = sorted(set(CaseStatus) - EDITABLE)
NOT_PLANNING = sorted(set(CaseStatus) - {CaseStatus.PLANNING})
WITHDRAWABLE = [CaseStatus.DRAFT, CaseStatus.SUBMITTED, CaseStatus.RETURNED]
NOT_WITHDRAWABLE = sorted(set(CaseStatus) - set(WITHDRAWABLE))
AWAITING_AN_OUTCOME = [CaseStatus.SUBMITTED, CaseStatus.PLAN_IN_REVIEW]
NOT_AWAITING_AN_OUTCOME = sorted(set(CaseStatus) - set(AWAITING_AN_OUTCOME))
FINAL_STATES = [CaseStatus.REJECTED, CaseStatus.WITHDRAWN, CaseStatus.ARCHIVED]
DECIDING_OUTCOMES = [Outcome.APPROVED, Outcome.REJECTED, Outcome.RETURNED]


# ---- arranging a case through the domain's own commands ---------------------------------


def application_content(**overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "title": "ERP migration",
        "background": "the old ERP is out of support",
        "objectives": "move finance to the new ERP",
        "expected_benefits": "lower licence cost",
        "resources": Resources(
            technology=("postgresql",),
            funds=Money(Decimal("120000.00"), "CNY"),
            personnel=(Personnel("developer", 3, Decimal("60")),),
        ),
        "start_date": date(2025, 4, 1),
        "end_date": date(2025, 9, 30),
        "risks": (Risk("vendor delay", "medium", "high", "fixed-price contract"),),
    }
    content.update(overrides)
    return content


def new_draft(**overrides: Any) -> Application:
    return Application.draft(
        id=uuid.uuid4(),
        applicant=APPLICANT,
        department="it",
        now=CREATED,
        **application_content(**overrides),
    )


def a_document(
    document_type: str = "feasibility_study", uploaded_at: datetime = ARRANGED
) -> Document:
    return Document(
        id=uuid.uuid4(),
        document_type=document_type,
        filename=f"{document_type}.pdf",
        content_type="application/pdf",
        size=1024,
        sha256="ab" * 32,
        bucket="guakao-applications",
        key=f"{document_type}.pdf",
        version_id=None,
        uploaded_by=APPLICANT,
        uploaded_at=uploaded_at,
    )


def draft_with(*document_types: str) -> Application:
    app = new_draft()
    for document_type in document_types:
        app.attach(a_document(document_type), by=APPLICANT)
    return app


def submit(
    app: Application,
    *,
    now: datetime = ARRANGED,
    request_id: uuid.UUID | None = None,
    process_version: int = PROCESS_VERSION,
    required_materials: tuple[str, ...] = REQUIRED,
) -> uuid.UUID:
    request_id = request_id or uuid.uuid4()
    app.submit(
        by=APPLICANT,
        now=now,
        required_materials=required_materials,
        process_version=process_version,
        request_id=request_id,
    )
    return request_id


def decide(
    app: Application,
    outcome: Outcome,
    *,
    now: datetime = ARRANGED,
    comment: str | None = None,
    record: object | None = None,
) -> bool:
    """Record `outcome` for the approval the case awaits."""
    assert app.approval_request_id is not None, "the case awaits no approval"
    return app.record_outcome(
        request_id=app.approval_request_id,
        outcome=outcome,
        by=DECIDER,
        now=now,
        comment=comment,
        record=record,
    )


def edit_section(
    app: Application,
    section: str,
    content: dict[str, Any] | None = None,
    *,
    now: datetime = ARRANGED,
) -> Plan:
    by, roles = SECTION_OWNERS[section]
    content = SECTION_CONTENT[section] if content is None else content
    return app.edit_plan(section, content, by=by, roles=roles, now=now)


def sign_off_section(app: Application, section: str, *, now: datetime = ARRANGED) -> SignOff:
    by, roles = SECTION_OWNERS[section]
    return app.sign_off_plan(section, by=by, roles=roles, now=now)


def complete_the_plan(app: Application) -> None:
    for section in SECTION_OWNERS:
        edit_section(app, section)
    for section in SECTION_OWNERS:
        sign_off_section(app, section)


def submit_the_plan(
    app: Application, *, now: datetime = ARRANGED, request_id: uuid.UUID | None = None
) -> uuid.UUID:
    request_id = request_id or uuid.uuid4()
    app.submit_plan(
        by=TECH_LEAD,
        roles=TECH_LEAD_ROLES,
        now=now,
        request_id=request_id,
        mandatory_clauses=CLAUSES,
    )
    return request_id


def in_planning() -> Application:
    app = draft_with(*REQUIRED)
    submit(app)
    decide(app, Outcome.APPROVED)
    app.events.clear()
    return app


def application_in(status: CaseStatus) -> Application:
    """A case in `status` with every required material attached, reached through the real
    commands wherever one exists. APPROVED (passed through at once on approval) and stages 3-7
    (no commands yet) are arranged by assignment. The arrangement's events are dropped."""
    app = draft_with(*REQUIRED)
    if status == CaseStatus.APPROVED:
        app.status = status
    elif status == CaseStatus.WITHDRAWN:
        app.withdraw(by=APPLICANT, now=ARRANGED, reason="arranged")
    elif status in (CaseStatus.SUBMITTED, CaseStatus.RETURNED, CaseStatus.REJECTED):
        submit(app)
        if status != CaseStatus.SUBMITTED:
            decide(app, Outcome(status.lower()))
    elif status != CaseStatus.DRAFT:
        app = in_planning()
        if status != CaseStatus.PLANNING:
            complete_the_plan(app)
            submit_the_plan(app)
            if status != CaseStatus.PLAN_IN_REVIEW:
                decide(app, Outcome.APPROVED)
                app.status = status  # PLAN_APPROVED, or a later stage arranged by assignment
    app.events.clear()
    assert app.status == status
    return app


def snapshot(app: Application) -> dict[str, Any]:
    """Everything the aggregate holds, its events included, copied deeply."""
    return dataclasses.asdict(app)


def awaited_request(app: Application) -> uuid.UUID:
    """The approval request the case awaits (it must await one)."""
    assert app.approval_request_id is not None, "the case awaits no approval"
    return app.approval_request_id


# ---- principals and commands -------------------------------------------------------------


def person(sub: str = APPLICANT, *roles: str, department: str | None = "it") -> Principal:
    return Principal(sub=sub, department=department, roles=frozenset(roles or ("applicant",)))


THE_APPLICANT = person()
A_TECH_LEAD = person(TECH_LEAD, "tech_lead")
A_FINANCE_OFFICER = person(FINANCE, "finance", department="finance")


def create_application(**overrides: Any) -> CreateApplication:
    fields: dict[str, Any] = {"actor": THE_APPLICANT, **application_content()}
    return CreateApplication(**{**fields, **overrides})


def update_application(application_id: uuid.UUID, **overrides: Any) -> UpdateApplication:
    fields: dict[str, Any] = {
        "actor": THE_APPLICANT,
        "application_id": application_id,
        "changes": {"title": "ERP migration, phase 1"},
    }
    return UpdateApplication(**{**fields, **overrides})


def submit_application(
    application_id: uuid.UUID, actor: Principal = THE_APPLICANT
) -> SubmitApplication:
    return SubmitApplication(actor=actor, application_id=application_id)


def withdraw_application(
    application_id: uuid.UUID, reason: str | None = "the vendor went bankrupt"
) -> WithdrawApplication:
    return WithdrawApplication(actor=THE_APPLICANT, application_id=application_id, reason=reason)


def attach_document(
    application_id: uuid.UUID, data: bytes = b"the feasibility study", **overrides: Any
) -> AttachDocument:
    fields: dict[str, Any] = {
        "actor": THE_APPLICANT,
        "application_id": application_id,
        "document_type": "feasibility_study",
        "filename": "feasibility_study.pdf",
        "content_type": "application/pdf",
        "declared_size": len(data),
        "content": Upload.of(io.BytesIO(data)),
    }
    return AttachDocument(**{**fields, **overrides})


def edit_plan_section(
    application_id: uuid.UUID, section: PlanSection, content: dict[str, Any] | None = None
) -> EditPlanSection:
    actor = A_TECH_LEAD if section == "technical" else A_FINANCE_OFFICER
    content = SECTION_CONTENT[section] if content is None else content
    return EditPlanSection(
        actor=actor, application_id=application_id, section=section, content=content
    )


def sign_off_plan_section(application_id: uuid.UUID, section: PlanSection) -> SignOffPlanSection:
    actor = A_TECH_LEAD if section == "technical" else A_FINANCE_OFFICER
    return SignOffPlanSection(actor=actor, application_id=application_id, section=section)


def submit_plan(application_id: uuid.UUID) -> SubmitPlan:
    return SubmitPlan(actor=A_TECH_LEAD, application_id=application_id)


# ---- what approvals-svc sends back ---------------------------------------------------------


def outcome(
    kind: type[D],
    app: Application,
    *,
    subject_type: str = "application",
    request_id: uuid.UUID | None = None,
    comment: str | None = "necessary and well argued",
    record: DocumentRef | None = None,
) -> D:
    """approvals-svc's outcome (`ApprovalGranted`, ...) for the approval the case awaits."""
    return kind(
        request_id=request_id or awaited_request(app),
        approval_case_id=uuid.uuid4(),
        subject_type=subject_type,
        subject_id=app.id,
        decided_by=DECIDER,
        comment=comment,
        record=record,
    )


def envelope(payload: EventData) -> Envelope:
    return Envelope.wrap(
        payload, source="approvals", case_id=uuid.uuid4(), actor=Actor(sub=DECIDER)
    )
