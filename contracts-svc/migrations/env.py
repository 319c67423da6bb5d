"""Alembic environment of contracts_svc."""

from contracts_svc.adapters.orm import metadata
from contracts_svc.config import get_settings
from guakao_shared.migrations import run_migrations

run_migrations(metadata, lambda: get_settings().database_url)
