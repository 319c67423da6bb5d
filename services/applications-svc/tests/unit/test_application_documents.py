"""Attaching documents: by the applicant, while the application is editable."""

from __future__ import annotations

import pytest
from applications_builders import (
    APPLICANT,
    LATER,
    NOT_EDITABLE,
    a_document,
    application_in,
    snapshot,
)

from applications_svc.domain.model import (
    EDITABLE,
    CaseStatus,
    InvalidTransition,
    NotTheApplicant,
)


@pytest.mark.parametrize("status", sorted(EDITABLE))
def test_the_applicant_attaches_documents_while_the_application_is_editable(
    status: CaseStatus,
) -> None:
    app = application_in(status)
    attached = list(app.documents)
    document = a_document("plan_document", uploaded_at=LATER)

    app.attach(document, by=APPLICANT)

    assert app.documents == [*attached, document]
    assert app.updated_at == LATER


@pytest.mark.parametrize("status", NOT_EDITABLE)
def test_documents_cannot_be_attached_once_the_application_left_drafting(
    status: CaseStatus,
) -> None:
    app = application_in(status)
    before = snapshot(app)

    with pytest.raises(InvalidTransition, match=f"cannot attach a document: the case is {status}"):
        app.attach(a_document(uploaded_at=LATER), by=APPLICANT)

    assert snapshot(app) == before


def test_only_the_applicant_can_attach_documents() -> None:
    app = application_in(CaseStatus.DRAFT)
    before = snapshot(app)

    with pytest.raises(NotTheApplicant, match="only the applicant can attach"):
        app.attach(a_document(uploaded_at=LATER), by="mallory")

    assert snapshot(app) == before
