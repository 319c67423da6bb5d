"""Loads and saves the Application aggregate, with optimistic locking on its version."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from applications_svc.adapters.orm import (
    application_documents,
    application_history,
    application_plan_versions,
    applications,
)
from applications_svc.domain.model import (
    Application,
    CaseStatus,
    CaseSummary,
    Document,
    Money,
    Personnel,
    Plan,
    Resources,
    Risk,
    SignOff,
    StatusChange,
)
from guakao_shared.paging import PageRequest, Slice


class ConcurrentUpdate(Exception):
    """Somebody else changed the case since it was read: the caller must re-read and retry."""


def _content(app: Application) -> dict[str, Any]:
    return {
        "background": app.background,
        "objectives": app.objectives,
        "expected_benefits": app.expected_benefits,
        "resources": {
            "technology": list(app.resources.technology),
            "funds": {
                "amount": str(app.resources.funds.amount),
                "currency": app.resources.funds.currency,
            },
            "personnel": [
                {
                    **asdict(p),
                    "effort_person_days": None
                    if p.effort_person_days is None
                    else str(p.effort_person_days),
                }
                for p in app.resources.personnel
            ],
        },
        "risks": [asdict(r) for r in app.risks],
    }


def _plan_json(plan: Plan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {
        "version": plan.version,
        "technical": plan.technical,
        "finance": plan.finance,
        "signoffs": {k: {**asdict(v), "at": v.at.isoformat()} for k, v in plan.signoffs.items()},
        "updated_by": plan.updated_by,
        "updated_at": plan.updated_at.isoformat() if plan.updated_at else None,
    }


def _plan(raw: dict[str, Any] | None) -> Plan | None:
    if raw is None:
        return None
    return Plan(
        version=raw["version"],
        technical=raw["technical"],
        finance=raw["finance"],
        signoffs={
            k: SignOff(v["section"], v["by"], datetime.fromisoformat(v["at"]), v["plan_version"])
            for k, v in raw["signoffs"].items()
        },
        updated_by=raw["updated_by"],
        updated_at=datetime.fromisoformat(raw["updated_at"]) if raw["updated_at"] else None,
    )


def _resources(raw: dict[str, Any]) -> Resources:
    return Resources(
        technology=tuple(raw["technology"]),
        funds=Money(Decimal(raw["funds"]["amount"]), raw["funds"]["currency"]),
        personnel=tuple(
            Personnel(
                p["role"],
                p["headcount"],
                None if p.get("effort_person_days") is None else Decimal(p["effort_person_days"]),
            )
            for p in raw["personnel"]
        ),
    )


class SqlAlchemyApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._seen: dict[uuid.UUID, tuple[int, int, int, int]] = {}

    async def get(
        self, application_id: uuid.UUID, *, for_update: bool = False
    ) -> Application | None:
        query = select(applications).where(applications.c.id == application_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        docs = (
            await self._session.execute(
                select(application_documents)
                .where(application_documents.c.application_id == application_id)
                .order_by(application_documents.c.uploaded_at)
            )
        ).all()
        hist = (
            await self._session.execute(
                select(application_history)
                .where(application_history.c.application_id == application_id)
                .order_by(application_history.c.id)
            )
        ).all()
        c = row.content
        app = Application(
            id=row.id,
            applicant=row.applicant,
            department=row.department,
            title=row.title,
            background=c["background"],
            objectives=c["objectives"],
            expected_benefits=c["expected_benefits"],
            resources=_resources(c["resources"]),
            start_date=row.start_date,
            end_date=row.end_date,
            risks=tuple(Risk(**r) for r in c["risks"]),
            created_at=row.created_at,
            status=CaseStatus(row.status),
            updated_at=row.updated_at,
            submitted_at=row.submitted_at,
            process_version=row.process_version,
            approval_request_id=row.approval_request_id,
            plan=_plan(row.plan),
            version=row.version,
            documents=[
                Document(
                    id=d.id,
                    document_type=d.document_type,
                    filename=d.filename,
                    content_type=d.content_type,
                    size=d.size,
                    sha256=d.sha256,
                    bucket=d.bucket,
                    key=d.key,
                    version_id=d.version_id,
                    uploaded_by=d.uploaded_by,
                    uploaded_at=d.uploaded_at,
                )
                for d in docs
            ],
            history=[
                StatusChange(
                    h.at,
                    CaseStatus(h.from_status) if h.from_status else None,
                    CaseStatus(h.to_status),
                    h.actor,
                    h.note,
                )
                for h in hist
            ],
        )
        self._remember(app)
        return app

    def _remember(self, app: Application) -> None:
        plan_version = app.plan.version if app.plan else 0
        self._seen[app.id] = (app.version, len(app.documents), len(app.history), plan_version)

    async def add(self, app: Application) -> None:
        await self._session.execute(insert(applications).values(**self._row(app), version=1))
        self._seen[app.id] = (1, 0, 0, 0)
        await self._write_children(app, 0, 0, 0)
        app.version = 1
        self._remember(app)

    async def save(self, app: Application) -> None:
        """Write changes; refuse (ConcurrentUpdate) if the row moved on since it was read."""
        version, n_docs, n_hist, plan_version = self._seen[app.id]
        result = await self._session.execute(
            update(applications)
            .where(applications.c.id == app.id, applications.c.version == version)
            .values(**self._row(app), version=version + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(
                f"application {app.id} was changed by someone else (expected version {version}); "
                "re-read it and retry"
            )
        await self._write_children(app, n_docs, n_hist, plan_version)
        app.version = version + 1
        self._remember(app)

    async def search(
        self,
        *,
        departments: list[str] | None,
        applicant: str,
        statuses: list[CaseStatus] | None,
        department: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        text: str | None,
        sort: str,
        page: PageRequest,
    ) -> Slice[CaseSummary]:
        """A filtered, sorted page of cases and the total that matched. `departments` None: all;
        otherwise those departments' cases and the `applicant`'s own."""
        query = select(
            applications.c.id,
            applications.c.title,
            applications.c.status,
            applications.c.department,
            applications.c.applicant,
            applications.c.start_date,
            applications.c.end_date,
            applications.c.created_at,
            applications.c.updated_at,
            applications.c.submitted_at,
            applications.c.process_version,
            applications.c.content["resources"]["funds"].label("funds"),
        )
        if departments is not None:
            query = query.where(
                or_(
                    applications.c.department.in_(departments),
                    applications.c.applicant == applicant,
                )
            )
        if statuses is not None:
            query = query.where(applications.c.status.in_([s.value for s in statuses]))
        if department:
            query = query.where(applications.c.department == department)
        if created_from:
            query = query.where(applications.c.created_at >= created_from)
        if created_to:
            query = query.where(applications.c.created_at < created_to)
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            query = query.where(
                or_(
                    applications.c.title.ilike(pattern),
                    applications.c.content["background"].astext.ilike(pattern),
                    applications.c.content["objectives"].astext.ilike(pattern),
                )
            )
        total = (
            await self._session.execute(select(func.count()).select_from(query.subquery()))
        ).scalar_one()
        column = SORTS[sort.lstrip("-")]
        ordered = column.desc() if sort.startswith("-") else column.asc()
        rows = (
            await self._session.execute(
                query.order_by(ordered, applications.c.id).limit(page.limit).offset(page.offset)
            )
        ).all()
        return Slice([_summary(r) for r in rows], int(total), page)

    def _row(self, app: Application) -> dict[str, Any]:
        return {
            "id": app.id,
            "applicant": app.applicant,
            "department": app.department,
            "title": app.title,
            "status": app.status.value,
            "start_date": app.start_date,
            "end_date": app.end_date,
            "content": _content(app),
            "created_at": app.created_at,
            "updated_at": app.updated_at or app.created_at,
            "submitted_at": app.submitted_at,
            "process_version": app.process_version,
            "approval_request_id": app.approval_request_id,
            "plan": _plan_json(app.plan),
        }

    async def _write_children(
        self, app: Application, n_docs: int, n_hist: int, plan_version: int
    ) -> None:
        if app.plan is not None and app.plan.version > plan_version:
            await self._session.execute(
                insert(application_plan_versions).values(
                    application_id=app.id,
                    version=app.plan.version,
                    snapshot={"technical": app.plan.technical, "finance": app.plan.finance},
                    edited_by=app.plan.updated_by or app.applicant,
                    edited_at=app.plan.updated_at or app.updated_at,
                )
            )
        new_docs = app.documents[n_docs:]
        if new_docs:
            await self._session.execute(
                insert(application_documents),
                [{**asdict(d), "application_id": app.id} for d in new_docs],
            )
        new_hist = app.history[n_hist:]
        if new_hist:
            await self._session.execute(
                insert(application_history),
                [
                    {
                        "application_id": app.id,
                        "at": h.at,
                        "from_status": h.from_status.value if h.from_status else None,
                        "to_status": h.to_status.value,
                        "actor": h.actor,
                        "note": h.note,
                    }
                    for h in new_hist
                ],
            )


SORTS = {
    "created_at": applications.c.created_at,
    "updated_at": applications.c.updated_at,
    "title": applications.c.title,
    "status": applications.c.status,
    "start_date": applications.c.start_date,
}


def _summary(row: Row[Any]) -> CaseSummary:
    funds = row.funds
    return CaseSummary(
        id=row.id,
        title=row.title,
        status=CaseStatus(row.status),
        department=row.department,
        applicant=row.applicant,
        requested_funds=Money(Decimal(funds["amount"]), funds["currency"]) if funds else None,
        start_date=row.start_date,
        end_date=row.end_date,
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        process_version=row.process_version,
    )
