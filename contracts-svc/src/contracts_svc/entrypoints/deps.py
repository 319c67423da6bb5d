"""FastAPI dependencies of contracts-svc: typed aliases the routes use."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from contracts_svc.service_layer.unit_of_work import ContractsUnitOfWork
from guakao_shared.api import command_bus
from guakao_shared.commands import CommandBus

Bus = Annotated[CommandBus[ContractsUnitOfWork], Depends(command_bus)]
