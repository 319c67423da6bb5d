"""archive-svc settings (env prefix ARCHIVE_)."""

import re
from functools import cache

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from guakao_shared.settings import ServiceSettings

RECORD_CLASS = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARCHIVE_")

    archive_bucket: str = "guakao-archive"
    # Days from filing during which nothing filed in the class can be deleted or overwritten
    # (S3 Object Lock, COMPLIANCE mode). As JSON: ARCHIVE_RETENTION_DAYS='{"contract": 3650}'.
    # (ARCHIVE_ALLOW_CLOCK_OVERRIDE, common to every service, lets a compliance officer evaluate
    # disposition 'as of' a later time in tests and drills.)
    retention_days: dict[str, int] = Field(
        default_factory=lambda: {"contract": 3650, "minutes": 3650, "evaluation": 1825}
    )
    # How often the ledger entries appended since the last checkpoint are sealed under a
    # Merkle root (a `checkpoint` ledger entry); POST /v1/ledger/checkpoints seals them now.
    checkpoint_interval_s: float = Field(default=3600.0, gt=0)

    @field_validator("retention_days")
    @classmethod
    def _retention_classes(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("at least one record class is required")
        for record_class, days in value.items():
            if not RECORD_CLASS.match(record_class):
                raise ValueError(
                    f"record class {record_class!r}: lower case letters, digits and _ "
                    "(at most 50, starting with a letter)"
                )
            if not 1 <= days <= 36500:
                raise ValueError(f"record class {record_class!r}: {days} days is not in 1..36500")
        return value


@cache
def get_settings() -> Settings:
    return Settings()
