"""HTTP API of applications-svc under /v1. Routes parse, call one use case, map the result."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from guakao_shared.api import IdempotencyKey, command_response
from guakao_shared.auth import CurrentUser, Role, require_role
from guakao_shared.commands import run_command
from guakao_shared.objectstore import DocumentTooLarge
from guakao_shared.problems import ProblemError
from starlette.datastructures import UploadFile as StarletteUpload

from applications_svc.entrypoints.schemas import ApplicationCreate, ApplicationRead, DocumentRead
from applications_svc.service_layer import handlers
from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork

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


@router.get("/{application_id}", response_model=ApplicationRead, summary="Read an application")
async def get_application(
    application_id: uuid.UUID, user: CurrentUser, request: Request
) -> ApplicationRead:
    async with _uow(request) as uow:
        return ApplicationRead.of(await handlers.get_visible(uow, application_id, user))


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
