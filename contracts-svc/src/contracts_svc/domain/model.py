"""The contract aggregate (stage 3a). Plain Python.

A contract is drafted from the approved plan and the clause library; every edit makes a new
version; it goes to approval only with all of its mandatory clauses (given when it is drafted,
from the process definition, and kept with it); each party signs exactly the approved
version's document (by its SHA-256); once fully signed it is immutable and a change is an
amendment (a new version that is approved and signed again). Filing is a handshake with the
archive: requested on signing, FILED on its answer, retried on failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

REMINDER_DAYS: tuple[int, ...] = (30, 15, 7)


class Status(StrEnum):
    DRAFT = "DRAFT"
    IN_APPROVAL = "IN_APPROVAL"
    APPROVED = "APPROVED"
    SIGNED = "SIGNED"


class Filing(StrEnum):
    NOT_FILED = "NOT_FILED"
    REQUESTED = "REQUESTED"
    FILED = "FILED"
    FAILED = "FAILED"


class ContractError(Exception):
    def __init__(self, message: str, **problem_extra: Any) -> None:
        super().__init__(message)
        self.problem_extra = problem_extra


class NotAllowed(ContractError):
    pass


class InvalidState(ContractError):
    pass


class MissingClauses(ContractError):
    def __init__(self, missing: list[str], other: list[str]) -> None:
        problems = [f"clause {c} is missing or empty" for c in missing] + other
        super().__init__(
            "the contract cannot go to approval: " + "; ".join(problems),
            missing_clauses=missing,
            problems=problems,
            errors=[
                {"field": f"clauses.{c}", "rule": "mandatory_clause", "message": "missing or empty"}
                for c in missing
            ],
        )


class WrongVersion(ContractError):
    pass


@dataclass(frozen=True)
class LibraryClause:
    type: str
    variant: str
    text: str


@dataclass(frozen=True)
class Clause:
    type: str
    text: str
    variant: str | None  # the library variant it matches, if any
    deviates: bool  # differs from every approved library wording: flagged for legal


@dataclass(frozen=True)
class Party:
    name: str
    kind: str  # organisation | counterparty
    signatory: str


@dataclass(frozen=True)
class Obligation:
    kind: str  # deliverable | payment | reporting
    description: str
    due_date: date
    owner: str
    amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class DocumentRef:
    bucket: str
    key: str
    version_id: str | None
    sha256: str
    size: int


@dataclass(frozen=True)
class Version:
    number: int
    clauses: dict[str, Clause]
    parties: tuple[Party, ...]
    obligations: tuple[Obligation, ...]
    created_by: str
    created_at: datetime
    note: str
    amendment_of: int | None = None
    document: DocumentRef | None = None


@dataclass(frozen=True)
class Signature:
    version: int
    party: str
    signer: str
    role: str
    organisation: str
    method: str
    document_sha256: str
    evidence: str | None
    signed_at: datetime


@dataclass(frozen=True)
class CustodyChange:
    at: datetime
    from_custodian: str | None
    to_custodian: str
    by: str
    reason: str | None


@dataclass(frozen=True)
class Review:
    """The project side's review of a version: fine as is, or changes requested."""

    version: int
    by: str
    verdict: str  # approve | changes_requested
    comment: str | None
    at: datetime


@dataclass
class FilingState:
    status: Filing = Filing.NOT_FILED
    version: int | None = None
    attempts: int = 0
    record_id: uuid.UUID | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None


# ---- events the service layer publishes --------------------------------------------------


@dataclass(frozen=True)
class ContractWasSubmitted:
    version: int


@dataclass(frozen=True)
class ContractWasSigned:
    version: int


@dataclass(frozen=True)
class FilingIsDue:
    version: int
    attempt: int


@dataclass(frozen=True)
class ExpiryIsNear:
    days_left: int


