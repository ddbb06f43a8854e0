"""A keyring seals with the current key, opens with it or a previous one, and refuses the rest."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from tessera.kit.secrets import (
    SEALED,
    Keyring,
    SecretUnreadable,
    derive_key,
    is_sealed,
    is_secret_name,
)

OLD = "old-secret-key-with-enough-length-0001"
NEW = "new-secret-key-with-enough-length-0002"
TOKEN = {"access_token": "shpat_live_0123456789", "app_secret": "tiktok-secret"}


def test_a_sealed_value_opens_to_what_was_sealed_and_does_not_show_it() -> None:
    """Sealing gives {"sealed": token}; the token holds no plaintext and differs every time."""
    keyring = Keyring(NEW)

    first = keyring.seal(TOKEN)
    second = keyring.seal(TOKEN)

    assert list(first) == [SEALED] and is_sealed(first)
    assert "shpat_live" not in json.dumps(first) and "tiktok-secret" not in json.dumps(first)
    assert first != second
    assert keyring.open(first, "the token") == TOKEN == keyring.open(second, "the token")


def test_the_sealing_key_is_derived_from_the_secret_key_not_the_secret_key_itself() -> None:
    """HKDF with its own label: the Fernet key is neither the secret key nor another key's."""
    key = base64.urlsafe_b64decode(derive_key(NEW))

    assert len(key) == 32
    assert NEW.encode()[:32] != key
    assert derive_key(NEW) != derive_key(OLD)
    assert derive_key(NEW) == derive_key(NEW)


def test_a_previous_key_still_opens_and_resealing_moves_to_the_current_key() -> None:
    """Sealed under OLD; NEW with OLD listed opens it; resealed, NEW alone opens it, OLD not."""
    sealed = Keyring(OLD).seal(TOKEN)
    rotated = Keyring(NEW, previous=[OLD])

    opened = rotated.open(sealed, "the token")
    resealed = rotated.reseal(sealed, "the token")

    assert opened == TOKEN
    assert Keyring(NEW).open(resealed, "the token") == TOKEN
    with pytest.raises(SecretUnreadable):
        Keyring(OLD).open(resealed, "the token")
    assert Keyring(NEW).open(rotated.seal(TOKEN), "the token") == TOKEN


def test_a_wrong_key_is_refused_naming_what_was_opened() -> None:
    """Without the key it was sealed under, opening fails with one clear line, not garbage."""
    sealed = Keyring(OLD).seal(TOKEN)

    with pytest.raises(SecretUnreadable) as caught:
        Keyring(NEW).open(sealed, "the credentials of feed fed_1 (amazon)")

    assert caught.value.status == 500
    assert caught.value.detail == (
        "the credentials of feed fed_1 (amazon) cannot be decrypted: it was sealed under a key "
        "that is neither TESSERA_SECRET_KEY nor one of TESSERA_PREVIOUS_SECRET_KEYS, or it was "
        "altered in the database"
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        lambda token: token[:40],
        lambda token: "not a fernet token",
        lambda token: token + "é",
    ],
    ids=["changed", "cut", "junk", "not-ascii"],
)
def test_an_altered_value_is_refused(tamper: Callable[[str], str]) -> None:
    """A changed byte, a cut token or junk fails the MAC check: refused, never decrypted."""
    keyring = Keyring(NEW)
    sealed = keyring.seal(TOKEN)
    altered = {SEALED: tamper(sealed[SEALED])}

    with pytest.raises(SecretUnreadable, match="cannot be decrypted"):
        keyring.open(altered, "the token")
    with pytest.raises(SecretUnreadable, match="cannot be decrypted"):
        keyring.reseal(altered, "the token")


def test_a_plaintext_value_is_refused_with_the_way_to_seal_it() -> None:
    """A value stored before secrets were sealed says to run the migration."""
    with pytest.raises(SecretUnreadable) as caught:
        Keyring(NEW).open(TOKEN, "the token")

    assert caught.value.detail == (
        "the token is stored unsealed; run `tessera db upgrade` to seal stored secrets"
    )


def test_only_secret_named_settings_are_sealed() -> None:
    """webhook_secret, *_token, *_key and passwords are sealed; a shop domain stays readable."""
    keyring = Keyring(NEW)
    already = keyring.seal("kept")

    sealed = keyring.seal_secrets(
        {
            "shop_domain": "glow.myshopify.com",
            "webhook_secret": "shpss_1",
            "refresh_token": "Atzr|1",
            "signature_key": "sq-1",
            "password": "hunter2",
            "client_secret": None,
            "api_secret": already,
        }
    )

    assert sealed["shop_domain"] == "glow.myshopify.com"
    assert sealed["client_secret"] is None and sealed["api_secret"] == already
    assert [keyring.open(sealed[name], name) for name in ("webhook_secret", "refresh_token",
            "signature_key", "password")] == ["shpss_1", "Atzr|1", "sq-1", "hunter2"]  # fmt: skip
    assert [is_secret_name(n) for n in ("shop_domain", "location_id", "Webhook_Secret")] == [
        False, False, True,
    ]  # fmt: skip


def test_an_empty_secret_key_is_refused() -> None:
    """A keyring needs a current key to seal with."""
    with pytest.raises(ValueError, match="empty"):
        Keyring("")
