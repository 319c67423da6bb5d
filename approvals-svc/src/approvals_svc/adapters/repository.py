"""Loads and saves approval cases (state as JSONB, optimistic locking on the version), keeps
the task index and the audit trail in step, answers inbox queries, and keeps the directory and
delegations."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from approvals_svc.adapters.orm import (
    approval_cases,
    approval_tasks,
    approval_trail,
    delegations,
    directory_people,
)
from approvals_svc.adapters.views import DelegationEntry, DirectoryEntry, InboxQuery, InboxTask
from approvals_svc.domain.model import (
    Action,
    ApprovalCase,
    CaseStatus,
    Delegation,
    Mode,
    Person,
    Record,
    Step,
    StepRule,
    StepStatus,
    Task,
    TaskStatus,
)
from guakao_shared.paging import PageRequest, Slice


class ConcurrentUpdate(Exception):
    """The approval case changed since it was read (e.g. two approvers at once)."""


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _state(case: ApprovalCase) -> dict[str, Any]:
    def rule(r: StepRule) -> dict[str, Any]:
        d = asdict(r)
        d["time_limit"] = r.time_limit.total_seconds()
        d["mode"] = r.mode.value
        return d

    return {
        "current": case.current,
        "steps": [
            {
                "rule": rule(s.rule),
                "status": s.status.value,
                "round": s.round,
                "opened_at": s.opened_at.isoformat() if s.opened_at else None,
                "reminded": list(s.reminded),
                "escalated": s.escalated,
            }
            for s in case.steps
        ],
        "tasks": [
            {
                **asdict(t),
                "id": str(t.id),
                "status": t.status.value,
                "action": t.action.value if t.action else None,
                "decided_at": t.decided_at.isoformat() if t.decided_at else None,
            }
            for t in case.tasks
        ],
    }


def _steps(raw: list[dict[str, Any]]) -> list[Step]:
    steps = []
    for s in raw:
        r = dict(s["rule"])
        r["time_limit"] = timedelta(seconds=r["time_limit"])
        r["mode"] = Mode(r["mode"])
        for key in ("roles", "users"):
            r[key] = tuple(r[key])
        r["weights"] = tuple(tuple(w) for w in r["weights"])
        steps.append(
            Step(
                StepRule(**r),
                StepStatus(s["status"]),
                s["round"],
                _dt(s["opened_at"]),
                tuple(s["reminded"]),
                s["escalated"],
            )
        )
    return steps


def _tasks(raw: list[dict[str, Any]]) -> list[Task]:
    return [
        Task(
            **{
                **t,
                "id": uuid.UUID(t["id"]),
                "status": TaskStatus(t["status"]),
                "action": Action(t["action"]) if t["action"] else None,
                "decided_at": _dt(t["decided_at"]),
            }
        )
        for t in raw
    ]


_COLUMNS = (
    "id",
    "request_id",
    "subject_type",
    "subject_id",
    "case_id",
    "policy",
    "process_version",
    "title",
    "requester",
    "department",
    "created_at",
)


class SqlAlchemyApprovalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._seen: dict[uuid.UUID, tuple[int, int]] = {}

    async def exists_for_request(self, request_id: uuid.UUID) -> bool:
        row = await self._session.execute(
            select(approval_cases.c.id).where(approval_cases.c.request_id == request_id)
        )
        return row.first() is not None

    async def get(self, case_id: uuid.UUID) -> ApprovalCase | None:
        row = (
            await self._session.execute(
                select(approval_cases).where(approval_cases.c.id == case_id)
            )
        ).first()
        if row is None:
            return None
        trail = (
            await self._session.execute(
                select(approval_trail)
                .where(approval_trail.c.approval_case_id == case_id)
                .order_by(approval_trail.c.id)
            )
        ).all()
        case = ApprovalCase(
            **{c: getattr(row, c) for c in _COLUMNS},
            steps=_steps(row.state["steps"]),
            tasks=_tasks(row.state["tasks"]),
            trail=[
                Record(
                    at=t.at,
                    action=t.action,
                    actor=t.actor,
                    step=t.step,
                    task_id=t.task_id,
                    on_behalf_of=t.on_behalf_of,
                    rule=t.rule,
                    comment=t.comment,
                    detail=t.detail,
                )
                for t in trail
            ],
            status=CaseStatus(row.status),
            current=row.state["current"],
            closed_at=row.closed_at,
            version=row.version,
        )
        self._seen[case.id] = (case.version, len(case.trail))
        return case

    async def get_by_request(self, request_id: uuid.UUID) -> ApprovalCase | None:
        row = (
            await self._session.execute(
                select(approval_cases.c.id).where(approval_cases.c.request_id == request_id)
            )
        ).first()
        return None if row is None else await self.get(row.id)

    async def get_by_task(self, task_id: uuid.UUID) -> ApprovalCase | None:
        row = (
            await self._session.execute(
                select(approval_tasks.c.approval_case_id).where(approval_tasks.c.id == task_id)
            )
        ).first()
        return None if row is None else await self.get(row.approval_case_id)

    async def add(self, case: ApprovalCase) -> None:
        await self._session.execute(
            insert(approval_cases).values(
                **{c: getattr(case, c) for c in _COLUMNS}, **self._mutable(case), version=1
            )
        )
        self._seen[case.id] = (1, 0)
        case.version = 1
        await self._write_children(case, 0)

    async def save(self, case: ApprovalCase) -> None:
        expected, n_trail = self._seen[case.id]
        result = await self._session.execute(
            update(approval_cases)
            .where(approval_cases.c.id == case.id, approval_cases.c.version == expected)
            .values(**self._mutable(case), version=expected + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(
                f"approval case {case.id} was changed concurrently (another decision won); "
                "re-read it and retry"
            )
        case.version = expected + 1
        await self._write_children(case, n_trail)

    @staticmethod
    def _mutable(case: ApprovalCase) -> dict[str, Any]:
        return {
            "status": case.status.value,
            "due_at": case.due_at(),
            "closed_at": case.closed_at,
            "state": _state(case),
        }

    async def _write_children(self, case: ApprovalCase, n_trail: int) -> None:
        await self._session.execute(
            delete(approval_tasks).where(approval_tasks.c.approval_case_id == case.id)
        )
        if case.tasks:
            await self._session.execute(
                insert(approval_tasks),
                [
                    {
                        "id": t.id,
                        "approval_case_id": case.id,
                        "step": case.steps[t.step].rule.name,
                        "round": t.round,
                        "assignee": t.assignee,
                        "pool_role": t.pool_role,
                        "pool_department": t.pool_department,
                        "escalation": t.escalation,
                        "weight": t.weight,
                        "status": t.status.value,
                        "action": t.action.value if t.action else None,
                        "decided_by": t.decided_by,
                        "on_behalf_of": t.on_behalf_of,
                        "decided_at": t.decided_at,
                    }
                    for t in case.tasks
                ],
            )
        new = case.trail[n_trail:]
        if new:
            await self._session.execute(
                insert(approval_trail), [{**asdict(r), "approval_case_id": case.id} for r in new]
            )
        self._seen[case.id] = (case.version, len(case.trail))

    async def inbox(self, query: InboxQuery, page: PageRequest) -> Slice[InboxTask]:
        """Tasks the caller (or the people they act for) can decide, soonest due first."""
        clauses = []
        for user, role, department in query.who:
            if user:
                clauses.append(approval_tasks.c.assignee == user)
            if role:
                clauses.append(
                    and_(
                        approval_tasks.c.pool_role == role,
                        or_(
                            approval_tasks.c.pool_department.is_(None),
                            approval_tasks.c.pool_department == department,
                        ),
                    )
                )
        where: list[ColumnElement[bool]] = [
            or_(*clauses) if clauses else false(),
            approval_tasks.c.status == query.status,
            approval_cases.c.requester != query.requester_not,
        ]
        if query.policy:
            where.append(approval_cases.c.policy == query.policy)
        if query.subject_type:
            where.append(approval_cases.c.subject_type == query.subject_type)
        if query.overdue_at is not None:
            where.append(approval_cases.c.due_at < query.overdue_at)
        joined = approval_tasks.join(
            approval_cases, approval_cases.c.id == approval_tasks.c.approval_case_id
        )
        total = (
            await self._session.execute(select(func.count()).select_from(joined).where(*where))
        ).scalar_one()
        rows = await self._session.execute(
            select(
                approval_tasks,
                approval_cases.c.title,
                approval_cases.c.requester,
                approval_cases.c.department,
                approval_cases.c.subject_type,
                approval_cases.c.subject_id,
                approval_cases.c.case_id,
                approval_cases.c.policy,
                approval_cases.c.due_at,
                approval_cases.c.created_at,
            )
            .select_from(joined)
            .where(*where)
            .order_by(approval_cases.c.due_at.nulls_last(), approval_tasks.c.id)
            .limit(page.limit)
            .offset(page.offset)
        )
        return Slice([InboxTask(**row._mapping) for row in rows], total, page)

    async def open_case_ids(self) -> list[uuid.UUID]:
        rows = await self._session.execute(
            select(approval_cases.c.id).where(approval_cases.c.status == CaseStatus.OPEN.value)
        )
        return [r.id for r in rows]


class SqlAlchemyDirectory:
    """The directory as the domain reads it: loaded once per unit of work."""

    def __init__(self, people: dict[str, Person]) -> None:
        self._people = people

    @classmethod
    async def load(cls, session: AsyncSession) -> SqlAlchemyDirectory:
        rows = (await session.execute(select(directory_people))).all()
        return cls(
            {r.sub: Person(r.sub, r.department, frozenset(r.roles), r.manager) for r in rows}
        )

    def person(self, sub: str) -> Person | None:
        return self._people.get(sub)

    def holders(self, role: str, department: str | None) -> list[Person]:
        return [
            p
            for p in self._people.values()
            if role in p.roles and (department is None or p.department == department)
        ]

    def reporting_line(self, sub: str) -> list[str]:
        line, seen = [], {sub}
        person = self._people.get(sub)
        while person is not None and person.manager and person.manager not in seen:
            line.append(person.manager)
            seen.add(person.manager)
            person = self._people.get(person.manager)
        return line


class SqlAlchemyPeople:
    """The directory's people: kept by the process admin, read by the engine."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def directory(self) -> SqlAlchemyDirectory:
        return await SqlAlchemyDirectory.load(self._session)

    async def put(self, entry: DirectoryEntry) -> None:
        values = {
            "sub": entry.sub,
            "name": entry.name,
            "department": entry.department,
            "roles": list(entry.roles),
            "manager": entry.manager,
            "updated_at": entry.updated_at,
        }
        await self._session.execute(
            pg_insert(directory_people)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["sub"], set_={k: v for k, v in values.items() if k != "sub"}
            )
        )

    async def list(self, page: PageRequest) -> Slice[DirectoryEntry]:
        total = (
            await self._session.execute(select(func.count()).select_from(directory_people))
        ).scalar_one()
        rows = await self._session.execute(
            select(directory_people)
            .order_by(directory_people.c.sub)
            .limit(page.limit)
            .offset(page.offset)
        )
        return Slice(
            [
                DirectoryEntry(
                    sub=r.sub,
                    name=r.name,
                    department=r.department,
                    roles=tuple(r.roles),
                    manager=r.manager,
                    updated_at=r.updated_at,
                )
                for r in rows
            ],
            total,
            page,
        )


