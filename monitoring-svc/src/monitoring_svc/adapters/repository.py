"""SQLAlchemy repositories of monitoring-svc: the risk register and the process event log."""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from guakao_shared.paging import PageRequest, Slice
from monitoring_svc.adapters.orm import process_events, risks
from monitoring_svc.domain.model import ProcessEvent, Risk


class SqlAlchemyRiskRegister:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, risk: Risk) -> None:
        await self._session.execute(
            insert(risks).values(
                id=risk.id,
                case_id=risk.case_id,
                title=risk.title,
                description=risk.description,
                likelihood=risk.likelihood,
                impact=risk.impact,
                owner=risk.owner,
                mitigation=risk.mitigation,
                raised_by=risk.raised_by,
                raised_at=risk.raised_at,
            )
        )

    async def of_case(self, case_id: uuid.UUID, page: PageRequest) -> Slice[Risk]:
        where = risks.c.case_id == case_id
        total = (await self._session.execute(select(func.count()).where(where))).scalar_one()
        rows = await self._session.execute(
            select(risks)
            .where(where)
            .order_by(risks.c.raised_at, risks.c.id)
            .limit(page.limit)
            .offset(page.offset)
        )
        return Slice([Risk(**row._mapping) for row in rows], total, page)


class SqlAlchemyProcessLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, event: ProcessEvent) -> bool:
        """Record `event` once; False when it is already there (a replay from the start)."""
        inserted = await self._session.execute(
            pg_insert(process_events)
            .values(
                event_id=event.event_id,
                case_id=event.case_id,
                event_type=event.event_type,
                source=event.source,
                stage=event.stage,
                actor=event.actor,
                occurred_at=event.occurred_at,
            )
            .on_conflict_do_nothing()
            .returning(process_events.c.event_id)
        )
        return inserted.first() is not None

    async def of_case(self, case_id: uuid.UUID, page: PageRequest) -> Slice[ProcessEvent]:
        where = process_events.c.case_id == case_id
        total = (await self._session.execute(select(func.count()).where(where))).scalar_one()
        rows = await self._session.execute(
            select(process_events)
            .where(where)
            .order_by(process_events.c.occurred_at, process_events.c.event_id)
            .limit(page.limit)
            .offset(page.offset)
        )
        return Slice([ProcessEvent(**row._mapping) for row in rows], total, page)
