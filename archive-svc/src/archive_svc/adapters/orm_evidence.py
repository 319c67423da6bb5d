"""The evidence schema: ledger checkpoints (Merkle roots over spans of the ledger) and the
evidence packages exported. On the archive's `metadata`: importing this module registers them."""

from sqlalchemy import BigInteger, Column, DateTime, String, Table
from sqlalchemy.dialects.postgresql import JSONB, UUID

from archive_svc.adapters.orm import metadata

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("first_seq", BigInteger, nullable=False, unique=True),
    Column("last_seq", BigInteger, nullable=False, unique=True),
    Column("root_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # the `checkpoint` ledger entry that records it
    Column("ledger_seq", BigInteger, nullable=False, unique=True),
)

exports = Table(
    "exports",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("created_by", String(200), nullable=False),
    Column("reason", String(2000), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("record_ids", JSONB, nullable=False),
    Column("package_bucket", String(200), nullable=False),
    Column("package_key", String(1024), nullable=False),
    Column("package_version_id", String(200), nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    # the `export` ledger entry that records it
    Column("ledger_seq", BigInteger, nullable=False, unique=True),
)
