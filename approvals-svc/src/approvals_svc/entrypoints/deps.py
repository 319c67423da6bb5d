"""FastAPI dependencies of approvals-svc: typed aliases the routes use."""

from typing import Annotated

from fastapi import Depends

from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork
from guakao_shared.api import command_bus
from guakao_shared.commands import CommandBus

Bus = Annotated[CommandBus[ApprovalsUnitOfWork], Depends(command_bus)]
