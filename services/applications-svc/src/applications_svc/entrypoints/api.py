"""HTTP API of applications-svc under /v1. Routes parse, build one command (or call one query)
through the bus, and map the result."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Header, Query, UploadFile
from fastapi.responses import JSONResponse

from applications_svc.domain.model import CaseStatus
from applications_svc.entrypoints.deps import Bus
from applications_svc.entrypoints.schemas import (
    ApplicationCreate,
    ApplicationRead,
    ApplicationSummary,
    ApplicationUpdate,
    DocumentRead,
    FinanceSection,
    PlanRead,
    TechnicalSection,
    TimelineEntry,
    WithdrawCreate,
)
from applications_svc.service_layer import handlers
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
from guakao_shared.api import IdempotencyKey, Page, Paging, command_response
from guakao_shared.auth import CurrentUser

router = APIRouter(prefix="/v1/applications", tags=["applications"])

DocumentType = Annotated[str, Form(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_]*$")]
IfMatch = Annotated[int | None, Header(alias="If-Match")]


@router.post(
    "",
    status_code=201,
    response_model=ApplicationRead,
    summary="Create a draft affiliation application",
)
async def create_application(
    body: ApplicationCreate, user: CurrentUser, bus: Bus, key: IdempotencyKey = None
) -> JSONResponse:
    command = CreateApplication(
        actor=user,
        title=body.title,
        background=body.background,
        objectives=body.objectives,
        expected_benefits=body.expected_benefits,
        resources=body.resources.to_domain(),
        start_date=body.start_date,
        end_date=body.end_date,
        risks=tuple(r.to_domain() for r in body.risks),
    )
    result = await bus.run(
        command,
        handlers.create_application,
        present=ApplicationRead.of,
        idempotency_key=key,
        status_code=201,
    )
    return command_response(result)


Sort = Literal[
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "title",
    "-title",
    "status",
    "-status",
    "start_date",
    "-start_date",
]


@router.get("", response_model=Page[ApplicationSummary], summary="Search applications")
async def list_applications(
    user: CurrentUser,
    bus: Bus,
    paging: Paging,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    department: Annotated[str | None, Query(max_length=100)] = None,
    stage: Annotated[int | None, Query(ge=1, le=7)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="text")] = None,
    sort: Sort = "-created_at",
) -> Page[ApplicationSummary]:
    """Users see their department's cases (and their own); roles that oversee see all."""
    search = handlers.ApplicationSearch(
        statuses=frozenset(status) if status else None,
        stage=stage,
        department=department,
        created_from=created_from,
        created_to=created_to,
        text=q,
        sort=sort,
    )
    found = await bus.query(handlers.search_applications, search, paging, principal=user)
    return Page[ApplicationSummary].of(found.map(ApplicationSummary.of))


@router.get("/{application_id}", response_model=ApplicationRead, summary="Read an application")
async def get_application(
    application_id: uuid.UUID, user: CurrentUser, bus: Bus
) -> ApplicationRead:
    return ApplicationRead.of(
        await bus.query(handlers.visible_application, application_id, principal=user)
    )


