"""Initial schema: approval cases and tasks, and the messaging tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from approvals_svc.adapters.orm import metadata
from guakao_shared.db import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    # The first revision creates the tables as the ORM declares them today; later changes
    # are explicit op.* migrations.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
    drop_messaging_tables()
