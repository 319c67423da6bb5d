"""Use cases of approvals-svc: open a case on request, decide a task, answer with the outcome."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from guakao_shared.auth import Principal
from guakao_shared.events import ApprovalGranted, ApprovalRejected, ApprovalRequested, Envelope
from guakao_shared.inbox import PermanentError

from approvals_svc.domain.model import (
    ApprovalCase,
    CaseDecided,
    CaseStatus,
    Decider,
    Decision,
    UnknownPolicy,
)
from approvals_svc.service_layer.unit_of_work import ApprovalsUnitOfWork

log = logging.getLogger(__name__)


class TaskNotFound(Exception):
    def __init__(self, task_id: uuid.UUID) -> None:
        super().__init__(f"task {task_id} does not exist")


def now() -> datetime:
    return datetime.now(UTC)


async def open_approval_case(
    envelope: Envelope, payload: ApprovalRequested, uow: ApprovalsUnitOfWork
) -> None:
    """Consumer: a service asked for an approval; open the case from the named policy."""
    if await uow.cases.exists_for_request(payload.request_id):
        return
    try:
        case = ApprovalCase.open(
            request_id=payload.request_id,
            subject_type=payload.subject_type,
            subject_id=payload.subject_id,
            case_id=envelope.case_id,
            policy_name=payload.policy,
            title=payload.title,
            requester=payload.requester,
            department=payload.department,
            now=now(),
        )
    except UnknownPolicy as exc:
        raise PermanentError(str(exc)) from exc
    await uow.cases.add(case)
    log.info("opened approval case %s for %s %s", case.id, payload.subject_type, payload.subject_id)


async def decide(
    uow: ApprovalsUnitOfWork,
    *,
    task_id: uuid.UUID,
    decision: Decision,
    comment: str | None,
    principal: Principal,
) -> ApprovalCase:
    case = await uow.cases.get_by_task(task_id)
    if case is None:
        raise TaskNotFound(task_id)
    case.decide(
        task_id, decision, by=Decider(principal.sub, principal.roles), comment=comment, now=now()
    )
    await uow.cases.save(case)
    for event in case.events:
        if isinstance(event, CaseDecided):
            outcome = ApprovalGranted if event.status == CaseStatus.APPROVED else ApprovalRejected
            uow.emit(
                outcome(
                    request_id=case.request_id,
                    approval_case_id=case.id,
                    subject_type=case.subject_type,
                    subject_id=case.subject_id,
                    decided_by=event.decided_by,
                    comment=event.comment,
                ),
                case_id=case.case_id,
                actor=principal.as_actor(),
            )
    case.events.clear()
    return case
