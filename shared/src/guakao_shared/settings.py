"""Typed settings shared by every service. Each service subclasses `ServiceSettings` with its
own env prefix (e.g. `APPLICATIONS_DATABASE_URL`). Values are validated at start; outside
development the process refuses to start with the development secrets.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from guakao_shared.devkeys import DEV_ISSUER, dev_jwks_url

DEV_S3_ACCESS_KEY = "guakao-dev"
DEV_S3_SECRET_KEY = "guakao-dev-secret"  # noqa: S105 - development only; refused elsewhere


class ServiceSettings(BaseSettings):
    """Settings every service has; subclasses set their own `env_prefix`."""

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(description="PostgreSQL URL of this service's own database")
    kafka_bootstrap: str = "127.0.0.1:19092"
    s3_endpoint: str = "127.0.0.1:19000"
    s3_access_key: str = DEV_S3_ACCESS_KEY
    s3_secret_key: SecretStr = SecretStr(DEV_S3_SECRET_KEY)
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    jwks_url: str = ""
    jwt_issuer: str = DEV_ISSUER
    jwt_audience: str = "guakao"
    relay_enabled: bool = True
    relay_poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    # Housekeeping by the active relay: published outbox rows, inbox ids (the dedupe window;
    # keep it well beyond the topics' retention) and idempotency keys are purged after these.
    outbox_retention_days: float = Field(default=7, gt=0, le=365)
    inbox_retention_days: float = Field(default=30, gt=0, le=3650)
    idempotency_retention_days: float = Field(default=7, gt=0, le=365)
    consumer_max_attempts: int = Field(default=3, ge=1, le=20)
    consumer_retry_backoff_s: float = Field(default=0.2, ge=0, le=30)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Request bodies: JSON (and anything not an upload) and uploads (multipart or raw bytes).
    max_json_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=5 * 1024**3)
    # Tests and drills may act "as of" another time (sweeps, deadlines); never in production.
    allow_clock_override: bool = False

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgresql+asyncpg://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        rest = value.split("://", 1)[1]
        return f"postgresql+asyncpg://{rest}"

    @model_validator(mode="after")
    def _no_dev_secrets_outside_development(self) -> Self:
        if not self.jwks_url:
            if self.environment == "production":
                raise ValueError("jwks_url is required in production")
            self.jwks_url = dev_jwks_url()
        if self.environment == "production":
            problems = []
            if self.s3_secret_key.get_secret_value() == DEV_S3_SECRET_KEY:
                problems.append("s3_secret_key is the development secret")
            if self.jwks_url.startswith("file:") or self.jwt_issuer == DEV_ISSUER:
                problems.append("jwks_url/jwt_issuer point at the development signing key")
            if self.jwks_url.startswith("http://"):
                problems.append("jwks_url must be https:// (signing keys over plain HTTP)")
            if self.allow_clock_override:
                problems.append("allow_clock_override is for tests and drills only")
            if problems:
                raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self
