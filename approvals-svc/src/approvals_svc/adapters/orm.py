"""The approvals schema: approval cases and their tasks."""

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

approval_cases = Table(
    "approval_cases",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("request_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("subject_type", String(50), nullable=False),
    Column("subject_id", UUID(as_uuid=True), nullable=False),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("policy", String(200), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("department", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
)

approval_tasks = Table(
    "approval_tasks",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "approval_case_id",
        UUID(as_uuid=True),
        ForeignKey("approval_cases.id"),
        nullable=False,
        index=True,
    ),
    Column("step", String(200), nullable=False),
    Column("role", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("decision", String(20), nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("comment", Text, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("rule", String(300), nullable=True),
    Index("ix_approval_tasks_open_role", "role", "status"),
)
