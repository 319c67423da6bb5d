"""The OpenAPI document every service publishes, made to tell the truth about refusals.

FastAPI documents only the success and a 422 with its own validation error shape; the services
answer problem+json (RFC 9457) for every refusal. `document_problems` rewrites a generated
document once, for every service (the runtime installs it on the app):

- every operation lists each status it can be refused with (401 and 403 where a token is
  needed, 404 where it names a resource, 409 for commands, 413 and 415 where it takes a body,
  422 everywhere, 500), each as `application/problem+json` with the `Problem` schema;
- FastAPI's `HTTPValidationError` and `ValidationError` disappear;
- an optional parameter is documented as its type, not "its type or null" (a query string or a
  header cannot carry a JSON null);
- the text rule every service enforces at the edge (no NUL characters) is in the info.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from guakao_shared.problems import PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"
COMMANDS = frozenset({"post", "put", "patch", "delete"})
METHODS = COMMANDS | {"get", "head", "options", "trace"}

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "An RFC 9457 problem: why the request was refused. Refusals of the input "
        "name each field and the rule it broke in `errors`; other members may be added (e.g. "
        "`required_roles` on a 403, `limit` on a 413).",
        "type": "object",
        "required": ["type", "title", "status", "detail", "instance"],
        "properties": {
            "type": {"type": "string", "description": "a URI naming the kind of problem"},
            "title": {"type": "string", "description": "a short summary of the kind"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "what went wrong with this request"},
            "instance": {"type": "string", "description": "the path that was requested"},
            "errors": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ProblemFieldError"},
            },
        },
        "additionalProperties": True,
    },
    "ProblemFieldError": {
        "title": "ProblemFieldError",
        "description": "One field of the request and the rule it broke.",
        "type": "object",
        "required": ["field", "rule", "message"],
        "properties": {
            "field": {"type": "string", "description": "dotted path of the field, e.g. a.b.0"},
            "rule": {"type": "string", "description": "the rule, e.g. missing, max_length"},
            "message": {"type": "string"},
        },
        "additionalProperties": True,
    },
}

# What each status means, said once for every operation that can answer it.
STATUS_DESCRIPTIONS = {
    400: "The body could not be parsed (a malformed multipart envelope)",
    401: "No bearer token, or one that is invalid or expired",
    403: "The token's roles or the caller's relation to the resource do not permit this",
    404: "A resource the request names does not exist or is not visible to the caller",
    409: "The resource's state does not allow this now, or another request changed it first",
    413: "The body is larger than this operation accepts (answered before it is read)",
    415: "The content type of the body or of an uploaded file is not accepted",
    422: "The input breaks a rule: `errors` names each field and the rule",
    500: "An unexpected error; it is logged, and the connection is closed",
}

TEXT_RULE = (
    "\n\nEvery refusal is `application/problem+json` (see the `Problem` schema). Text anywhere "
    "in a request (query, path, JSON, form fields, file names) must not contain NUL characters: "
    "it is refused with 422."
)


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": STATUS_DESCRIPTIONS[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": "the authentication scheme (Bearer)",
                "schema": {"type": "string"},
            }
        }
    return response


def refusals_of(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The problem statuses an operation can answer (its own `x-problems` may add more)."""
    statuses = {422, 500}
    if operation.get("security"):
        statuses |= {401, 403}
    has_body = "requestBody" in operation
    if "{" in path or has_body:
        statuses.add(404)
    if method in COMMANDS:
        statuses.add(409)
    if has_body:
        statuses.add(413)
        content = operation["requestBody"].get("content", {})
        if any(kind.startswith("multipart/") for kind in content):
            statuses |= {400, 415}
    statuses |= {int(s) for s in operation.pop("x-problems", [])}
    return statuses


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` of an optional parameter becomes X (keeping its title, description)."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    kept = [o for o in options if o != {"type": "null"}]
    if len(kept) == len(options):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a generated OpenAPI document in place (and return it); see the module doc."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(PROBLEM_SCHEMAS)
    info = document.setdefault("info", {})
    if TEXT_RULE not in info.get("description", ""):
        info["description"] = info.get("description", "") + TEXT_RULE
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in sorted(refusals_of(path, method, operation)):
                responses.setdefault(str(status), _problem_response(status))
            for parameter in operation.get("parameters", []):
                if "schema" in parameter:
                    parameter["schema"] = _without_null(parameter["schema"])
    return document


def install_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Make `app.openapi()` (and /openapi.json) answer the rewritten document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                    separate_input_output_schemas=app.separate_input_output_schemas,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return openapi
