"""Typed dependencies of contracts-svc routes: the command bus on its unit of work, and the
runtime (for the clock a sweep's `now` goes through)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared.api import command_bus
from guakao_shared.commands import CommandBus
from guakao_shared.runtime import ServiceRuntime

Bus = Annotated[CommandBus[ContractsUnitOfWork], Depends(command_bus)]


def _runtime(request: Request) -> ServiceRuntime[ContractsUnitOfWork]:
    runtime: ServiceRuntime[ContractsUnitOfWork] = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime[ContractsUnitOfWork], Depends(_runtime)]
