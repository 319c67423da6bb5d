"""FastAPI dependencies of approvals-svc: typed aliases the routes use."""

from typing import Annotated

from fastapi import Depends, Request

from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork
from guakao_shared.api import command_bus
from guakao_shared.clock import Clock
from guakao_shared.commands import CommandBus

Bus = Annotated[CommandBus[ApprovalsUnitOfWork], Depends(command_bus)]


def runtime_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.runtime.clock
    return clock


# The runtime's clock, for a time named in a request body (refused unless overrides are allowed).
RuntimeClock = Annotated[Clock, Depends(runtime_clock)]
