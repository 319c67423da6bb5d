"""Alembic environment of approvals_svc."""

from approvals_svc.adapters.orm import metadata
from approvals_svc.config import get_settings
from guakao_shared.migrations import run_migrations

run_migrations(metadata, lambda: get_settings().database_url)
