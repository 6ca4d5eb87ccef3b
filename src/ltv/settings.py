"""One settings object, read from the environment (prefix LTV_) or a .env file.

Secrets are SecretStr so they never appear in reprs or logs.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ltv.errors import ConfigError

# Keys that people copy from examples; refusing them keeps hashes from being reversible by
# anyone who read the same example.
UNSAFE_PII_KEYS = {"", "changeme", "change-me", "secret", "default", "password", "test", "ltv"}
MIN_PII_KEY_LENGTH = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LTV_", env_file=".env", extra="ignore")

    pii_key: SecretStr | None = None
    db: str = "ltv.duckdb"
    threads: int | None = None  # DuckDB threads; None = all cores
    memory_limit: str | None = None  # DuckDB memory limit, e.g. "8GB"


def get_settings() -> Settings:
    return Settings()


def require_pii_key(key: str | SecretStr | None = None) -> bytes:
    """Return the HMAC key for PII columns, refusing a missing, default or short key."""
    if key is None:
        key = get_settings().pii_key
    raw = key.get_secret_value() if isinstance(key, SecretStr) else key
    if raw is None or raw.strip().lower() in UNSAFE_PII_KEYS:
        raise ConfigError(
            "PII columns were declared but no safe PII key is set",
            "set LTV_PII_KEY to a random secret of at least 16 characters, e.g. "
            "`export LTV_PII_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')`",
        )
    if len(raw) < MIN_PII_KEY_LENGTH:
        raise ConfigError(
            f"the PII key is too short ({len(raw)} characters)",
            f"use a random secret of at least {MIN_PII_KEY_LENGTH} characters in LTV_PII_KEY",
        )
    return raw.encode()
