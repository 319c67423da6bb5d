"""`guakao demo`: drive one affiliation case through every stage built so far, against the
services `make run` started, printing each step and the trace id to look it up by.

Stage 1: application with its materials -> department head -> committee quorum (2 of 3).
Stage 2: technical and finance sections signed off -> review (all departments, then a
weighted committee vote) -> PLAN_APPROVED with the generated minutes.
Stage 3: the contract drafted from the plan -> parties, custodian, obligations -> legal
approval -> both signatories sign the approved document -> SIGNED (FILED once the archive
answers, when archive-svc runs).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx

from guakao_shared.auth import issue_dev_token
from guakao_shared.process import definition

PEOPLE = {
    "alice": ("it", ["applicant"], "hank"),
    "hank": ("it", ["dept_head"], None),
    "tina": ("it", ["tech_lead"], None),
    "fiona": ("finance", ["finance"], None),
    "leo": ("legal", ["legal"], None),
    "cm1": ("board", ["committee_member"], None),
    "cm2": ("board", ["committee_member"], None),
    "cm3": ("board", ["committee_member"], None),
    "ada": ("pmo", ["process_admin"], None),
    "olga": ("it", ["dept_head"], None),
    "victor": ("vendor", ["applicant"], None),
}
MATERIALS = ("feasibility_study", "resource_request", "risk_assessment")
CLAUSES = tuple(definition().mandatory_clauses)  # the plan proposes a term for each


class DemoError(RuntimeError):
    pass


class Demo:
    def __init__(
        self,
        applications_url: str,
        approvals_url: str,
        contracts_url: str | None = None,
        say: Callable[[str], None] = print,
        timeout_s: float = 60,
    ) -> None:
        self.apps = httpx.Client(base_url=applications_url, timeout=30)
        self.approvals = httpx.Client(base_url=approvals_url, timeout=30)
        self.contracts = httpx.Client(base_url=contracts_url, timeout=30) if contracts_url else None
        self.say, self.timeout = say, timeout_s
        self.step_no = 0

    def auth(self, sub: str) -> dict[str, str]:
        dept, roles, _ = PEOPLE[sub]
        return {"Authorization": f"Bearer {issue_dev_token(sub, roles, dept)}"}

    def call(
        self,
        client: httpx.Client,
        method: str,
        url: str,
        who: str,
        what: str,
        expect: int = 200,
        **kw: Any,
    ) -> Any:
        """One business action: its own trace id, sent as W3C traceparent and printed."""
        self.step_no += 1
        trace_id = secrets.token_hex(16)
        headers = {
            **self.auth(who),
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
            "Idempotency-Key": f"demo-{trace_id}",
        }
        response = client.request(method, url, headers=headers, **kw)
        if response.status_code != expect:
            raise DemoError(
                f"step {self.step_no} ({what}) failed: {response.status_code} {response.text[:500]}"
            )
        self.say(f"{self.step_no:>2}. {who:<6} {what:<58} trace {trace_id}")
        return response.json() if response.content else None

    def wait(self, what: str, probe: Callable[[], Any]) -> Any:
        deadline, delay = time.monotonic() + self.timeout, 0.1
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        raise DemoError(f"timed out after {self.timeout:.0f}s waiting for {what}")

    def status(self, app_id: str, status: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            body = self.apps.get(f"/v1/applications/{app_id}", headers=self.auth("alice")).json()
            return body if body.get("status") == status else None

        found: dict[str, Any] = self.wait(f"the case to be {status}", probe)
        self.say(f"    -> case is {status}")
        return found

    def task(self, subject_id: str, who: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            tasks = self.approvals.get(
                "/v1/tasks", headers=self.auth(who), params={"limit": 200}
            ).json()["items"]
            return next((t for t in tasks if t["subject_id"] == subject_id), None)

        found: dict[str, Any] = self.wait(f"a task for {who}", probe)
        return found

    def decide(self, app_id: str, who: str, comment: str) -> None:
        task = self.task(app_id, who)
        self.call(
            self.approvals,
            "POST",
            f"/v1/tasks/{task['id']}/decision",
            who,
            f"approves '{task['step']}'",
            json={"decision": "approve", "comment": comment},
        )

    def run(self) -> str:
        for sub, (dept, roles, manager) in PEOPLE.items():
            self.call(
                self.approvals,
                "PUT",
                f"/v1/directory/people/{sub}",
                "ada",
                f"directory: {sub} ({', '.join(roles)}, {dept})",
                expect=204,
                json={"department": dept, "roles": roles, "manager": manager},
            )
        app = self.call(
            self.apps,
            "POST",
            "/v1/applications",
            "alice",
            "creates the application (stage 1)",
            expect=201,
            json={
                "title": "Finance ERP affiliation",
                "background": "The finance ERP is out of support.",
                "objectives": "Move finance to the new ERP within the year.",
                "expected_benefits": "Month-end close in 3 days instead of 8.",
                "resources": {
                    "technology": ["ERP suite"],
                    "funds": {"amount": "1500000", "currency": "CNY"},
                    "personnel": [{"role": "developer", "headcount": 3}],
                },
                "start_date": "2027-01-01",
                "end_date": "2027-12-31",
                "risks": [
                    {
                        "description": "vendor delay",
                        "likelihood": "medium",
                        "impact": "high",
                        "mitigation": "penalty clause",
                    }
                ],
            },
        )
        app_id = app["id"]
        for material in MATERIALS:
            self.call(
                self.apps,
                "POST",
                f"/v1/applications/{app_id}/documents",
                "alice",
                f"attaches {material}",
                expect=201,
                data={"document_type": material},
                files={"file": (f"{material}.txt", f"{material}\n".encode(), "text/plain")},
            )
        self.call(self.apps, "POST", f"/v1/applications/{app_id}/submit", "alice", "submits")
        self.decide(app_id, "hank", "necessary and fits the IT strategy")
        self.decide(app_id, "cm1", "approved by the committee")
        self.decide(app_id, "cm2", "approved by the committee")
        self.status(app_id, "PLANNING")

        plan = f"/v1/applications/{app_id}/plan"
        self.call(
            self.apps,
            "PUT",
            f"{plan}/technical",
            "tina",
            "writes the technical section",
            json={
                "resource_allocation": "3 developers, 1 architect",
                "cooperation_mode": "fixed-price delivery, joint steering group",
                "responsibilities": "vendor builds, IT operates",
                "risk_controls": "fortnightly risk review",
                "rights_and_duties": "monthly reporting; access to systems",
                "contract_terms": {c: f"proposed {c.replace('_', ' ')}" for c in CLAUSES},
            },
        )
        self.call(
            self.apps,
            "PUT",
            f"{plan}/finance",
            "fiona",
            "writes the finance section",
            json={
                "budget": [
                    {"item": "licences", "amount": "800000"},
                    {"item": "services", "amount": "700000"},
                ],
                "fund_management": "dedicated project account",
            },
        )
        self.call(self.apps, "POST", f"{plan}/technical/sign-off", "tina", "signs off technical")
        self.call(self.apps, "POST", f"{plan}/finance/sign-off", "fiona", "signs off finance")
        self.call(self.apps, "POST", f"{plan}/submit", "tina", "sends the plan to review")
        for who in ("tina", "fiona", "leo"):
            self.decide(app_id, who, f"{who}: section reviewed")
        self.decide(app_id, "cm1", "approved in the review meeting")
        self.decide(app_id, "cm3", "approved in the review meeting")
        self.status(app_id, "PLAN_APPROVED")
        if self.contracts is not None:
            self.contract(app_id)
        self.say(
            f"\ncase {app_id}: timeline at {self.apps.base_url}/v1/applications/{app_id}/timeline"
        )
        return str(app_id)

    def contract(self, app_id: str) -> dict[str, Any]:
        """Stage 3: from the drafted contract to SIGNED (and FILED if the archive answers)."""
        assert self.contracts is not None
        contracts = self.contracts

        def drafted() -> dict[str, Any] | None:
            found = contracts.get(
                "/v1/contracts", headers=self.auth("leo"), params={"application_id": app_id}
            ).json()["items"]
            return found[0] if found else None

        contract = self.wait("the contract drafted from the plan", drafted)
        cid = contract["id"]
        self.say(
            f"    -> contract {contract['number']} drafted with "
            f"{len(contract['current_version']['clauses'])} mandatory clauses"
        )
        url = f"/v1/contracts/{cid}"
        self.call(
            contracts,
            "PUT",
            f"{url}/parties",
            "leo",
            "sets the parties and signatories",
            json={
                "parties": [
                    {"name": "Guakao Group", "kind": "organisation", "signatory": "olga"},
                    {"name": "Vendor Ltd", "kind": "counterparty", "signatory": "victor"},
                ]
            },
        )
        self.call(
            contracts,
            "PUT",
            f"{url}/obligations",
            "leo",
            "captures the obligations",
            json={
                "obligations": [
                    {
                        "kind": "deliverable",
                        "description": "go-live",
                        "due_date": "2027-09-30",
                        "owner": "tina",
                    },
                    {
                        "kind": "payment",
                        "description": "first milestone",
                        "due_date": "2027-04-30",
                        "owner": "fiona",
                        "amount": "500000",
                        "currency": "CNY",
                    },
                ]
            },
        )
        self.call(
            contracts,
            "PUT",
            f"{url}/custodian",
            "leo",
            "names the custodian (carl)",
            json={"custodian": "carl", "reason": "contracts office"},
        )
        submitted = self.call(
            contracts, "POST", f"{url}/submit", "leo", "sends the contract to approval"
        )
        version = submitted["current_version"]["number"]
        self.decide(cid, "leo", "clauses reviewed")

        def approved() -> dict[str, Any] | None:
            body: dict[str, Any] = contracts.get(url, headers=self.auth("leo")).json()
            return body if body["status"] == "APPROVED" else None

        self.wait("the contract approval", approved)
        self.say("    -> contract APPROVED")
        document = contracts.get(
            f"{url}/versions/{version}/document", headers=self.auth("olga")
        ).content
        sha = hashlib.sha256(document).hexdigest()
        signed: dict[str, Any] = {}
        for who, party in (("olga", "Guakao Group"), ("victor", "Vendor Ltd")):
            signed = self.call(
                contracts,
                "POST",
                f"{url}/signatures",
                who,
                f"signs for {party} (sha256 {sha[:12]}…)",
                json={"party": party, "version": version, "document_sha256": sha},
            )
        self.say(f"    -> contract {signed['status']}")

        def filed() -> dict[str, Any] | None:
            body: dict[str, Any] = contracts.get(url, headers=self.auth("leo")).json()
            return body if body["filing"]["status"] == "FILED" else None

        try:
            final = self.wait("the archive to file the contract", filed)
            self.say(f"    -> contract FILED as archive record {final['filing']['record_id']}")
        except DemoError:
            self.say("    -> not filed yet (is archive-svc running?)")
        return signed
