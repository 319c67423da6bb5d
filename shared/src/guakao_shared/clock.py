"""The clock every use case reads: the real time, or, where the service allows it (tests and
drills), a time the caller names. One switch per service: `<SERVICE>_ALLOW_CLOCK_OVERRIDE`."""

from __future__ import annotations

from datetime import UTC, datetime

from guakao_shared.refusals import NotPermitted


class Clock:
    def __init__(self, *, allow_override: bool, setting: str) -> None:
        self.allow_override, self._setting = allow_override, setting

    def now(self, override: datetime | None = None) -> datetime:
        if override is None:
            return datetime.now(UTC)
        if not self.allow_override:
            raise NotPermitted(
                f"now: clock override is disabled here ({self._setting})", rule="clock_override"
            )
        return override if override.tzinfo else override.replace(tzinfo=UTC)
