"""approvals-svc settings (env prefix APPROVALS_)."""

from functools import cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from guakao_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="APPROVALS_")

    records_bucket: str = "guakao-approvals"
    sla_sweep_interval_s: float = Field(default=60.0, gt=0, le=3600)


@cache
def get_settings() -> Settings:
    return Settings()
