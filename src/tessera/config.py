"""Settings: one pydantic-settings class, read from ``TESSERA_*`` environment variables.

A wrong setting stops the process at start with one line naming the variable (``ConfigError``),
never a traceback halfway through a request.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tessera.kit.secrets import Keyring

WEEK_SECONDS = 7 * 24 * 3600  # the longest sign-in window or lockout that means anything
DAY_SECONDS = 24 * 3600
DEV_SECRET = "dev-insecure-change-me"  # noqa: S105 - refused in production by a validator


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line naming it."""


class Settings(BaseSettings):
    """Everything Tessera reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="TESSERA_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/tessera.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET),
        description=(
            "Signs dashboard sessions and CSRF tokens, and (through a key derived from it) "
            "seals channel credentials and connector secrets in the database; set a long "
            "random value"
        ),
    )
    previous_secret_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description=(
            "Former secret keys, comma-separated: secrets sealed under them can still be read "
            "after TESSERA_SECRET_KEY changes (writes always use the current key)"
        ),
    )
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    # A command's own output is for a person: the log lines of what it runs stay out of it
    # unless asked for (serve, worker and the demo's servers use log_level).
    cli_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "ERROR"
    collect_max_inflight: int = Field(
        default=64,
        ge=0,
        le=100_000,
        description="Collection requests one process handles at once; then 429",
    )
    login_account_limit: int = Field(
        default=5,
        ge=1,
        le=1_000,
        description="Sign-in attempts per account within the window; then 429",
    )
    login_address_limit: int = Field(
        default=20,
        ge=1,
        le=1_000_000,
        description="Sign-in attempts per client address within the window",
    )
    login_window_seconds: int = Field(default=900, gt=0, le=WEEK_SECONDS)
    login_lockout_seconds: int = Field(default=900, gt=0, le=WEEK_SECONDS)
    job_max_attempts: int = Field(default=8, ge=1, le=100)
    job_lease_seconds: float = Field(default=30.0, gt=0, le=DAY_SECONDS)
    worker_poll_seconds: float = Field(default=0.1, gt=0, le=3600)
    worker_batch_size: int = Field(default=20, ge=1, le=1000)
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description=(
            "Addresses or networks of the reverse proxies in front of Tessera, comma-separated "
            "(e.g. 10.0.0.0/8): only a connection from one of them may name the client's "
            "address in X-Forwarded-For. Empty: the connection's own address is the client's"
        ),
    )
    webhook_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description=(
            "Hosts, addresses or networks journey webhooks may reach although they are not "
            "public (e.g. hooks.internal,10.1.2.0/24), comma-separated. Empty: public only"
        ),
    )
    job_modules: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="More modules the worker imports for job handlers, comma-separated"
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description=(
            "The address people and providers reach this server at (no trailing slash): "
            "unsubscribe and tracked links in messages, and the SMS status callback, start here"
        ),
    )
    smtp_host: str = Field(default="127.0.0.1", description="The SMTP server email is sent through")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = Field(default="", description="SMTP login; empty: no AUTH")
    smtp_password: SecretStr = Field(default=SecretStr(""))
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS"
    )
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    sms_base_url: str = Field(
        default="https://api.twilio.com",
        description="The Twilio-style SMS API (POST /2010-04-01/Accounts/{sid}/Messages.json)",
    )
    sms_account_sid: str = Field(default="", description="The SMS provider's account id")
    sms_auth_token: SecretStr = Field(
        default=SecretStr(""),
        description="Signs requests to the SMS provider and checks the signature of its webhooks",
    )
    sms_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    data_dir: Path = Field(
        default=Path("./var"),
        description="Where files live: uploaded content and its renditions (local storage)",
    )
    storage_backend: Literal["local", "s3"] = Field(
        default="local",
        description="Where content is stored: local (under TESSERA_DATA_DIR) or s3 (any "
        "S3-compatible store: TESSERA_S3_*)",
    )
    s3_endpoint_url: str = Field(default="", description="The S3 endpoint; empty: AWS's")
    s3_bucket: str = Field(default="", description="The bucket content is stored in")
    s3_region: str = Field(default="us-east-1")
    s3_access_key_id: str = Field(default="")
    s3_secret_access_key: SecretStr = Field(default=SecretStr(""))
    content_max_image_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1024, le=10 * 1024**3, description="Largest image upload"
    )
    content_max_video_bytes: int = Field(
        default=2 * 1024**3, ge=1024, le=50 * 1024**3, description="Largest video upload"
    )

    @field_validator(
        "job_modules",
        "previous_secret_keys",
        "trusted_proxies",
        "webhook_allowed_hosts",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("public_url", "sms_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not (value.startswith("http://") or value.startswith("https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not (value.startswith("sqlite:") or value.startswith("postgresql+psycopg://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @model_validator(mode="after")
    def _real_secret_in_production(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.environment == "production" and (secret == DEV_SECRET or len(secret) < 32):
            raise ValueError(
                "TESSERA_SECRET_KEY must be set to 32+ random characters in production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None for PostgreSQL and in-memory databases."""
        if not self.is_sqlite:
            return None
        raw = self.database_url.split(":///", 1)[-1]
        if not raw or raw == ":memory:":
            return None
        return Path(raw)

    def keyring(self) -> Keyring:
        """What seals stored secrets: the key derived from ``secret_key`` seals and opens, the
        ones derived from ``previous_secret_keys`` only open."""
        return _keyring(
            self.secret_key.get_secret_value(),
            tuple(key.get_secret_value() for key in self.previous_secret_keys),
        )

    def masked(self) -> dict[str, Any]:
        """The effective settings with secrets and passwords hidden, for ``tessera config show``."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown[name] = "********"
            elif isinstance(value, tuple) and any(isinstance(item, SecretStr) for item in value):
                shown[name] = ["********"] * len(value)
            elif name == "database_url":
                shown[name] = _mask_url_password(value)
            else:
                shown[name] = value
        return shown


@lru_cache(maxsize=8)
def _keyring(current: str, previous: tuple[str, ...]) -> Keyring:
    """One keyring per set of keys (deriving a key costs an HKDF per key, per use otherwise)."""
    return Keyring(current, previous)


def _mask_url_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, colon, _password = credentials.partition(":")
    return f"{scheme}://{user}{':********' if colon else ''}@{host}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; raise ConfigError with one line if any is wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        if not field:  # a rule across settings names its own variable
            raise ConfigError(first["msg"].removeprefix("Value error, ")) from None
        raise ConfigError(
            f"TESSERA_{field.upper()}: {first['msg']} (got {first.get('input')!r})"
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


class HoldsKeyring:
    """For a service that seals or opens stored secrets: ``keyring`` is the one it was given,
    else the process settings' (read when first needed, so making the service reads none)."""

    _keyring: Keyring | None = None

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = get_settings().keyring()
        return self._keyring