def match_library(clause_type: str, text: str, library: list[LibraryClause]) -> Clause:
    """Which approved wording the text is; `deviates` when it is none of them."""
    normalised = " ".join(text.split())
    for entry in library:
        if entry.type == clause_type and " ".join(entry.text.split()) == normalised:
            return Clause(clause_type, text, entry.variant, deviates=False)
    return Clause(clause_type, text, None, deviates=True)


def diff(old: Version, new: Version) -> dict[str, list[str]]:
    """Which clauses were added, removed or changed between two versions."""
    before, after = set(old.clauses), set(new.clauses)
    return {
        "added": sorted(after - before),
        "removed": sorted(before - after),
        "changed": sorted(c for c in before & after if old.clauses[c].text != new.clauses[c].text),
        "parties_changed": [] if old.parties == new.parties else ["parties"],
        "obligations_changed": [] if old.obligations == new.obligations else ["obligations"],
    }


@dataclass
class Contract:
    id: uuid.UUID
    application_id: uuid.UUID
    plan_version: int
    number: str
    title: str
    department: str
    applicant: str
    value: Decimal
    currency: str
    start_date: date
    end_date: date
    created_at: datetime
    versions: list[Version]
    # the clause types it must hold to go to approval, in document order (set when drafted)
    mandatory_clauses: tuple[str, ...]
    status: Status = Status.DRAFT
    approved_version: int | None = None
    approval_request_id: uuid.UUID | None = None
    custodian: str | None = None
    custody: list[CustodyChange] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    filing: FilingState = field(default_factory=FilingState)
    reminders_sent: list[int] = field(default_factory=list)
    process_version: int = 1
    # claim checks (as plain dicts) of what the archive files for the signed version
    filing_documents: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0  # optimistic lock
    events: list[object] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def draft_from_plan(
        cls,
        *,
        application_id: uuid.UUID,
        plan_version: int,
        title: str,
        department: str,
        applicant: str,
        value: Decimal,
        currency: str,
        start_date: date,
        end_date: date,
        proposed_terms: dict[str, str],
        mandatory_clauses: Sequence[str],
        library: list[LibraryClause],
        now: datetime,
    ) -> Contract:
        clauses = {}
        for clause_type in mandatory_clauses:
            text = (proposed_terms.get(clause_type) or "").strip()
            if not text:  # no proposal: start from the library's standard wording, if any
                text = next(
                    (e.text for e in library if e.type == clause_type and e.variant == "standard"),
                    "",
                )
            if text:
                clauses[clause_type] = match_library(clause_type, text, library)
        contract_id = uuid.uuid4()
        first = Version(
            1, clauses, (), (), "contracts-svc", now, f"drafted from plan version {plan_version}"
        )
        return cls(
            id=contract_id,
            application_id=application_id,
            plan_version=plan_version,
            number=f"GK-{now:%Y}-{str(contract_id)[:8].upper()}",
            title=title,
            department=department,
            applicant=applicant,
            value=value,
            currency=currency,
            start_date=start_date,
            end_date=end_date,
            created_at=now,
            versions=[first],
            mandatory_clauses=tuple(mandatory_clauses),
        )

    @property
    def current(self) -> Version:
        return self.versions[-1]

    def version_of(self, number: int) -> Version:
        for v in self.versions:
            if v.number == number:
                return v
        raise WrongVersion(f"contract {self.number} has no version {number}")

    # ---- editing (legal) ------------------------------------------------------------

    def _editable(self, by_roles: frozenset[str], action: str) -> None:
        if "legal" not in by_roles:
            raise NotAllowed(f"{action} requires the role 'legal'", required_roles=["legal"])
        if self.status == Status.SIGNED:
            raise InvalidState(
                f"contract {self.number} is fully signed and immutable: "
                "propose an amendment instead"
            )
        if self.status != Status.DRAFT:
            raise InvalidState(
                f"cannot {action}: the contract is {self.status} (only a DRAFT can be edited)"
            )

    def _new_version(self, *, by: str, now: datetime, note: str, **changes: Any) -> Version:
        version = replace(
            self.current,
            number=self.current.number + 1,
            created_by=by,
            created_at=now,
            note=note,
            document=None,
            **changes,
        )
        self.versions.append(version)
        return version

    def edit_clause(
        self,
        clause_type: str,
        text: str,
        *,
        by: str,
        roles: frozenset[str],
        library: list[LibraryClause],
        now: datetime,
    ) -> Version:
        self._editable(roles, f"editing clause {clause_type}")
        clauses = dict(self.current.clauses)
        if text.strip():
            clauses[clause_type] = match_library(clause_type, text, library)
        else:
            clauses.pop(clause_type, None)
        return self._new_version(
            by=by, now=now, note=f"clause {clause_type} edited", clauses=clauses
        )

    def set_parties(
        self, parties: tuple[Party, ...], *, by: str, roles: frozenset[str], now: datetime
    ) -> Version:
        self._editable(roles, "setting the parties")
        return self._new_version(by=by, now=now, note="parties set", parties=parties)

    def set_obligations(
        self, obligations: tuple[Obligation, ...], *, by: str, roles: frozenset[str], now: datetime
    ) -> Version:
        self._editable(roles, "setting the obligations")
        return self._new_version(by=by, now=now, note="obligations set", obligations=obligations)

    def attach_document(self, number: int, document: DocumentRef) -> None:
        """The rendered document of a version (set once, right after the version is made)."""
        index = next(i for i, v in enumerate(self.versions) if v.number == number)
        self.versions[index] = replace(self.versions[index], document=document)

    def review(
        self,
        *,
        version: int,
        by: str,
        roles: frozenset[str],
        verdict: str,
        comment: str | None,
        now: datetime,
    ) -> Review:
        """The project's people review what legal drafted (legal does not review itself)."""
        if "legal" in roles:
            raise NotAllowed(
                "legal edits the contract; the project's side reviews it",
                rule="review.project_side",
            )
        if self.status in (Status.SIGNED, Status.APPROVED):
            raise InvalidState(f"the contract is {self.status}: reviews are closed")
        self.version_of(version)
        if verdict == "changes_requested" and not (comment or "").strip():
            raise ContractError(
                "comment: a comment is required to request changes",
                errors=[
                    {"field": "comment", "rule": "required", "message": "say what should change"}
                ],
            )
        review = Review(version, by, verdict, comment, now)
        self.reviews.append(review)
        return review

    # ---- approval ---------------------------------------------------------------------

    def problems(self) -> tuple[list[str], list[str]]:
        v = self.current
        missing = [
            c for c in self.mandatory_clauses if c not in v.clauses or not v.clauses[c].text.strip()
        ]
        other = []
        kinds = {p.kind for p in v.parties}
        if not {"organisation", "counterparty"} <= kinds:
            other.append("the parties must include the organisation and a counterparty")
        if self.custodian is None:
            other.append("no custodian is assigned")
        return missing, other

    def submit_for_approval(self, *, by: str, request_id: uuid.UUID) -> None:
        if self.status != Status.DRAFT:
            raise InvalidState(f"cannot submit: the contract is {self.status}")
        missing, other = self.problems()
        if missing or other:
            raise MissingClauses(missing, other)
        self.status, self.approval_request_id = Status.IN_APPROVAL, request_id
        self.events.append(ContractWasSubmitted(self.current.number))

    def record_outcome(self, *, request_id: uuid.UUID, approved: bool) -> bool:
        if self.status != Status.IN_APPROVAL or request_id != self.approval_request_id:
            return False
        self.approval_request_id = None
        if approved:
            self.status, self.approved_version = Status.APPROVED, self.current.number
        else:
            self.status = Status.DRAFT
        return True

    # ---- signing ----------------------------------------------------------------------

    def sign(
        self,
        *,
        party: str,
        version: int,
        document_sha256: str,
        signer: str,
        role: str,
        method: str,
        evidence: str | None,
        now: datetime,
    ) -> Signature:
        if self.status != Status.APPROVED or self.approved_version is None:
            raise InvalidState(f"cannot sign: the contract is {self.status}, not APPROVED")
        if version != self.approved_version:
            raise WrongVersion(
                f"version {version} is not the approved version "
                f"{self.approved_version}: only the approved version is signed",
                approved_version=self.approved_version,
            )
        approved = self.version_of(version)
        if approved.document is None or document_sha256 != approved.document.sha256:
            raise WrongVersion(
                "the document signed is not the approved version's document "
                f"(expected SHA-256 {approved.document.sha256 if approved.document else '?'})"
            )
        target = next((p for p in approved.parties if p.name == party), None)
        if target is None:
            raise NotAllowed(f"no party {party!r} in version {version}")
        if signer != target.signatory:
            raise NotAllowed(f"{signer} is not the signatory of {party!r}", rule="signatory")
        if any(s.version == version and s.party == party for s in self.signatures):
            raise InvalidState(f"{party!r} has already signed version {version}")
        signature = Signature(
            version, party, signer, role, target.name, method, document_sha256, evidence, now
        )
        self.signatures.append(signature)
        signed = {s.party for s in self.signatures if s.version == version}
        if signed >= {p.name for p in approved.parties}:
            self.status = Status.SIGNED
            self.filing = FilingState(Filing.REQUESTED, version, attempts=1)
            self.events.append(ContractWasSigned(version))
        return signature

    def amend(self, *, by: str, roles: frozenset[str], reason: str, now: datetime) -> Version:
        if "legal" not in roles:
            raise NotAllowed(
                "proposing an amendment requires the role 'legal'", required_roles=["legal"]
            )
        if self.status != Status.SIGNED:
            raise InvalidState(f"only a signed contract is amended (it is {self.status})")
        signed = self.approved_version
        self.status, self.approved_version = Status.DRAFT, None
        return self._new_version(by=by, now=now, note=f"amendment: {reason}", amendment_of=signed)

    # ---- custody, filing, expiry ------------------------------------------------------

    def assign_custodian(self, to: str, *, by: str, reason: str | None, now: datetime) -> None:
        self.custody.append(CustodyChange(now, self.custodian, to, by, reason))
        self.custodian = to

    def filed(self, *, version: int, record_id: uuid.UUID) -> bool:
        if self.filing.version != version or self.filing.status == Filing.FILED:
            return False
        self.filing.status, self.filing.record_id = Filing.FILED, record_id
        self.filing.last_error = self.filing.next_attempt_at = None
        return True

    def filing_failed(
        self, *, version: int, reason: str, now: datetime, retryable: bool = True
    ) -> bool:
        """The archive refused: shown on the contract; retried with backoff unless the archive
        says retrying cannot help (then it waits for a person, e.g. a corrupted document)."""
        if self.filing.version != version or self.filing.status == Filing.FILED:
            return False
        self.filing.status, self.filing.last_error = Filing.FAILED, reason
        backoff = min(timedelta(minutes=2**self.filing.attempts), timedelta(hours=6))
        self.filing.next_attempt_at = now + backoff if retryable else None
        return True

    def retry_filing(self, now: datetime) -> bool:
        f = self.filing
        if f.status != Filing.FAILED or f.next_attempt_at is None or now < f.next_attempt_at:
            return False
        assert f.version is not None
        f.status, f.attempts, f.next_attempt_at = Filing.REQUESTED, f.attempts + 1, None
        self.events.append(FilingIsDue(f.version, f.attempts))
        return True

    def expiry_reminders(self, today: date, days: tuple[int, ...] = REMINDER_DAYS) -> list[int]:
        if self.status != Status.SIGNED:
            return []
        left = (self.end_date - today).days
        due = [
            d
            for d in sorted(days, reverse=True)
            if left <= d and d not in self.reminders_sent and left >= 0
        ]
        # only the nearest threshold is announced; the earlier ones are marked as passed
        if due:
            self.reminders_sent.extend(due)
            self.events.append(ExpiryIsNear(left))
        return due
