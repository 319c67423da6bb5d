"""HTTP API of applications-svc under /v1. Routes parse, call one use case, map the result."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile as StarletteUpload

from applications_svc.adapters.repository import search_applications
from applications_svc.domain.model import STAGE_OF_STATUS, CaseStatus
from applications_svc.entrypoints.schemas import (
    ApplicationCreate,
    ApplicationPage,
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
from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork
from guakao_shared.api import IdempotencyKey, command_response
from guakao_shared.auth import CurrentUser, Principal, Role, require_role
from guakao_shared.commands import run_command
from guakao_shared.objectstore import DocumentTooLarge
from guakao_shared.problems import ProblemError

router = APIRouter(prefix="/v1/applications", tags=["applications"])

ALLOWED_CONTENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/zip",
        "image/png",
        "image/jpeg",
        "text/plain",
        "text/csv",
        "text/markdown",
    }
)
DocumentType = Annotated[str, Form(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_]*$")]


def _uow(request: Request) -> ApplicationsUnitOfWork:
    runtime = request.app.state.runtime
    return ApplicationsUnitOfWork(runtime.session_factory, service=runtime.service)


@router.post(
    "",
    status_code=201,
    response_model=ApplicationRead,
    summary="Create a draft affiliation application",
)
async def create_application(
    body: ApplicationCreate, user: CurrentUser, request: Request, key: IdempotencyKey = None
) -> JSONResponse:
    require_role(user, Role.APPLICANT, action="creating an application")
    if not user.department:
        raise ProblemError(
            403,
            "Forbidden",
            "your token carries no department (claim 'dept'); "
            "an application belongs to the applicant's department",
        )
    department = user.department

    async def execute(uow: ApplicationsUnitOfWork) -> object:
        app = await handlers.create_application(
            uow, principal=user, department=department, content=body.model_dump()
        )
        return ApplicationRead.of(app).model_dump(mode="json")

    result = await run_command(
        _uow(request),
        execute,
        principal=user.sub,
        idempotency_key=key,
        request=("create", body.model_dump(mode="json")),
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


@router.get("", response_model=ApplicationPage, summary="Search applications")
async def list_applications(
    user: CurrentUser,
    request: Request,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    department: Annotated[str | None, Query(max_length=100)] = None,
    stage: Annotated[int | None, Query(ge=1, le=7)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="text")] = None,
    sort: Sort = "-created_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ApplicationPage:
    """Users see their department's cases (and their own); roles that oversee see all."""
    statuses = {s.value for s in status} if status else None
    if stage is not None:
        in_stage = {s.value for s, n in STAGE_OF_STATUS.items() if n == stage}
        statuses = in_stage if statuses is None else statuses & in_stage
    departments = (
        None if user.has_any(*handlers.SEE_ALL) else ([user.department] if user.department else [])
    )
    async with _uow(request) as uow:
        rows, total = await search_applications(
            uow.session,
            departments=departments,
            applicant=user.sub,
            statuses=sorted(statuses) if statuses is not None else None,
            department=department,
            created_from=created_from,
            created_to=created_to,
            text=q,
            sort=sort,
            limit=limit,
            offset=offset,
        )
    items = [
        ApplicationSummary(
            **{
                **r._mapping,
                "requested_funds": r.funds,
                "stage": STAGE_OF_STATUS[CaseStatus(r.status)],
            }
        )
        for r in rows
    ]
    return ApplicationPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{application_id}", response_model=ApplicationRead, summary="Read an application")
async def get_application(
    application_id: uuid.UUID, user: CurrentUser, request: Request
) -> ApplicationRead:
    async with _uow(request) as uow:
        return ApplicationRead.of(await handlers.get_visible(uow, application_id, user))


