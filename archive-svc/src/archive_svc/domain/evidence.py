"""Checkpoints and exports of the ledger. Plain Python.

A checkpoint seals a span of consecutive ledger entries under one Merkle root (the rule is in
`guakao_shared.evidence.merkle_root`), and is itself written to the ledger, so the next span
covers it. An export is an evidence package made for someone, for a reason, and logged too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Checkpoint:
    id: uuid.UUID
    first_seq: int
    last_seq: int
    root_hash: str
    created_at: datetime
    ledger_seq: int

    def ledger_payload(self) -> dict[str, Any]:
        """What its `checkpoint` ledger entry holds."""
        return {"first_seq": self.first_seq, "last_seq": self.last_seq, "root_hash": self.root_hash}

    def covers(self, seq: int) -> bool:
        return self.first_seq <= seq <= self.last_seq


@dataclass(frozen=True)
class Export:
    id: uuid.UUID
    created_by: str
    reason: str
    created_at: datetime
    record_ids: list[uuid.UUID]
    package_bucket: str
    package_key: str
    package_version_id: str | None
    sha256: str
    size: int
    ledger_seq: int
