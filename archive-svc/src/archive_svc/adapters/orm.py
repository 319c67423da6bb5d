"""The archive schema: filed records (one per source version), their archived documents, and the
append-only hash-chained ledger (a database trigger refuses UPDATE and DELETE on it)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

records = Table(
    "records",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("source_type", String(50), nullable=False),
    Column("source_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("source_version", Integer, nullable=False),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("record_class", String(50), nullable=False),
    Column("custodian", String(200), nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("retention_until", DateTime(timezone=True), nullable=False),
    Column("legal_hold", Boolean, nullable=False),
    Column("disposition", String(20), nullable=False, server_default="NONE"),
    Column("disposition_request_id", UUID(as_uuid=True), nullable=True),
    Column("ledger_seq", BigInteger, nullable=False),
    UniqueConstraint(
        "source_type", "source_id", "source_version", name="uq_records_source_version"
    ),
)

record_documents = Table(
    "record_documents",
    metadata,
    Column("record_id", UUID(as_uuid=True), ForeignKey("records.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("source_bucket", String(200), nullable=False),
    Column("source_key", String(1024), nullable=False),
    Column("source_version_id", String(200), nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("document_type", String(200), nullable=False),
    Column("archive_bucket", String(200), nullable=False),
    Column("archive_key", String(1024), nullable=False),
    Column("archive_version_id", String(200), nullable=True),
)

ledger = Table(
    "ledger",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("record_id", UUID(as_uuid=True), nullable=True, index=True),
    Column("payload", JSONB, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False, unique=True),
)
