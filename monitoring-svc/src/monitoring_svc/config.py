"""monitoring-svc settings (env prefix MONITORING_)."""

from functools import cache

from pydantic_settings import SettingsConfigDict

from guakao_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MONITORING_")

    documents_bucket: str = "guakao-monitoring"


@cache
def get_settings() -> Settings:
    return Settings()
