"""applications-svc settings (env prefix APPLICATIONS_)."""

from functools import cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from guakao_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="APPLICATIONS_")

    documents_bucket: str = "guakao-applications"
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=5 * 1024**3)


@cache
def get_settings() -> Settings:
    return Settings()
