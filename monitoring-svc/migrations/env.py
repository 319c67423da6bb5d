"""Alembic environment of monitoring_svc."""

from guakao_shared.migrations import run_migrations
from monitoring_svc.adapters.orm import metadata
from monitoring_svc.config import get_settings

run_migrations(metadata, lambda: get_settings().database_url)