class SqlAlchemyDelegations:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, entry: DelegationEntry) -> None:
        await self._session.execute(insert(delegations).values(**asdict(entry)))

    async def active_for(self, delegate: str, now: datetime) -> list[Delegation]:
        """The delegations `delegate` may act on at `now`."""
        rows = await self._session.execute(
            select(delegations).where(
                delegations.c.delegate == delegate,
                delegations.c.revoked_at.is_(None),
                delegations.c.starts <= now,
                delegations.c.ends > now,
            )
        )
        return [Delegation(r.delegator, r.delegate, r.starts, r.ends) for r in rows]

    async def given_or_received(self, sub: str, page: PageRequest) -> Slice[DelegationEntry]:
        where = (delegations.c.delegator == sub) | (delegations.c.delegate == sub)
        total = (
            await self._session.execute(select(func.count()).select_from(delegations).where(where))
        ).scalar_one()
        rows = await self._session.execute(
            select(delegations)
            .where(where)
            .order_by(delegations.c.created_at, delegations.c.id)
            .limit(page.limit)
            .offset(page.offset)
        )
        return Slice([DelegationEntry(**r._mapping) for r in rows], total, page)

    async def revoke(self, delegation_id: uuid.UUID, *, delegator: str, now: datetime) -> bool:
        """Revoke an active delegation of `delegator`; False when there is none."""
        result = await self._session.execute(
            update(delegations)
            .where(
                delegations.c.id == delegation_id,
                delegations.c.delegator == delegator,
                delegations.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
