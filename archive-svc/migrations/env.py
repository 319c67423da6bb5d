"""Alembic environment of archive_svc."""

import archive_svc.adapters.orm_evidence  # noqa: F401  (registers its tables on metadata)
from archive_svc.adapters.orm import metadata
from archive_svc.config import get_settings
from guakao_shared.migrations import run_migrations

run_migrations(metadata, lambda: get_settings().database_url)
