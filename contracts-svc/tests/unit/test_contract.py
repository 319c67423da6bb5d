"""The contract aggregate: the mandatory-clause gate, versions and their diff, the signature
rules and the state machine, filing retries and expiry reminders. No database, no clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from contracts_builders import (
    LEGAL,
    LIB,
    MANDATORY_CLAUSES,
    PARTIES,
    STANDARD,
    T0,
    approved,
    draft,
    ready,
    signed,
)

from contracts_svc.adapters.esign import BuiltinSignatureProvider
from contracts_svc.domain.model import (
    Contract,
    ContractError,
    ContractWasSigned,
    ExpiryIsNear,
    Filing,
    FilingIsDue,
    InvalidState,
    MissingClauses,
    NotAllowed,
    Status,
    WrongVersion,
    diff,
    match_library,
)


def test_a_draft_takes_the_plans_terms_and_flags_wording_outside_the_library() -> None:
    c = draft({"ip_ownership": STANDARD["ip_ownership"], "risk_allocation": "our own words"})
    clauses = c.current.clauses
    assert clauses["ip_ownership"].deviates is False
    assert clauses["ip_ownership"].variant == "standard"
    assert clauses["risk_allocation"].deviates is True
    # clauses the plan left empty start from the standard wording
    assert clauses["fund_management"].text == STANDARD["fund_management"]


def test_library_matching_ignores_whitespace_but_not_words() -> None:
    text = STANDARD["breach_liability"]
    assert (
        match_library("breach_liability", "  " + text.replace(" ", "\n  "), LIB).deviates is False
    )
    assert match_library("breach_liability", text + " Or not.", LIB).deviates is True


@pytest.mark.parametrize("removed", MANDATORY_CLAUSES)
def test_approval_is_refused_naming_each_missing_clause(removed: str) -> None:
    c = ready()
    c.edit_clause(removed, "   ", by="leo", roles=LEGAL, library=LIB, now=T0)
    with pytest.raises(MissingClauses) as refused:
        c.submit_for_approval(by="leo", request_id=uuid.uuid4())
    assert refused.value.problem_extra["missing_clauses"] == [removed]
    assert c.status == Status.DRAFT


@pytest.mark.parametrize(
    ("prepare", "problem"),
    [
        (lambda c: None, "the parties must include the organisation and a counterparty"),
        (
            lambda c: c.set_parties(PARTIES, by="leo", roles=LEGAL, now=T0),
            "no custodian is assigned",
        ),
    ],
)
def test_approval_needs_both_parties_and_a_custodian(
    prepare: Callable[[Contract], object], problem: str
) -> None:
    c = draft()
    prepare(c)
    with pytest.raises(MissingClauses) as refused:
        c.submit_for_approval(by="leo", request_id=uuid.uuid4())
    assert problem in refused.value.problem_extra["problems"]


def test_every_edit_makes_a_version_and_the_diff_names_the_changed_clauses() -> None:
    c = draft()
    v1 = c.current
    c.edit_clause(
        "ip_ownership", STANDARD["ip_ownership"], by="leo", roles=LEGAL, library=LIB, now=T0
    )
    c.set_parties(PARTIES, by="leo", roles=LEGAL, now=T0)
    assert [v.number for v in c.versions] == [1, 2, 3]
    assert diff(v1, c.versions[1])["changed"] == ["ip_ownership"]
    assert diff(c.versions[1], c.current)["parties_changed"] == ["parties"]
    assert diff(v1, c.current)["added"] == []


def test_only_legal_edits_clauses() -> None:
    c = draft()
    with pytest.raises(NotAllowed):
        c.edit_clause(
            "ip_ownership", "x", by="pm", roles=frozenset({"project_manager"}), library=LIB, now=T0
        )
    assert len(c.versions) == 1


def test_an_outcome_for_another_request_changes_nothing() -> None:
    c = ready()
    c.submit_for_approval(by="leo", request_id=uuid.uuid4())
    assert c.record_outcome(request_id=uuid.uuid4(), approved=True) is False
    assert c.status == Status.IN_APPROVAL


def test_a_rejected_contract_goes_back_to_draft() -> None:
    c = ready()
    c.submit_for_approval(by="leo", request_id=(rid := uuid.uuid4()))
    assert c.record_outcome(request_id=rid, approved=False)
    assert c.status == Status.DRAFT and c.approved_version is None


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"version": 1}, WrongVersion, "not the approved version"),
        ({"document_sha256": "b" * 64}, WrongVersion, "not the approved version's document"),
        ({"signer": "mallory"}, NotAllowed, "not the signatory"),
        ({"party": "Somebody"}, NotAllowed, "no party"),
    ],
    ids=["other-version", "other-document", "not-the-signatory", "unknown-party"],
)
def test_a_signature_is_refused_unless_it_is_the_signatory_over_the_approved_document(
    overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    c = approved()
    args: dict[str, Any] = {
        "party": "Guakao Group",
        "version": c.approved_version,
        "document_sha256": "a" * 64,
        "signer": "olga",
        "role": "dept_head",
        "method": "m",
        "evidence": None,
        "now": T0,
        **overrides,
    }
    with pytest.raises(error, match=message):
        c.sign(**args)
    assert c.signatures == [] and c.status == Status.APPROVED


def test_the_last_signature_makes_it_signed_immutable_and_due_for_filing() -> None:
    c = approved()
    version = c.approved_version
    assert version is not None
    for party in PARTIES:
        c.sign(
            party=party.name,
            version=version,
            document_sha256="a" * 64,
            signer=party.signatory,
            role="r",
            method="m",
            evidence=None,
            now=T0,
        )
    assert c.status == Status.SIGNED
    assert c.events[-1] == ContractWasSigned(version)
    assert (c.filing.status, c.filing.version) == (Filing.REQUESTED, version)
    with pytest.raises(InvalidState, match="propose an amendment"):
        c.edit_clause("ip_ownership", "x", by="leo", roles=LEGAL, library=LIB, now=T0)
    with pytest.raises(InvalidState, match=r"already signed|not APPROVED"):
        c.sign(
            party="Vendor Ltd",
            version=version,
            document_sha256="a" * 64,
            signer="victor",
            role="r",
            method="m",
            evidence=None,
            now=T0,
        )
    amendment = c.amend(by="leo", roles=LEGAL, reason="extend", now=T0)
    assert (c.status, amendment.amendment_of) == (Status.DRAFT, version)


def test_a_failed_filing_is_retried_after_a_backoff_and_filed_once() -> None:
    c = signed()
    version = c.filing.version or 0
    assert c.filing_failed(version=version, reason="archive unavailable", now=T0)
    assert c.filing.status == Filing.FAILED
    assert c.retry_filing(T0) is False  # not yet
    assert c.retry_filing(T0 + timedelta(hours=1))
    assert c.events == [FilingIsDue(version, 2)]
    record = uuid.uuid4()
    assert c.filed(version=version, record_id=record)
    assert c.filed(version=version, record_id=uuid.uuid4()) is False
    assert (c.filing.status, c.filing.record_id) == (Filing.FILED, record)


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2027, 11, 30), []),
        (date(2027, 12, 1), [30]),
        (date(2027, 12, 20), [30, 15]),
        (date(2027, 12, 26), [30, 15, 7]),
        (date(2028, 1, 2), []),
    ],
)
def test_expiry_reminders_come_30_15_and_7_days_before_the_end_once_each(
    today: date, due: list[int]
) -> None:
    c = signed()
    assert sorted(c.expiry_reminders(today), reverse=True) == due
    assert c.expiry_reminders(today) == []
    assert all(isinstance(e, ExpiryIsNear) for e in c.events)


def test_the_builtin_provider_seals_exactly_what_was_signed() -> None:
    provider = BuiltinSignatureProvider(b"secret")
    args: dict[str, Any] = {
        "contract_id": "c",
        "version": 2,
        "party": "p",
        "signer": "s",
        "document_sha256": "a" * 64,
    }
    seal = provider.sign(**args)
    assert provider.verify(seal.evidence, **args)
    assert not provider.verify(seal.evidence, **{**args, "document_sha256": "b" * 64})


def test_the_projects_side_reviews_a_version_but_legal_does_not_review_itself() -> None:
    c = draft()
    with pytest.raises(NotAllowed, match="project's side reviews"):
        c.review(version=1, by="leo", roles=LEGAL, verdict="approve", comment=None, now=T0)
    with pytest.raises(ContractError, match="comment"):
        c.review(
            version=1,
            by="tina",
            roles=frozenset({"tech_lead"}),
            verdict="changes_requested",
            comment="  ",
            now=T0,
        )
    review = c.review(
        version=1,
        by="tina",
        roles=frozenset({"tech_lead"}),
        verdict="changes_requested",
        comment="name the test system",
        now=T0,
    )
    assert c.reviews == [review]


def test_reviews_close_once_the_contract_is_approved() -> None:
    c = approved()
    with pytest.raises(InvalidState, match="reviews are closed"):
        c.review(version=1, by="tina", roles=frozenset(), verdict="approve", comment=None, now=T0)


def test_a_refusal_the_archive_marks_not_retryable_is_shown_and_not_retried() -> None:
    c = signed()
    version = c.filing.version or 0
    assert c.filing_failed(version=version, reason="sha256 mismatch", now=T0, retryable=False)
    assert (c.filing.status, c.filing.last_error) == (Filing.FAILED, "sha256 mismatch")
    assert c.retry_filing(T0 + timedelta(days=30)) is False


def test_a_contract_is_held_to_the_mandatory_clauses_it_was_drafted_under() -> None:
    c = draft({}, mandatory=("scope_of_cooperation", "ip_ownership"))
    assert list(c.current.clauses) == ["scope_of_cooperation", "ip_ownership"]
    c.edit_clause("ip_ownership", "", by="leo", roles=LEGAL, library=LIB, now=T0)
    assert c.problems()[0] == ["ip_ownership"]
