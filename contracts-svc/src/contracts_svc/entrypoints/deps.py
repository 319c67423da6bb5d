"""Typed dependencies of contracts-svc routes: the command bus on its unit of work, and the
runtime's clock (for a time named in a request body, refused unless overrides are allowed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared.api import command_bus
from guakao_shared.clock import Clock
from guakao_shared.commands import CommandBus

Bus = Annotated[CommandBus[ContractsUnitOfWork], Depends(command_bus)]


def runtime_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.runtime.clock
    return clock


RuntimeClock = Annotated[Clock, Depends(runtime_clock)]
