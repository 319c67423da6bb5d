"""The approvals schema: cases (aggregate state as JSONB, optimistic version), an index of
their tasks for inbox queries, the append-only audit trail, the directory and delegations."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData()

approval_cases = Table(
    "approval_cases",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("request_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("subject_type", String(50), nullable=False),
    Column("subject_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("case_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("policy", String(200), nullable=False),
    Column("process_version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("department", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("state", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_approval_cases_open_due", "due_at", postgresql_where="status = 'OPEN'"),
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
    Column("step", String(100), nullable=False),
    Column("round", Integer, nullable=False),
    Column("assignee", String(200), nullable=True),
    Column("pool_role", String(50), nullable=True),
    Column("pool_department", String(100), nullable=True),
    Column("escalation", Boolean, nullable=False),
    Column("weight", Float, nullable=False),
    Column("status", String(20), nullable=False),
    Column("action", String(20), nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("on_behalf_of", String(200), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Index("ix_approval_tasks_open_assignee", "assignee", postgresql_where="status = 'OPEN'"),
    Index("ix_approval_tasks_open_role", "pool_role", postgresql_where="status = 'OPEN'"),
)

approval_trail = Table(
    "approval_trail",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "approval_case_id",
        UUID(as_uuid=True),
        ForeignKey("approval_cases.id"),
        nullable=False,
        index=True,
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(30), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("step", String(100), nullable=True),
    Column("task_id", UUID(as_uuid=True), nullable=True),
    Column("on_behalf_of", String(200), nullable=True),
    Column("rule", String(300), nullable=True),
    Column("comment", Text, nullable=True),
    Column("detail", Text, nullable=True),
)

directory_people = Table(
    "directory_people",
    metadata,
    Column("sub", String(200), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("department", String(100), nullable=True, index=True),
    Column("roles", ARRAY(String(50)), nullable=False),
    Column("manager", String(200), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

delegations = Table(
    "delegations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("delegator", String(200), nullable=False, index=True),
    Column("delegate", String(200), nullable=False, index=True),
    Column("starts", DateTime(timezone=True), nullable=False),
    Column("ends", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
