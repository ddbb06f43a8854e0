"""Settings come from TESSERA_* variables and fail with one clear line."""

from __future__ import annotations

import pytest

from tessera.config import ConfigError, load_settings
from tessera.kit.secrets import SecretUnreadable


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


def test_previous_secret_keys_are_read_comma_separated_and_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TESSERA_PREVIOUS_SECRET_KEYS lists former keys; config show prints only their count."""
    monkeypatch.setenv("TESSERA_SECRET_KEY", "current-key-0123456789")
    monkeypatch.setenv("TESSERA_PREVIOUS_SECRET_KEYS", " older-key-0123 , old-key-4567 ,")

    settings = load_settings()
    shown = settings.masked()

    assert [key.get_secret_value() for key in settings.previous_secret_keys] == [
        "older-key-0123", "old-key-4567",
    ]  # fmt: skip
    assert shown["previous_secret_keys"] == ["********", "********"]
    assert "older-key" not in repr(shown) and "old-key" not in repr(shown)
    assert load_settings(previous_secret_keys="").previous_secret_keys == ()


def test_the_keyring_seals_with_the_secret_key_and_opens_with_previous_ones() -> None:
    """A value sealed under an old key opens once that key is listed as previous; the new
    settings seal under the new key, which the old settings cannot open."""
    old = load_settings(secret_key="old-secret-key-0123456789")
    new = load_settings(
        secret_key="new-secret-key-0123456789", previous_secret_keys="old-secret-key-0123456789"
    )
    sealed = old.keyring().seal({"access_token": "shpat_1"})

    opened = new.keyring().open(sealed, "the token")
    resealed = new.keyring().seal(opened)

    assert opened == {"access_token": "shpat_1"}
    assert load_settings(secret_key="new-secret-key-0123456789").keyring().open(
        resealed, "the token"
    ) == {"access_token": "shpat_1"}
    with pytest.raises(SecretUnreadable):
        old.keyring().open(resealed, "the token")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TESSERA_LOGIN_WINDOW_SECONDS", "100000000000"),
        ("TESSERA_LOGIN_LOCKOUT_SECONDS", "100000000000"),
        ("TESSERA_LOGIN_ADDRESS_LIMIT", "3000000000"),
        ("TESSERA_LOGIN_ACCOUNT_LIMIT", "3000000000"),
        ("TESSERA_COLLECT_MAX_INFLIGHT", "3000000000"),
        ("TESSERA_JOB_LEASE_SECONDS", "1e300"),
        ("TESSERA_WORKER_POLL_SECONDS", "1e300"),
    ],
)
def test_a_limit_past_any_sane_bound_fails_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """A limit no deployment means (a sign-in window of 3,000 years, a count past 32 bits)
    stops the process at start, rather than overflowing a time or a column mid-request."""
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert str(caught.value).startswith(f"{variable}: ")
