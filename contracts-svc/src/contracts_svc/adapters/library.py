"""The clause library: approved wording per clause type and variant (clause_library.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from contracts_svc.domain.model import LibraryClause
from guakao_shared.process import definition

LIBRARY_FILE = Path(__file__).resolve().parents[1] / "clause_library.yaml"


@cache
def clause_library() -> list[LibraryClause]:
    """The library's wording; a clause type the process definition does not name is refused."""
    raw = yaml.safe_load(LIBRARY_FILE.read_text(encoding="utf-8"))
    unknown = set(raw) - set(definition().mandatory_clauses)
    if unknown:
        raise ValueError(f"{LIBRARY_FILE.name}: unknown clause types {sorted(unknown)}")
    return [
        LibraryClause(clause_type, variant, " ".join(str(text).split()))
        for clause_type, variants in raw.items()
        for variant, text in variants.items()
    ]
