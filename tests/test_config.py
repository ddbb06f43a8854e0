"""Settings come from TESSERA_* variables and fail with one clear line."""

from __future__ import annotations

import pytest

from tessera.config import ConfigError, load_settings


def test_defaults_to_a_sqlite_file_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing set, Tessera uses ./var/tessera.db."""
    monkeypatch.delenv("TESSERA_DATABASE_URL", raising=False)

    settings = load_settings()

    assert settings.database_url == "sqlite:///./var/tessera.db"
    assert str(settings.sqlite_path()) == "var/tessera.db"


def test_a_plain_postgresql_url_uses_psycopg_3(monkeypatch: pytest.MonkeyPatch) -> None:
    """postgresql:// is read as postgresql+psycopg://."""
    monkeypatch.setenv("TESSERA_DATABASE_URL", "postgresql://app@db:5432/tessera")

    assert load_settings().database_url == "postgresql+psycopg://app@db:5432/tessera"


def test_an_unknown_database_fails_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A MySQL URL is refused with a message that names TESSERA_DATABASE_URL."""
    monkeypatch.setenv("TESSERA_DATABASE_URL", "mysql://root@localhost/db")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert str(caught.value).startswith("TESSERA_DATABASE_URL: ")
    assert "\n" not in str(caught.value)


def test_a_non_numeric_port_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """TESSERA_PORT=abc is a one-line error about TESSERA_PORT."""
    monkeypatch.setenv("TESSERA_PORT", "abc")

    with pytest.raises(ConfigError, match=r"^TESSERA_PORT: .*'abc'"):
        load_settings()


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """In production the default secret key is refused; a long one is accepted."""
    monkeypatch.setenv("TESSERA_ENVIRONMENT", "production")

    with pytest.raises(ConfigError, match="TESSERA_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("TESSERA_SECRET_KEY", "x" * 40)
    assert load_settings().environment == "production"


def test_masked_settings_hide_secrets_and_passwords() -> None:
    """config show never prints the secret key or the database password."""
    settings = load_settings(
        database_url="postgresql://app:hunter2@db/tessera", secret_key="s3cr3t-value"
    )

    shown = settings.masked()

    assert shown["secret_key"] == "********"
    assert shown["database_url"] == "postgresql+psycopg://app:********@db/tessera"
    assert "hunter2" not in repr(shown) and "s3cr3t" not in repr(shown)
