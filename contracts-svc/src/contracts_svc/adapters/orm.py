"""The contracts schema: the aggregate as JSONB (with its optimistic version) and the columns
that lists filter and sort on."""

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

contracts = Table(
    "contracts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("plan_version", Integer, nullable=False),
    Column("number", String(40), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("department", String(100), nullable=False),
    Column("applicant", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("filing_status", String(20), nullable=False),
    Column("value", Numeric(18, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("counterparty", String(200), nullable=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("custodian", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("state", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("application_id", "plan_version", name="uq_contracts_plan"),
    Index("ix_contracts_end_date", "end_date"),
)