@router.patch(
    "/{application_id}",
    response_model=ApplicationRead,
    summary="Edit a draft or a returned application (applicant only)",
)
async def update_application(
    application_id: uuid.UUID,
    body: ApplicationUpdate,
    user: CurrentUser,
    request: Request,
    if_match: Annotated[int | None, Header(alias="If-Match")] = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ProblemError(422, "Invalid request", "nothing to change: the body sets no field")

    async def execute(uow: ApplicationsUnitOfWork) -> object:
        app = await handlers.update_application(
            uow,
            application_id=application_id,
            principal=user,
            content=changes,
            expected_version=if_match,
        )
        return ApplicationRead.of(app).model_dump(mode="json")

    result = await run_command(
        _uow(request),
        execute,
        principal=user.sub,
        idempotency_key=key,
        request=("update", str(application_id), body.model_dump(mode="json", exclude_unset=True)),
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
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def execute(uow: ApplicationsUnitOfWork) -> object:
        app = await handlers.withdraw_application(
            uow, application_id=application_id, principal=user, reason=body.reason
        )
        return ApplicationRead.of(app).model_dump(mode="json")

    result = await run_command(
        _uow(request),
        execute,
        principal=user.sub,
        idempotency_key=key,
        request=("withdraw", str(application_id)),
    )
    return command_response(result)


@router.get(
    "/{application_id}/timeline",
    response_model=list[TimelineEntry],
    summary="Every state change, decision, document and sign-off, in order",
)
async def timeline(
    application_id: uuid.UUID, user: CurrentUser, request: Request
) -> list[TimelineEntry]:
    async with _uow(request) as uow:
        app = await handlers.get_visible(uow, application_id, user)
    entries = [
        TimelineEntry(
            at=h.at,
            kind="status",
            actor=h.actor,
            summary=f"{h.from_status or 'new'} → {h.to_status}",
            from_status=h.from_status,
            to_status=h.to_status,
            note=h.note,
        )
        for h in app.history
    ]
    entries += [
        TimelineEntry(
            at=d.uploaded_at,
            kind="document",
            actor=d.uploaded_by,
            summary=f"attached {d.document_type}: {d.filename} (sha256 {d.sha256[:12]}…)",
        )
        for d in app.documents
    ]
    if app.plan:
        entries += [
            TimelineEntry(
                at=o.at,
                kind="plan_signoff",
                actor=o.by,
                summary=f"signed off the {o.section} section (plan version {o.plan_version})",
            )
            for o in app.plan.signoffs.values()
        ]
    return sorted(entries, key=lambda e: e.at)


@router.get("/{application_id}/plan", response_model=PlanRead, summary="The plan (stage 2)")
async def get_plan(application_id: uuid.UUID, user: CurrentUser, request: Request) -> PlanRead:
    async with _uow(request) as uow:
        app = await handlers.get_visible(uow, application_id, user)
    if app.plan is None:
        raise ProblemError(
            404,
            "Not found",
            f"application {application_id} has no plan yet "
            f"(it is {app.status}; planning starts when it is approved)",
        )
    return PlanRead.of(app.plan)


async def _plan_command(
    request: Request, user: Principal, key: str | None, what: tuple[object, ...], run: Any
) -> JSONResponse:
    async def execute(uow: ApplicationsUnitOfWork) -> object:
        app = await run(uow)
        return ApplicationRead.of(app).model_dump(mode="json")

    result = await run_command(
        _uow(request), execute, principal=user.sub, idempotency_key=key, request=what
    )
    return command_response(result)


@router.put(
    "/{application_id}/plan/technical",
    response_model=ApplicationRead,
    summary="Write the technical section (tech_lead); clears its sign-off",
)
async def put_technical(
    application_id: uuid.UUID,
    body: TechnicalSection,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    content = body.model_dump(mode="json")
    return await _plan_command(
        request,
        user,
        key,
        ("plan", str(application_id), "technical", content),
        lambda uow: handlers.edit_plan(
            uow, application_id=application_id, section="technical", content=content, principal=user
        ),
    )


@router.put(
    "/{application_id}/plan/finance",
    response_model=ApplicationRead,
    summary="Write the finance section (finance); clears its sign-off",
)
async def put_finance(
    application_id: uuid.UUID,
    body: FinanceSection,
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    content = body.model_dump(mode="json")
    return await _plan_command(
        request,
        user,
        key,
        ("plan", str(application_id), "finance", content),
        lambda uow: handlers.edit_plan(
            uow, application_id=application_id, section="finance", content=content, principal=user
        ),
    )


@router.post(
    "/{application_id}/plan/{section}/sign-off",
    response_model=ApplicationRead,
    summary="Sign off a section of the plan (its owner's role)",
)
async def sign_off(
    application_id: uuid.UUID,
    section: Literal["technical", "finance"],
    user: CurrentUser,
    request: Request,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return await _plan_command(
        request,
        user,
        key,
        ("sign-off", str(application_id), section),
        lambda uow: handlers.sign_off_plan(
            uow, application_id=application_id, section=section, principal=user
        ),
    )


@router.post(
    "/{application_id}/plan/submit",
    response_model=ApplicationRead,
    summary="Send the signed-off plan to review",
)
async def submit_plan(
    application_id: uuid.UUID, user: CurrentUser, request: Request, key: IdempotencyKey = None
) -> JSONResponse:
    return await _plan_command(
        request,
        user,
        key,
        ("submit-plan", str(application_id)),
        lambda uow: handlers.submit_plan(uow, application_id=application_id, principal=user),
    )


@router.post(
    "/{application_id}/documents",
    status_code=201,
    response_model=DocumentRead,
    summary="Attach a document (streamed to object storage, SHA-256 computed)",
)
async def upload_document(
    application_id: uuid.UUID,
    user: CurrentUser,
    request: Request,
    document_type: DocumentType,
    file: Annotated[UploadFile, File(description="the document")],
    key: IdempotencyKey = None,
) -> JSONResponse:
    runtime = request.app.state.runtime
    limit: int = runtime.settings.max_upload_bytes
    _check_upload(file, limit)
    content_type = file.content_type or "application/octet-stream"
    filename = file.filename or "document"

    async def execute(uow: ApplicationsUnitOfWork) -> object:
        await handlers.check_can_attach(uow, application_id=application_id, principal=user)
        document_id = uuid.uuid4()
        try:
            ref = await runtime.documents.put(
                bucket=runtime.settings.documents_bucket,
                key=f"{application_id}/{document_id}",
                stream=file.file,
                max_bytes=limit,
                content_type=content_type,
                filename=filename[:255],
                document_type=document_type,
            )
        except DocumentTooLarge as exc:
            raise _too_large(limit) from exc
        try:
            document = await handlers.attach_document(
                uow,
                application_id=application_id,
                principal=user,
                document_id=document_id,
                ref=ref,
            )
        except BaseException:
            await runtime.documents.delete(ref)  # nothing half-written
            raise
        return DocumentRead(**document.__dict__).model_dump(mode="json")

    result = await run_command(
        _uow(request),
        execute,
        principal=user.sub,
        idempotency_key=key,
        request=("upload", str(application_id), document_type, filename, file.size),
        status_code=201,
    )
    return command_response(result)


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        413,
        "Document too large",
        f"the document exceeds the upload limit of {limit} bytes",
        errors=[{"field": "file", "rule": "max_size", "message": f"<= {limit} bytes"}],
    )


def _check_upload(file: StarletteUpload, limit: int) -> None:
    if file.size is not None and file.size > limit:
        raise _too_large(limit)
    if file.size == 0:
        raise ProblemError(
            422,
            "Invalid request",
            "file: the document is empty",
            errors=[{"field": "file", "rule": "not_empty", "message": "is empty"}],
        )
    if (file.content_type or "") not in ALLOWED_CONTENT_TYPES:
        raise ProblemError(
            415,
            "Unsupported media type",
            f"file: content type {file.content_type!r} is not accepted",
            errors=[
                {
                    "field": "file",
                    "rule": "content_type",
                    "message": f"one of {sorted(ALLOWED_CONTENT_TYPES)}",
                }
            ],
        )


@router.post(
    "/{application_id}/submit",
    response_model=ApplicationRead,
    summary="Submit a draft: SUBMITTED, and an approval is requested",
)
async def submit_application(
    application_id: uuid.UUID, user: CurrentUser, request: Request, key: IdempotencyKey = None
) -> JSONResponse:
    async def execute(uow: ApplicationsUnitOfWork) -> object:
        app = await handlers.submit_application(uow, application_id=application_id, principal=user)
        return ApplicationRead.of(app).model_dump(mode="json")

    result = await run_command(
        _uow(request),
        execute,
        principal=user.sub,
        idempotency_key=key,
        request=("submit", str(application_id)),
    )
    return command_response(result)
