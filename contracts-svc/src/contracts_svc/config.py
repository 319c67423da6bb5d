"""contracts-svc settings (env prefix CONTRACTS_)."""

from functools import cache

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from guakao_shared.settings import ServiceSettings

DEV_ESIGN_SECRET = "guakao-dev-esign-secret"  # noqa: S105 - development only; refused in production


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTRACTS_")

    documents_bucket: str = "guakao-contracts"
    esign_provider: str = "builtin"
    esign_secret: SecretStr = SecretStr(DEV_ESIGN_SECRET)
    expiry_reminder_days: tuple[int, ...] = (30, 15, 7)
    sweep_interval_s: float = Field(default=300.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _no_dev_esign_secret_in_production(self) -> "Settings":
        if self.environment == "production" and (
            self.esign_secret.get_secret_value() == DEV_ESIGN_SECRET
        ):
            raise ValueError("refusing to start in production with the development e-sign secret")
        return self


@cache
def get_settings() -> Settings:
    return Settings()
