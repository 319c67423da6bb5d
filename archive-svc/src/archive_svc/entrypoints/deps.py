"""FastAPI dependencies of archive-svc: typed aliases the routes use."""

from typing import Annotated

from fastapi import Depends, Request

from archive_svc.service_layer.unit_of_work import ArchiveUnitOfWork
from guakao_shared.api import command_bus
from guakao_shared.clock import Clock
from guakao_shared.commands import CommandBus

Bus = Annotated[CommandBus[ArchiveUnitOfWork], Depends(command_bus)]


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.runtime.clock
    return clock


# For a time named in the request (`now` of a disposition): `clock.now(body.now)` refuses it
# unless ARCHIVE_ALLOW_CLOCK_OVERRIDE is set (tests, drills).
ServiceClock = Annotated[Clock, Depends(_clock)]
