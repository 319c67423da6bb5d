"""The edge every request passes before any route reads it (pure ASGI, so the trace context
and streaming stay intact):

- API routes (`/v1/...`) authenticate on the headers first: a request without a valid bearer
  token is answered 401 before a byte of its body is read;
- bodies are limited per kind (JSON small, uploads their own limit) from `Content-Length`, and
  while streaming when there is none: 413 without reading the rest;
- text with NUL characters (which PostgreSQL cannot store) is refused as 422 in the query string
  and in JSON bodies, naming where it was;
- every answer carries `X-Content-Type-Options: nosniff`, and API answers `Cache-Control:
  no-store`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException

from guakao_shared.auth import JwtVerifier
from guakao_shared.problems import PROBLEM_JSON, ProblemError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_TYPES = ("multipart/form-data", "application/octet-stream")
# A multipart body wraps the file in boundaries and part headers; the service checks the file
# itself exactly (while streaming it to storage), so the envelope gets this much on top.
MULTIPART_ALLOWANCE = 64 * 1024
_NUL_ESCAPE = re.compile(rb"\\u0000", re.IGNORECASE)
_NUL_IN_QUERY = re.compile(rb"%00|\x00")


class _Refused(Exception):
    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


class RequestGuard:
    def __init__(
        self,
        app: App,
        *,
        verifier: JwtVerifier,
        max_json_bytes: int,
        max_upload_bytes: int,
    ) -> None:
        self.app, self.verifier = app, verifier
        self.max_json, self.max_upload = max_json_bytes, max_upload_bytes + MULTIPART_ALLOWANCE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/v1/")
        send = _with_security_headers(send, api=api)
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        try:
            if _NUL_IN_QUERY.search(scope.get("query_string", b"")) or "\x00" in scope["path"]:
                raise _Refused(
                    422,
                    "Invalid request",
                    "query: text must not contain NUL characters",
                    errors=[{"field": "query", "rule": "no_nul", "message": "NUL character"}],
                )
            if api:
                await self._authenticate(scope, headers)
            limit = self._limit(headers)
            declared = headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                raise _too_large(limit)
        except _Refused as refused:
            await _answer(send, scope, refused)
            return
        is_json = headers.get("content-type", b"").split(b";")[0].strip().endswith(b"json")
        await self.app(scope, _LimitedBody(receive, limit, check_nul=is_json), send)

    def _limit(self, headers: dict[str, bytes]) -> int:
        kind = headers.get("content-type", b"").decode("latin-1").lower()
        return self.max_upload if kind.startswith(UPLOAD_TYPES) else self.max_json

    async def _authenticate(self, scope: Scope, headers: dict[str, bytes]) -> None:
        scheme, _, token = headers.get("authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Refused(
                401,
                "Unauthorized",
                "a bearer token is required (Authorization: Bearer <jwt>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = await self.verifier.verify(token.strip())
        except ProblemError as exc:
            raise _Refused(exc.status, exc.title, exc.detail, headers=exc.headers) from exc
        scope.setdefault("state", {})["principal"] = principal


def _too_large(limit: int) -> _Refused:
    return _Refused(
        413,
        "Payload too large",
        f"the request body exceeds the limit of {limit} bytes for this kind of content",
        limit=limit,
    )


class _LimitedBody:
    """The request body as the route reads it, refused once it passes the limit or, for JSON,
    once it holds an escaped NUL."""

    def __init__(self, receive: Receive, limit: int, *, check_nul: bool) -> None:
        self._receive, self._limit, self._check_nul = receive, limit, check_nul
        self._size, self._tail = 0, b""

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self._size += len(chunk)
            if self._size > self._limit:
                raise _BodyRefused(_too_large(self._limit))
            if self._check_nul:
                window = self._tail + chunk
                if _NUL_ESCAPE.search(window):
                    raise _BodyRefused(
                        _Refused(
                            422,
                            "Invalid request",
                            "body: text must not contain NUL characters (\\u0000)",
                            errors=[
                                {"field": "body", "rule": "no_nul", "message": "NUL character"}
                            ],
                        )
                    )
                self._tail = window[-5:]
        return message


class _BodyRefused(StarletteHTTPException):
    """Raised while the route reads the body. An HTTPException, because FastAPI turns any
    other error from reading a body into a bare 400; rendered as problem+json like the rest."""

    def __init__(self, refused: _Refused) -> None:
        # the rest of the body is not read: the connection cannot carry another request
        super().__init__(refused.status, refused.detail, headers={"Connection": "close"})
        self.problem_title, self.problem_extra = refused.title, refused.extra


def _with_security_headers(send: Send, *, api: bool) -> Send:
    extra = [(b"x-content-type-options", b"nosniff")]
    if api:
        extra.append((b"cache-control", b"no-store"))

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return wrapped


async def _answer(send: Send, scope: Scope, refused: _Refused) -> None:
    extra = dict(refused.extra)
    headers = extra.pop("headers", None) or {}
    body = json.dumps(
        {
            "type": "about:blank",
            "title": refused.title,
            "status": refused.status,
            "detail": refused.detail,
            "instance": scope["path"],
            **extra,
        }
    ).encode()
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        # the body was not read: the connection cannot be reused for another request
        (b"connection", b"close"),
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": refused.status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
