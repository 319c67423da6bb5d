"""Loads and saves the Application aggregate, with optimistic locking on its version."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from applications_svc.adapters.orm import application_documents, application_history, applications
from applications_svc.domain.model import (
    Application,
    CaseStatus,
    Document,
    Money,
    Personnel,
    Resources,
    Risk,
    StatusChange,
)


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
        self._seen: dict[uuid.UUID, tuple[int, int, int]] = {}

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
        self._seen[app.id] = (app.version, len(app.documents), len(app.history))
        return app

    async def add(self, app: Application) -> None:
        await self._session.execute(insert(applications).values(**self._row(app), version=1))
        self._seen[app.id] = (1, 0, 0)
        await self._write_children(app, 0, 0)
        app.version = 1

    async def save(self, app: Application) -> None:
        """Write changes; refuse (ConcurrentUpdate) if the row moved on since it was read."""
        version, n_docs, n_hist = self._seen[app.id]
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
        await self._write_children(app, n_docs, n_hist)
        app.version = version + 1
        self._seen[app.id] = (app.version, len(app.documents), len(app.history))

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
        }

    async def _write_children(self, app: Application, n_docs: int, n_hist: int) -> None:
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
