"""approvals-svc settings (env prefix APPROVALS_)."""

from functools import cache

from guakao_shared.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="APPROVALS_")


@cache
def get_settings() -> Settings:
    return Settings()
