"""approvals-svc settings (env prefix APPROVALS_)."""

from functools import cache

from pydantic_settings import SettingsConfigDict

from guakao_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="APPROVALS_")


@cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
