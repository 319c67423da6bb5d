"""applications-svc's use cases on an in-memory unit of work: what they store, what they refuse
and what they announce. The domain's rules are specified in the other files; these say what the
service does around them (who may ask, where the process definition comes in, which events)."""

from __future__ import annotations

import copy
import hashlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, BinaryIO

import pytest
from applications_builders import (
    A_TECH_LEAD,
    APPLICANT,
    CLAUSES,
    DECIDER,
    REQUIRED,
    THE_APPLICANT,
    application_in,
    attach_document,
    create_application,
    draft_with,
    edit_section,
    envelope,
    new_draft,
    outcome,
    person,
    sign_off_section,
    submit_application,
    submit_plan,
    update_application,
    withdraw_application,
)

from applications_svc.adapters.repository import ConcurrentUpdate
from applications_svc.domain.model import (
    Application,
    CaseStatus,
    CaseSummary,
    MissingMaterials,
    NotTheApplicant,
)
from applications_svc.service_layer import handlers
from applications_svc.service_layer.unit_of_work import ApplicationsUnitOfWork
from guakao_shared.commands import CommandBus
from guakao_shared.events import (
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ApprovalGranted,
    ApprovalRequested,
    ApprovalReturned,
    DocumentRef,
    Money,
    PlanApproved,
)
from guakao_shared.idempotency import IdempotencyKeyReused
from guakao_shared.identity import Principal
from guakao_shared.objectstore import DocumentTooLarge
from guakao_shared.paging import PageRequest, Slice
from guakao_shared.refusals import Invalid, NotFound, NotPermitted, PermanentError
from guakao_shared.testing import RecordingUnitOfWork

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
UPLOAD_LIMIT = 64 * 1024


# ---- the fake unit of work ---------------------------------------------------------------


