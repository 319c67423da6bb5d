"""The monitoring schema: the risk register and the process event log, each with the index its
list query runs on (a case's entries in time order)."""

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

risks = Table(
    "risks",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("likelihood", Integer, nullable=False),
    Column("impact", Integer, nullable=False),
    Column("owner", String(200), nullable=False),
    Column("mitigation", Text, nullable=False),
    Column("raised_by", String(200), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Index("ix_risks_case_raised", "case_id", "raised_at", "id"),
)

process_events = Table(
    "process_events",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("case_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("source", String(200), nullable=False),
    Column("stage", String(50), nullable=True),
    Column("actor", String(200), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_process_events_case_time", "case_id", "occurred_at", "event_id"),
)
