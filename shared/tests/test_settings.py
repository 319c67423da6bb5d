"""Service settings: the database URL always uses the async driver, and a production process
refuses to start with the development secrets or signing key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from guakao_shared.settings import DEV_S3_SECRET_KEY, ServiceSettings

DB = "postgresql://guakao:secret@db:5432/applications"
PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "database_url": DB,
    "s3_secret_key": "a-real-secret-from-the-vault",
    "jwks_url": "https://idp.example.com/.well-known/jwks.json",
    "jwt_issuer": "https://idp.example.com",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the arguments count: no stray ENVIRONMENT or DATABASE_URL from the shell."""
    fields = set(ServiceSettings.model_fields)
    for name in list(os.environ):
        if name.lower() in fields:
            monkeypatch.delenv(name)
    monkeypatch.setenv("GUAKAO_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@db:5432/app",
        "postgres://u:p@db:5432/app",
        "postgresql+asyncpg://u:p@db:5432/app",
    ],
)
def test_a_postgres_url_is_normalised_to_the_asyncpg_driver(url: str) -> None:
    settings = ServiceSettings(database_url=url)

    assert settings.database_url == "postgresql+asyncpg://u:p@db:5432/app"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:p@db:3306/app",
        "sqlite:///app.db",
        "postgresql+psycopg://u:p@db:5432/app",
        "db:5432/app",
        "",
    ],
)
def test_a_database_url_that_is_not_postgres_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="must be a postgresql:// URL"):
        ServiceSettings(database_url=url)


def test_a_production_configuration_without_development_secrets_is_accepted() -> None:
    settings = ServiceSettings(**PRODUCTION)

    assert settings.environment == "production"
    assert settings.jwks_url == PRODUCTION["jwks_url"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"s3_secret_key": DEV_S3_SECRET_KEY}, "s3_secret_key is the development secret"),
        ({"jwks_url": ""}, "jwks_url is required in production"),
        (
            {"jwks_url": "file:///home/dev/.cache/guakao/dev-keys/dev-jwks.json"},
            "jwks_url/jwt_issuer point at the development signing key",
        ),
        (
            {"jwt_issuer": "guakao-dev"},
            "jwks_url/jwt_issuer point at the development signing key",
        ),
    ],
    ids=["dev-s3-secret", "no-jwks-url", "file-jwks-url", "dev-issuer"],
)
def test_production_refuses_to_start_with_development_secrets(
    override: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ServiceSettings(**{**PRODUCTION, **override})


def test_production_names_every_development_secret_it_found() -> None:
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(
            environment="production",
            database_url=DB,
            jwks_url="file:///tmp/dev-jwks.json",
        )

    message = str(refused.value)
    assert "refusing to start in production" in message
    assert "s3_secret_key is the development secret" in message
    assert "jwks_url/jwt_issuer point at the development signing key" in message


@pytest.mark.parametrize("environment", ["development", "test"])
def test_outside_production_the_development_jwks_file_is_used_by_default(
    environment: str, tmp_path: Path
) -> None:
    settings = ServiceSettings(environment=environment, database_url=DB)

    assert settings.jwks_url.startswith("file:")
    assert settings.jwks_url.endswith("/dev-jwks.json")
    assert settings.jwks_url.startswith((tmp_path / "cache").as_uri())


@pytest.mark.parametrize("environment", ["development", "test"])
def test_outside_production_the_development_s3_secret_is_allowed(environment: str) -> None:
    settings = ServiceSettings(environment=environment, database_url=DB)

    assert settings.s3_secret_key.get_secret_value() == DEV_S3_SECRET_KEY


def test_an_explicit_jwks_url_is_kept_in_development() -> None:
    settings = ServiceSettings(database_url=DB, jwks_url="http://127.0.0.1:8080/jwks.json")

    assert settings.jwks_url == "http://127.0.0.1:8080/jwks.json"
