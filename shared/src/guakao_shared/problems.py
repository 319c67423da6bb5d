"""problem+json (RFC 9457) errors: one exception type for refusals, handlers that render every
error (validation, HTTP, domain) the same way, with the field and the rule that failed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class ProblemError(Exception):
    """Raise from an entrypoint to refuse a request with a problem+json response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.type_ = status, title, detail, type_
        self.errors, self.headers, self.extra = errors, dict(headers or {}), extra


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = "about:blank",
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "form"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def install_problem_handlers(app: FastAPI, domain_errors: Mapping[type[Exception], int]) -> None:
    """Render every refusal as problem+json. `domain_errors` maps domain exceptions to statuses."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            request,
            exc.status,
            exc.title,
            exc.detail,
            type_=exc.type_,
            errors=exc.errors,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e["loc"])), "rule": e["type"], "message": e["msg"]}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(
            request, 422, "Invalid request", summary or "the request is invalid", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = getattr(exc, "problem_title", None) or {
            404: "Not found",
            405: "Method not allowed",
        }.get(exc.status_code, "HTTP error")
        return problem_response(
            request,
            exc.status_code,
            title,
            str(exc.detail),
            headers=exc.headers,
            **getattr(exc, "problem_extra", {}),
        )

    for error_type, status in domain_errors.items():

        async def _domain(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return problem_response(
                request,
                status,
                getattr(exc, "problem_title", type(exc).__name__),
                str(exc),
                **getattr(exc, "problem_extra", {}),
            )

        app.add_exception_handler(error_type, _domain)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            request,
            500,
            "Internal error",
            "an unexpected error occurred; it has been logged",
            # the server drops the connection after an unhandled error: say so, so the
            # client's next request opens a new one instead of failing on a dead socket
            headers={"Connection": "close"},
        )