@router.patch(
    "/{application_id}",
    response_model=ApplicationRead,
    summary="Edit a draft or a returned application (applicant only)",
)
async def update_application(
    application_id: uuid.UUID,
    body: ApplicationUpdate,
    user: CurrentUser,
    bus: Bus,
    if_match: IfMatch = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = UpdateApplication(
        actor=user,
        application_id=application_id,
        changes=body.changes(),
        expected_version=if_match,
    )
    result = await bus.run(
        command, handlers.update_application, present=ApplicationRead.of, idempotency_key=key
    )
    return command_response(result)


@router.post(
    "/{application_id}/withdraw",
    response_model=ApplicationRead,
    summary="Withdraw the application (before a decision)",
)
async def withdraw_application(
    application_id: uuid.UUID,
    body: WithdrawCreate,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = WithdrawApplication(actor=user, application_id=application_id, reason=body.reason)
    result = await bus.run(
        command, handlers.withdraw_application, present=ApplicationRead.of, idempotency_key=key
    )
    return command_response(result)


@router.get(
    "/{application_id}/timeline",
    response_model=list[TimelineEntry],
    summary="Every state change, decision, document and sign-off, in order",
)
async def timeline(application_id: uuid.UUID, user: CurrentUser, bus: Bus) -> list[TimelineEntry]:
    app = await bus.query(handlers.visible_application, application_id, principal=user)
    return TimelineEntry.timeline_of(app)


@router.get("/{application_id}/plan", response_model=PlanRead, summary="The plan (stage 2)")
async def get_plan(application_id: uuid.UUID, user: CurrentUser, bus: Bus) -> PlanRead:
    app = await bus.query(handlers.application_with_plan, application_id, principal=user)
    assert app.plan is not None
    return PlanRead.of(app.plan, process_version=app.process_version)


@router.put(
    "/{application_id}/plan/technical",
    response_model=ApplicationRead,
    summary="Write the technical section (tech_lead); clears its sign-off",
)
async def put_technical(
    application_id: uuid.UUID,
    body: TechnicalSection,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = EditPlanSection(
        actor=user,
        application_id=application_id,
        section="technical",
        content=body.model_dump(mode="json"),
    )
    result = await bus.run(
        command, handlers.edit_plan, present=ApplicationRead.of, idempotency_key=key
    )
    return command_response(result)


@router.put(
    "/{application_id}/plan/finance",
    response_model=ApplicationRead,
    summary="Write the finance section (finance); clears its sign-off",
)
async def put_finance(
    application_id: uuid.UUID,
    body: FinanceSection,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = EditPlanSection(
        actor=user,
        application_id=application_id,
        section="finance",
        content=body.model_dump(mode="json"),
    )
    result = await bus.run(
        command, handlers.edit_plan, present=ApplicationRead.of, idempotency_key=key
    )
    return command_response(result)


@router.post(
    "/{application_id}/plan/{section}/sign-off",
    response_model=ApplicationRead,
    summary="Sign off a section of the plan (its owner's role)",
)
async def sign_off(
    application_id: uuid.UUID,
    section: PlanSection,
    user: CurrentUser,
    bus: Bus,
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = SignOffPlanSection(actor=user, application_id=application_id, section=section)
    result = await bus.run(
        command, handlers.sign_off_plan, present=ApplicationRead.of, idempotency_key=key
    )
    return command_response(result)


@router.post(
    "/{application_id}/plan/submit",
    response_model=ApplicationRead,
    summary="Send the signed-off plan to review",
)
async def submit_plan(
    application_id: uuid.UUID, user: CurrentUser, bus: Bus, key: IdempotencyKey = None
) -> JSONResponse:
    command = SubmitPlan(actor=user, application_id=application_id)
    result = await bus.run(
        command, handlers.submit_plan, present=ApplicationRead.of, idempotency_key=key
    )
    return command_response(result)


@router.post(
    "/{application_id}/documents",
    status_code=201,
    response_model=DocumentRead,
    summary="Attach a document (streamed to object storage, SHA-256 computed)",
)
async def upload_document(
    application_id: uuid.UUID,
    user: CurrentUser,
    bus: Bus,
    document_type: DocumentType,
    file: Annotated[UploadFile, File(description="the document")],
    key: IdempotencyKey = None,
) -> JSONResponse:
    command = AttachDocument(
        actor=user,
        application_id=application_id,
        document_type=document_type,
        filename=(file.filename or "document")[:255],
        content_type=file.content_type or "application/octet-stream",
        declared_size=file.size,
        content=await asyncio.to_thread(Upload.of, file.file),
    )
    result = await bus.run(
        command,
        handlers.attach_document,
        present=DocumentRead.of,
        idempotency_key=key,
        status_code=201,
    )
    return command_response(result)


@router.post(
    "/{application_id}/submit",
    response_model=ApplicationRead,
    summary="Submit a draft: SUBMITTED, and an approval is requested",
)
async def submit_application(
    application_id: uuid.UUID, user: CurrentUser, bus: Bus, key: IdempotencyKey = None
) -> JSONResponse:
    command = SubmitApplication(actor=user, application_id=application_id)
    result = await bus.run(
        command, handlers.submit_application, present=ApplicationRead.of, idempotency_key=key
    )
    return command_response(result)
