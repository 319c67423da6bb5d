"""Alembic environment of archive_svc."""

from archive_svc.adapters.orm import metadata
from archive_svc.config import get_settings
from guakao_shared.migrations import run_migrations

run_migrations(metadata, lambda: get_settings().database_url)
