"""The applications schema: cases, their documents and their status history."""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

applications = Table(
    "applications",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("applicant", String(200), nullable=False),
    Column("department", String(100), nullable=False),
    Column("title", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("content", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=True),
    Column("process_version", Integer, nullable=True),
    Column("approval_request_id", UUID(as_uuid=True), nullable=True),
    Column("plan", JSONB, nullable=True),
    Index("ix_applications_department_status", "department", "status"),
    Index("ix_applications_created_at", "created_at"),
)

# Every version of a plan (one per section edit): its full history.
application_plan_versions = Table(
    "application_plan_versions",
    metadata,
    Column("application_id", UUID(as_uuid=True), ForeignKey("applications.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("snapshot", JSONB, nullable=False),
    Column("edited_by", String(200), nullable=False),
    Column("edited_at", DateTime(timezone=True), nullable=False),
)

application_documents = Table(
    "application_documents",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "application_id",
        UUID(as_uuid=True),
        ForeignKey("applications.id"),
        nullable=False,
        index=True,
    ),
    Column("document_type", String(100), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("bucket", String(63), nullable=False),
    Column("key", String(1024), nullable=False),
    Column("version_id", String(200), nullable=True),
    Column("uploaded_by", String(200), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
)

application_history = Table(
    "application_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "application_id",
        UUID(as_uuid=True),
        ForeignKey("applications.id"),
        nullable=False,
        index=True,
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("from_status", String(32), nullable=True),
    Column("to_status", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("note", Text, nullable=True),
)
