"""FastAPI dependencies of monitoring-svc: typed aliases the routes use."""

from typing import Annotated

from fastapi import Depends

from guakao_shared.api import command_bus
from guakao_shared.commands import CommandBus
from monitoring_svc.service_layer.unit_of_work import MonitoringUnitOfWork

Bus = Annotated[CommandBus[MonitoringUnitOfWork], Depends(command_bus)]
