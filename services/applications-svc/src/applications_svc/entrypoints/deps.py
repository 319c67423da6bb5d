"""Typed dependencies of applications-svc's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork
from guakao_shared.api import command_bus
from guakao_shared.commands import CommandBus

Bus = Annotated[CommandBus[ApplicationsUnitOfWork], Depends(command_bus)]
