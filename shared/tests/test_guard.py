"""The request guard answers before any route reads the body: no token, too large, NUL."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

import pytest
from fastapi import FastAPI

from guakao_shared.auth import CurrentUser, JwtVerifier, issue_dev_token
from guakao_shared.devkeys import DEV_ISSUER, dev_jwks_url
from guakao_shared.guard import MULTIPART_ALLOWANCE, RequestGuard
from guakao_shared.problems import install_problem_handlers

MAX_JSON, MAX_UPLOAD = 4096, 16 * 1024
TOKEN = issue_dev_token("alice", ["applicant"], "it")


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app, {})

    @app.post("/v1/echo")
    async def echo(body: dict[str, Any], user: CurrentUser) -> dict[str, Any]:
        return {"sub": user.sub, "body": body}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(
        RequestGuard,
        verifier=JwtVerifier(dev_jwks_url(), issuer=DEV_ISSUER, audience="guakao"),
        max_json_bytes=MAX_JSON,
        max_upload_bytes=MAX_UPLOAD,
    )
    app.state.jwt_verifier = None  # the guard verified the token: the route must not need it
    return app


class Call:
    """One raw ASGI request: what the app read of the body and what it answered."""

    def __init__(self) -> None:
        self.chunks_read = 0
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""

    async def run(
        self,
        path: str,
        chunks: list[bytes],
        *,
        headers: dict[str, str],
        query: bytes = b"",
        method: str = "POST",
    ) -> Call:
        pending = list(chunks)

        async def receive() -> dict[str, Any]:
            self.chunks_read += 1
            chunk = pending.pop(0) if pending else b""
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                self.body += message.get("body", b"")

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        await _app()(scope, receive, send)
        return self

    @property
    def problem(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


def _json(token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    headers = {"content-type": "application/json", **extra}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


@pytest.mark.parametrize("token", [None, "not-a-jwt"])
async def test_an_api_request_without_a_valid_token_is_refused_before_its_body_is_read(
    token: str | None,
) -> None:
    call = await Call().run(
        "/v1/echo",
        [b"x" * 1_000_000] * 100,
        headers=_json(token, **{"content-length": str(100_000_000)}),
    )

    assert call.status == 401
    assert call.chunks_read == 0
    assert call.headers["www-authenticate"].startswith("Bearer")
    assert call.headers["connection"] == "close"
    assert call.headers["content-type"] == "application/problem+json"


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    call = await Call().run(
        "/v1/echo", [b"{}"], headers=_json(**{"content-length": str(MAX_JSON + 1)})
    )
    assert (call.status, call.chunks_read) == (413, 0)
    assert call.problem["limit"] == MAX_JSON


async def test_a_streamed_body_is_refused_once_it_passes_the_limit() -> None:
    call = await Call().run("/v1/echo", [b'{"a": "' + b"x" * 1000] * 10, headers=_json())
    assert call.status == 413
    assert call.chunks_read < 10
    assert call.headers["connection"] == "close"
    assert call.problem["title"] == "Payload too large"


async def test_uploads_get_their_own_limit_with_room_for_the_multipart_envelope() -> None:
    near = str(MAX_UPLOAD + MULTIPART_ALLOWANCE)
    over = str(MAX_UPLOAD + MULTIPART_ALLOWANCE + 1)
    kind = "multipart/form-data; boundary=x"
    at_limit = await Call().run(
        "/v1/echo", [b"--x--"], headers=_json(**{"content-type": kind, "content-length": near})
    )
    refused = await Call().run(
        "/v1/echo", [b"--x--"], headers=_json(**{"content-type": kind, "content-length": over})
    )
    assert at_limit.status != 413
    assert refused.status == 413


@pytest.mark.parametrize("text", [b'{"a": "x\\u0000y"}', b'{"a": "\\U0000"}'])
async def test_json_text_with_a_nul_is_refused_naming_the_rule(text: bytes) -> None:
    call = await Call().run("/v1/echo", [text], headers=_json())
    assert call.status == 422
    assert call.problem["errors"][0]["rule"] == "no_nul"


async def test_a_nul_split_across_two_chunks_is_still_found() -> None:
    call = await Call().run("/v1/echo", [b'{"a": "x\\u00', b'00y"}'], headers=_json())
    assert call.status == 422


@pytest.mark.parametrize("query", [b"q=a%00b", b"q=a\x00b"])
async def test_a_query_string_with_a_nul_is_refused(query: bytes) -> None:
    call = await Call().run("/v1/echo", [b"{}"], headers=_json(), query=query)
    assert call.status == 422
    assert call.problem["errors"][0]["field"] == "query"


async def test_a_good_request_reaches_the_route_with_the_guard_s_principal_and_safe_headers() -> (
    None
):
    call = await Call().run("/v1/echo", [b'{"a": 1}'], headers=_json())
    assert call.status == 200, call.body
    assert call.problem == {"sub": "alice", "body": {"a": 1}}
    assert call.headers["x-content-type-options"] == "nosniff"
    assert call.headers["cache-control"] == "no-store"


async def test_probes_need_no_token() -> None:
    call = await Call().run("/health/live", [], headers={}, method="GET")
    assert call.status == 200
    assert "cache-control" not in call.headers