class MemoryApplications:
    """The repository's behaviour in a dict: each read is a copy, so a refused command changes
    nothing stored (as a rolled-back transaction would)."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Application] = {}
        self.searches: list[dict[str, Any]] = []

    async def get(
        self, application_id: uuid.UUID, *, for_update: bool = False
    ) -> Application | None:
        found = self.rows.get(application_id)
        return copy.deepcopy(found) if found else None

    async def add(self, app: Application) -> None:
        app.version = 1
        self.rows[app.id] = copy.deepcopy(app)

    async def save(self, app: Application) -> None:
        app.version += 1
        self.rows[app.id] = copy.deepcopy(app)

    async def search(self, *, page: PageRequest, **filters: Any) -> Slice[CaseSummary]:
        self.searches.append(filters)
        return Slice([], 0, page)


class MemoryDocuments:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.deleted: list[str] = []

    async def put(
        self,
        *,
        bucket: str,
        key: str,
        stream: BinaryIO,
        max_bytes: int,
        content_type: str,
        filename: str,
        document_type: str,
    ) -> DocumentRef:
        data = stream.read()
        if len(data) > max_bytes:
            raise DocumentTooLarge(f"document exceeds the limit of {max_bytes} bytes")
        self.objects[key] = data
        return DocumentRef(
            bucket=bucket,
            key=key,
            version_id="v1",
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            content_type=content_type,
            filename=filename,
            document_type=document_type,
        )

    async def delete(self, ref: DocumentRef) -> None:
        self.objects.pop(ref.key, None)
        self.deleted.append(ref.key)


class FakeApplicationsUnitOfWork(RecordingUnitOfWork, ApplicationsUnitOfWork):
    def __init__(self, *, now: datetime = NOW) -> None:
        super().__init__(now)
        self.memory = MemoryApplications()
        self.store = MemoryDocuments()
        self.applications = self.memory
        self.documents = self.store
        self.documents_bucket = "guakao-applications"
        self.max_upload_bytes = UPLOAD_LIMIT

    def holding(self, app: Application) -> Application:
        """Arrange: the repository holds `app` (as it would after earlier commands)."""
        self.memory.rows[app.id] = copy.deepcopy(app)
        return app

    def stored(self, application_id: uuid.UUID) -> Application:
        return self.memory.rows[application_id]


@pytest.fixture
def uow() -> FakeApplicationsUnitOfWork:
    return FakeApplicationsUnitOfWork()


# ---- creating ------------------------------------------------------------------------------


async def test_an_applicant_creates_a_draft_in_their_own_department(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = await handlers.create_application(create_application(), uow)
    await uow.commit()

    stored = uow.stored(app.id)
    assert (stored.status, stored.applicant, stored.department) == (
        CaseStatus.DRAFT,
        APPLICANT,
        "it",
    )
    assert stored.created_at == NOW
    assert uow.published == []  # a draft is nobody else's business yet


async def test_a_token_without_a_department_cannot_create_an_application(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    command = create_application(actor=person(APPLICANT, "applicant", department=None))

    with pytest.raises(NotPermitted, match="your token carries no department"):
        await handlers.create_application(command, uow)

    assert uow.memory.rows == {}


async def test_only_an_applicant_creates_an_application(uow: FakeApplicationsUnitOfWork) -> None:
    command = create_application(actor=person("rita", "reviewer"))

    with pytest.raises(NotPermitted, match="requires one of the roles: applicant") as refused:
        await handlers.create_application(command, uow)

    assert refused.value.problem_extra == {"required_roles": ["applicant"]}
    assert uow.memory.rows == {}


# ---- updating ------------------------------------------------------------------------------


async def test_an_update_that_sets_nothing_is_refused(uow: FakeApplicationsUnitOfWork) -> None:
    app = uow.holding(new_draft())

    with pytest.raises(handlers.NothingToChange, match="nothing to change"):
        await handlers.update_application(update_application(app.id, changes={}), uow)


async def test_an_update_for_another_version_than_the_current_one_is_refused(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = new_draft()
    app.version = 3
    uow.holding(app)

    with pytest.raises(ConcurrentUpdate, match="is at version 3, not 2 \\(If-Match\\)"):
        await handlers.update_application(update_application(app.id, expected_version=2), uow)

    assert uow.stored(app.id).title == app.title


async def test_an_update_at_the_current_version_is_saved(uow: FakeApplicationsUnitOfWork) -> None:
    app = new_draft()
    app.version = 3
    uow.holding(app)

    await handlers.update_application(update_application(app.id, expected_version=3), uow)

    assert (uow.stored(app.id).title, uow.stored(app.id).version) == ("ERP migration, phase 1", 4)


async def test_a_case_of_another_department_is_not_found_for_a_plain_user(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(new_draft())
    command = update_application(app.id, actor=person("fred", "applicant", department="finance"))

    with pytest.raises(NotFound, match=f"application {app.id} does not exist or is not visible"):
        await handlers.update_application(command, uow)


# ---- submitting ----------------------------------------------------------------------------


async def test_a_submission_missing_materials_is_refused_and_announces_nothing(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(draft_with("feasibility_study"))

    with pytest.raises(MissingMaterials) as refused:
        await handlers.submit_application(submit_application(app.id), uow)
    await uow.commit()

    assert refused.value.problem_extra["missing_materials"] == [
        "resource_request",
        "risk_assessment",
    ]
    assert uow.stored(app.id).status == CaseStatus.DRAFT
    assert uow.published == []


async def test_a_submission_announces_the_application_and_requests_the_necessity_review(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(draft_with(*REQUIRED))

    submitted = await handlers.submit_application(submit_application(app.id), uow)
    await uow.commit()

    [announced] = uow.events(ApplicationSubmitted)
    assert announced.application_id == app.id
    assert [m.document_type for m in announced.materials] == list(REQUIRED)
    [request] = uow.events(ApprovalRequested)
    assert (request.request_id, request.subject_type, request.subject_id) == (
        submitted.approval_request_id,
        "application",
        app.id,
    )
    assert request.policy == "application.necessity_review"  # the process definition's
    assert request.amount == Money(amount=Decimal("120000.00"), currency="CNY")
    assert uow.stored(app.id).status == CaseStatus.SUBMITTED


async def test_a_withdrawal_announces_the_reason_and_the_request_it_withdraws(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(application_in(CaseStatus.SUBMITTED))

    await handlers.withdraw_application(withdraw_application(app.id, "no budget this year"), uow)
    await uow.commit()

    assert [(e.request_id, e.reason) for e in uow.events(ApplicationWithdrawn)] == [
        (app.approval_request_id, "no budget this year")
    ]


# ---- attaching documents -------------------------------------------------------------------


async def test_a_document_is_stored_then_attached(uow: FakeApplicationsUnitOfWork) -> None:
    app = uow.holding(new_draft())

    document = await handlers.attach_document(attach_document(app.id, b"study"), uow)

    assert document.sha256 == hashlib.sha256(b"study").hexdigest()
    assert uow.store.objects == {document.key: b"study"}
    assert uow.stored(app.id).documents == [document]


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"content_type": "application/x-sh"}, handlers.UnsupportedContentType),
        ({"declared_size": UPLOAD_LIMIT + 1}, handlers.UploadTooLarge),
        ({"declared_size": 0}, Invalid),
        ({"actor": person("mallory")}, NotTheApplicant),
    ],
    ids=["content-type", "declared-too-large", "empty", "not-the-applicant"],
)
async def test_a_refused_upload_stores_nothing(
    uow: FakeApplicationsUnitOfWork, overrides: dict[str, Any], refusal: type[Exception]
) -> None:
    app = uow.holding(new_draft())

    with pytest.raises(refusal):
        await handlers.attach_document(attach_document(app.id, **overrides), uow)

    assert uow.store.objects == {}
    assert uow.stored(app.id).documents == []


async def test_an_upload_larger_than_it_said_is_refused_when_the_store_counts_it(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(new_draft())
    command = attach_document(app.id, b"x" * (UPLOAD_LIMIT + 1), declared_size=None)

    with pytest.raises(handlers.UploadTooLarge, match=f"upload limit of {UPLOAD_LIMIT} bytes"):
        await handlers.attach_document(command, uow)

    assert uow.store.objects == {}


# ---- the outcome of an approval ------------------------------------------------------------


async def test_an_approval_outcome_is_applied_to_the_case_it_was_requested_for(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(application_in(CaseStatus.SUBMITTED))
    granted = outcome(ApprovalGranted, app)

    await handlers.record_approval_outcome(envelope(granted), granted, uow)
    await uow.commit()

    stored = uow.stored(app.id)
    assert stored.status == CaseStatus.PLANNING
    assert stored.history[-2].actor == DECIDER
    assert stored.history[-2].note == "necessary and well argued"
    assert stored.history[-2].at == NOW


async def test_an_outcome_for_another_request_changes_nothing(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(application_in(CaseStatus.SUBMITTED))
    stale = outcome(ApprovalReturned, app, request_id=uuid.uuid4())

    await handlers.record_approval_outcome(envelope(stale), stale, uow)

    assert uow.stored(app.id).status == CaseStatus.SUBMITTED


async def test_an_outcome_for_a_subject_we_do_not_own_is_ignored(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(application_in(CaseStatus.SUBMITTED))
    contract = outcome(ApprovalGranted, app, subject_type="contract")

    await handlers.record_approval_outcome(envelope(contract), contract, uow)

    assert uow.stored(app.id).status == CaseStatus.SUBMITTED


async def test_an_outcome_for_an_unknown_application_is_a_permanent_error(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    granted = outcome(ApprovalGranted, application_in(CaseStatus.SUBMITTED))

    with pytest.raises(PermanentError, match="unknown application"):
        await handlers.record_approval_outcome(envelope(granted), granted, uow)


# ---- the plan ------------------------------------------------------------------------------


async def test_the_plan_review_is_requested_for_the_plan_budget_total(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = application_in(CaseStatus.PLANNING)
    budget = [
        {"item": "licences", "amount": "100000.10", "currency": "CNY"},
        {"item": "training", "amount": "20000.20", "currency": "CNY"},
    ]
    edit_section(app, "technical")
    edit_section(app, "finance", {"budget": budget})
    sign_off_section(app, "technical")
    sign_off_section(app, "finance")
    uow.holding(app)

    await handlers.submit_plan(submit_plan(app.id), uow)
    await uow.commit()

    [request] = uow.events(ApprovalRequested)
    assert (request.subject_type, request.policy) == ("plan", "plan.review")
    assert request.amount == Money(amount=Decimal("120000.30"), currency="CNY")


async def test_an_approved_plan_is_announced_with_its_budget_total_and_contract_terms(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(application_in(CaseStatus.PLAN_IN_REVIEW))
    granted = outcome(ApprovalGranted, app, subject_type="plan")

    await handlers.record_approval_outcome(envelope(granted), granted, uow)
    await uow.commit()

    [approved] = uow.events(PlanApproved)
    assert approved.budget_total == Money(amount=Decimal("120000.00"), currency="CNY")
    assert list(approved.plan.contract_terms) == list(CLAUSES)
    assert approved.process_version == 1
    assert uow.stored(app.id).status == CaseStatus.PLAN_APPROVED


# ---- searching -----------------------------------------------------------------------------


async def test_a_search_by_stage_asks_for_the_statuses_of_that_stage(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    search = handlers.ApplicationSearch(stage=2)

    await handlers.search_applications(uow, search, PageRequest(), principal=THE_APPLICANT)

    [asked] = uow.memory.searches
    assert asked["statuses"] == sorted(
        [CaseStatus.PLANNING, CaseStatus.PLAN_IN_REVIEW, CaseStatus.PLAN_APPROVED]
    )


async def test_a_status_outside_the_stage_searched_finds_nothing(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    search = handlers.ApplicationSearch(statuses=frozenset({CaseStatus.DRAFT}), stage=2)

    await handlers.search_applications(uow, search, PageRequest(), principal=THE_APPLICANT)

    assert uow.memory.searches[0]["statuses"] == []


@pytest.mark.parametrize(
    ("who", "departments"),
    [
        (THE_APPLICANT, ["it"]),
        (person("nobody", "applicant", department=None), []),
        (A_TECH_LEAD, None),
    ],
    ids=["their-department", "no-department", "a-role-that-oversees-all"],
)
async def test_users_search_their_department_and_overseers_search_all(
    uow: FakeApplicationsUnitOfWork, who: Principal, departments: list[str] | None
) -> None:
    await handlers.search_applications(
        uow, handlers.ApplicationSearch(), PageRequest(), principal=who
    )

    assert uow.memory.searches[0]["departments"] == departments
    assert uow.memory.searches[0]["applicant"] == who.sub


# ---- the Idempotency-Key covers the whole command --------------------------------------------


async def test_a_retried_withdrawal_with_the_same_key_returns_the_first_answer(
    uow: FakeApplicationsUnitOfWork,
) -> None:
    app = uow.holding(application_in(CaseStatus.SUBMITTED))
    bus = CommandBus(lambda: uow)
    command = withdraw_application(app.id, "no budget this year")

    first = await bus.run(command, handlers.withdraw_application, idempotency_key="k-1")
    again = await bus.run(command, handlers.withdraw_application, idempotency_key="k-1")

    assert (again.replayed, again.status_code) == (True, first.status_code)
    assert len(uow.events(ApplicationWithdrawn)) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            withdraw_application(uuid.UUID(int=1), "no budget"),
            withdraw_application(uuid.UUID(int=1), "another reason"),
        ),
        (
            update_application(uuid.UUID(int=1), expected_version=1),
            update_application(uuid.UUID(int=1), expected_version=2),
        ),
        (
            attach_document(uuid.UUID(int=1), b"the study"),
            attach_document(uuid.UUID(int=1), b"the other"),
        ),
    ],
    ids=["withdrawal-reason", "if-match-version", "document-bytes"],
)
async def test_a_key_reused_for_a_different_request_is_refused(first: Any, second: Any) -> None:
    assert first.fingerprint() != second.fingerprint()
    uow = FakeApplicationsUnitOfWork()
    bus = CommandBus(lambda: uow)

    async def anything(command: Any, uow: ApplicationsUnitOfWork) -> dict[str, str]:
        return {"done": "yes"}

    await bus.run(first, anything, idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused):
        await bus.run(second, anything, idempotency_key="k-1")
