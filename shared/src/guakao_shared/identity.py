"""Who is asking: roles and the authenticated principal, in plain Python.

The service layer and the process definition use these; verifying the token that proves them is
the FastAPI/JWT side's job (`guakao_shared.auth`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from guakao_shared.refusals import NotPermitted


class Role(StrEnum):
    APPLICANT = "applicant"
    DEPT_HEAD = "dept_head"
    REVIEWER = "reviewer"
    COMMITTEE_MEMBER = "committee_member"
    TECH_LEAD = "tech_lead"
    FINANCE = "finance"
    LEGAL = "legal"
    PROJECT_MANAGER = "project_manager"
    CUSTODIAN = "custodian"
    COMPLIANCE_OFFICER = "compliance_officer"
    AUDITOR = "auditor"
    PROCESS_ADMIN = "process_admin"


@dataclass(frozen=True)
class Principal:
    sub: str
    department: str | None
    roles: frozenset[str]
    name: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_any(self, *roles: Role) -> bool:
        return any(r.value in self.roles for r in roles)


def system_principal(service: str) -> Principal:
    """The service itself, acting on a timer or an event (sweeps, reminders)."""
    return Principal(sub=service, department=None, roles=frozenset())


def require_role(principal: Principal, *roles: Role, action: str) -> None:
    """Refuse (403) unless the principal holds one of `roles`."""
    if not principal.has_any(*roles):
        wanted = ", ".join(r.value for r in roles)
        raise NotPermitted(
            f"{action} requires one of the roles: {wanted}",
            required_roles=[r.value for r in roles],
        )
