"""Alembic environment of applications_svc."""

from applications_svc.adapters.orm import metadata
from applications_svc.config import get_settings
from guakao_shared.migrations import run_migrations

run_migrations(metadata, lambda: get_settings().database_url)
