"""The server's settings: one pydantic-settings object, read from LTV_SERVE_* or a .env file.

It refuses unsafe defaults: the admin endpoints (promote, rollback, reload, A/B share) move
real traffic, so the server does not start with a missing, example or short admin token
unless dev mode is explicitly on (then a random token is generated and logged).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ltv.errors import ConfigError

UNSAFE_TOKENS = {"", "changeme", "change-me", "secret", "default", "password", "token", "admin",
                 "test", "ltv"}
MIN_TOKEN_LENGTH = 16


class ServeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LTV_SERVE_", env_file=".env", extra="ignore")

    registry: Path = Path("registry")
    name: str = "ltv"  # model name in the registry
    online: str | None = None  # online store URL: sqlite:///online.db or redis://host:port/db
    db: Path | None = None  # the warehouse, for POST /v1/admin/retrain (None: no retrain route)
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    admin_token: SecretStr | None = None
    dev_mode: bool = False
    # A/B: share of customers (by a stable hash of customer_id) routed to the challenger.
    challenger: int | None = Field(None, ge=1)
    challenger_share: float = Field(0.0, ge=0.0, le=1.0)
    # Micro-batching: gather concurrent requests for up to batch_wait_ms or batch_max_rows.
    batch_wait_ms: float = Field(2.0, ge=0.0, le=1000.0)
    batch_max_rows: int = Field(1024, ge=1)
    # Answer well-formed POST /v1/predict {"customers": [...]} without FastAPI (see
    # serving/fastpath.py: same answers, half the CPU). False sends everything through FastAPI.
    fast_path: bool = True
    # Request limits (4xx beyond them).
    max_request_rows: int = Field(10_000, ge=1)
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    # Follow `ltv registry promote/rollback` run elsewhere: re-read the champion pointer this
    # often (seconds; 0 = only on POST /v1/admin/reload).
    pointer_poll_s: float = Field(2.0, ge=0.0)

    def checked_token(self) -> str:
        """The admin token, refusing a missing or unsafe one outside dev mode."""
        raw = self.admin_token.get_secret_value() if self.admin_token is not None else None
        unsafe = raw is None or raw.strip().lower() in UNSAFE_TOKENS or len(raw) < MIN_TOKEN_LENGTH
        if not unsafe:
            return raw
        if self.dev_mode:
            return secrets.token_urlsafe(24)
        why = "is not set" if raw is None else (
            "is an example value" if raw.strip().lower() in UNSAFE_TOKENS
            else f"is too short ({len(raw)} characters)")
        raise ConfigError(
            f"the admin token {why}: the server refuses to start, since anyone could promote "
            "or roll back models",
            f"set LTV_SERVE_ADMIN_TOKEN to a random secret of at least {MIN_TOKEN_LENGTH} "
            "characters (python -c 'import secrets; print(secrets.token_urlsafe(32))'), or "
            "pass --dev for a local trial with a generated token")
