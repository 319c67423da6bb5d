"""Loads and saves approval cases, with optimistic locking on the case version."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from approvals_svc.adapters.orm import approval_cases, approval_tasks
from approvals_svc.domain.model import ApprovalCase, CaseStatus, Decision, Task, TaskStatus


class ConcurrentUpdate(Exception):
    """The approval case changed since it was read (e.g. two approvers at once)."""


_CASE_FIELDS = (
    "id",
    "request_id",
    "subject_type",
    "subject_id",
    "case_id",
    "policy",
    "policy_version",
    "title",
    "requester",
    "department",
    "created_at",
    "decided_at",
)


class SqlAlchemyApprovalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._seen: dict[uuid.UUID, int] = {}

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
        tasks = (
            await self._session.execute(
                select(approval_tasks)
                .where(approval_tasks.c.approval_case_id == case_id)
                .order_by(approval_tasks.c.step)
            )
        ).all()
        case = ApprovalCase(
            **{f: getattr(row, f) for f in _CASE_FIELDS},
            status=CaseStatus(row.status),
            version=row.version,
            tasks=[
                Task(
                    id=t.id,
                    step=t.step,
                    role=t.role,
                    status=TaskStatus(t.status),
                    decision=Decision(t.decision) if t.decision else None,
                    decided_by=t.decided_by,
                    comment=t.comment,
                    decided_at=t.decided_at,
                    rule=t.rule,
                )
                for t in tasks
            ],
        )
        self._seen[case.id] = case.version
        return case

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
                **{f: getattr(case, f) for f in _CASE_FIELDS},
                status=case.status.value,
                version=1,
            )
        )
        await self._session.execute(
            insert(approval_tasks), [self._task_row(case, t) for t in case.tasks]
        )
        case.version = 1
        self._seen[case.id] = 1

    async def save(self, case: ApprovalCase) -> None:
        expected = self._seen[case.id]
        result = await self._session.execute(
            update(approval_cases)
            .where(approval_cases.c.id == case.id, approval_cases.c.version == expected)
            .values(status=case.status.value, decided_at=case.decided_at, version=expected + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(
                f"approval case {case.id} was decided or changed concurrently; re-read it"
            )
        for task in case.tasks:
            row = self._task_row(case, task)
            await self._session.execute(
                update(approval_tasks).where(approval_tasks.c.id == task.id).values(**row)
            )
        case.version = expected + 1
        self._seen[case.id] = case.version

    @staticmethod
    def _task_row(case: ApprovalCase, task: Task) -> dict[str, Any]:
        row = asdict(task)
        row["status"] = task.status.value
        row["decision"] = task.decision.value if task.decision else None
        return {**row, "approval_case_id": case.id}

    async def open_tasks(
        self, *, roles: frozenset[str], exclude_requester: str, limit: int, offset: int
    ) -> list[Any]:
        """The open tasks of the given roles, oldest first, joined with their case."""
        query = (
            select(
                approval_tasks,
                approval_cases.c.title,
                approval_cases.c.requester,
                approval_cases.c.department,
                approval_cases.c.subject_type,
                approval_cases.c.subject_id,
                approval_cases.c.case_id,
                approval_cases.c.policy,
                approval_cases.c.created_at,
            )
            .join(approval_cases, approval_cases.c.id == approval_tasks.c.approval_case_id)
            .where(
                approval_tasks.c.status == TaskStatus.OPEN.value,
                approval_tasks.c.role.in_(sorted(roles)),
                approval_cases.c.requester != exclude_requester,
            )
            .order_by(approval_cases.c.created_at, approval_tasks.c.id)
            .limit(limit)
            .offset(offset)
        )
        return list((await self._session.execute(query)).all())
