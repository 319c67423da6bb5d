"""Renders a contract version as the document signers read (Markdown, UTF-8). The mandatory
clauses come first, in the order and with the titles of the process definition the contract
runs under; any other clause follows by name."""

from __future__ import annotations

from contracts_svc.domain.model import Contract, Version
from guakao_shared.process import definition


class MarkdownRenderer:
    def render(self, contract: Contract, version: Version) -> bytes:
        titles = definition(contract.process_version).mandatory_clauses
        lines = [
            f"# {contract.title}",
            "",
            f"Contract {contract.number}, version {version.number}"
            + (f" (amendment of version {version.amendment_of})" if version.amendment_of else ""),
            "",
            f"- Value: {contract.value:,.2f} {contract.currency}",
            f"- Term: {contract.start_date.isoformat()} to {contract.end_date.isoformat()}",
            f"- Affiliation case: {contract.application_id} (plan version {contract.plan_version})",
            "",
            "## Parties",
            "",
            *[f"- {p.name} ({p.kind}), signatory {p.signatory}" for p in version.parties],
            "",
        ]
        mandatory = contract.mandatory_clauses
        ordered = [c for c in mandatory if c in version.clauses] + sorted(
            c for c in version.clauses if c not in mandatory
        )
        for n, clause_type in enumerate(ordered, 1):
            clause = version.clauses[clause_type]
            lines += [f"## {n}. {titles.get(clause_type, clause_type)}", "", clause.text, ""]
        if version.obligations:
            lines += [
                "## Obligations and milestones",
                "",
                "| kind | description | due | owner | amount |",
                "|---|---|---|---|---|",
            ]
            for o in version.obligations:
                amount = f"{o.amount:,.2f} {o.currency}" if o.amount is not None else ""
                lines.append(
                    f"| {o.kind} | {o.description} | {o.due_date.isoformat()} | {o.owner} "
                    f"| {amount} |"
                )
            lines.append("")
        return "\n".join(lines).encode("utf-8")
