"""Why a use case refuses: plain exceptions the service layer raises without knowing HTTP.

The runtime renders each as problem+json (404, 403, 409, 422) once, for every service, so a use
case says what went wrong and an entrypoint never has to translate it.
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """Base of every refusal. `problem_title` and `problem_extra` go into the problem body."""

    problem_title = "Refused"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.problem_extra: dict[str, Any] = extra


class NotFound(Refused):
    problem_title = "Not found"


class NotPermitted(Refused):
    problem_title = "Forbidden"


class Conflict(Refused):
    problem_title = "Conflict"


class Invalid(Refused):
    """The request is well-formed but breaks a rule: names the field and the rule."""

    problem_title = "Invalid request"

    def __init__(self, field: str, rule: str, message: str, **extra: Any) -> None:
        super().__init__(
            f"{field}: {message}",
            errors=[{"field": field, "rule": rule, "message": message}],
            **extra,
        )
        self.field, self.rule = field, rule


class PermanentError(Exception):
    """Raise from an event handler when retrying cannot help: the message is dead-lettered."""


STATUS_OF: dict[type[Exception], int] = {
    NotFound: 404,
    NotPermitted: 403,
    Conflict: 409,
    Invalid: 422,
}
