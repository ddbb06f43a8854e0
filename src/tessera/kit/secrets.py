"""Secrets at rest: values sealed with Fernet under keys derived from the secret key.

A sealed value is the JSON object ``{"sealed": "<Fernet token>"}`` in place of the plaintext.
A JSON column keeps its type, so sealing needs no schema change; a reader can tell a sealed
value from a plaintext one (the column guards in ``tessera.db.types`` and the migration that
sealed existing rows do); and showing *that* a secret is set needs no key.

Fernet is AES-128-CBC with HMAC-SHA256, encrypt-then-MAC: a wrong key, a changed byte or a cut
token fails the MAC and raises, it never decrypts to something else. The key is HKDF-SHA256 of
the settings' secret key with its own ``info`` label, so it is not the key that signs dashboard
sessions and neither says anything about the other. A keyring seals with the current key and
opens with it or any previous one (Fernet's ``MultiFernet``): the secret key can be changed
without a moment when stored secrets cannot be read, and ``reseal`` moves a value to the
current key so an old one can then be dropped.

Nothing here reads the settings: ``Settings.keyring()`` builds the keyring, and whoever holds a
keyring passes it in. A value does not say which row it belongs to; anyone able to write the
database can already do worse than move a token from one row to another.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tessera.kit.errors import Problem

SEALED = "sealed"
# The HKDF label of the key that seals secrets at rest. Changing it changes the key.
KEY_INFO = b"tessera/secrets-at-rest/v1"
# Names of settings that hold secrets, by their ending: webhook_secret, access_token,
# refresh_token, signature_key, api_key, password...
SECRET_NAME_ENDINGS = ("secret", "token", "password", "_key")


class SecretUnreadable(Problem):
    """A stored secret that no configured key opens: the server's configuration (or the stored
    value) is wrong, not the request, hence a 5xx."""

    status = 500
    slug = "secret-unreadable"
    title = "A stored secret cannot be decrypted"


def is_sealed(value: object) -> bool:
    """Whether ``value`` has the shape of a sealed value (it may still fail to open)."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(SEALED), str)


def is_secret_name(name: str) -> bool:
    """Whether a setting called ``name`` holds a secret, and so is kept sealed."""
    return name.lower().endswith(SECRET_NAME_ENDINGS)


def derive_key(secret_key: str) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) sealing secrets at rest under ``secret_key``."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


class Keyring:
    """Seals with the key derived from ``current``; opens with it or one from ``previous``."""

    def __init__(self, current: str, previous: Iterable[str] = ()) -> None:
        if not current:
            raise ValueError("the current secret key is empty")
        keys = dict.fromkeys([current, *(key for key in previous if key)])
        self._fernet = MultiFernet([Fernet(derive_key(key)) for key in keys])

    def seal(self, value: Any) -> dict[str, str]:
        """``value`` (anything JSON can hold) sealed under the current key."""
        token = self._fernet.encrypt(orjson.dumps(value))
        return {SEALED: token.decode("ascii")}

    def open(self, sealed: Any, what: str) -> Any:
        """The value ``sealed`` holds. Refuses (``SecretUnreadable``, naming ``what``) a value
        that is not sealed, one no configured key opens, and one altered since it was sealed."""
        try:
            return orjson.loads(self._fernet.decrypt(_token(sealed, what)))
        except (InvalidToken, orjson.JSONDecodeError):
            raise _unreadable(what) from None

    def reseal(self, sealed: Any, what: str) -> dict[str, str]:
        """``sealed`` sealed again under the current key; refuses what ``open`` refuses."""
        try:
            return {SEALED: self._fernet.rotate(_token(sealed, what)).decode("ascii")}
        except InvalidToken:
            raise _unreadable(what) from None

    def seal_secrets(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """``settings`` with each secret-named value sealed (sealed ones and None kept as is)."""
        return {
            name: self.seal(value)
            if is_secret_name(name) and value is not None and not is_sealed(value)
            else value
            for name, value in settings.items()
        }


def _token(sealed: Any, what: str) -> bytes:
    if not is_sealed(sealed):
        raise SecretUnreadable(
            f"{what} is stored unsealed; run `tessera db upgrade` to seal stored secrets"
        )
    try:
        return str(sealed[SEALED]).encode("ascii")
    except UnicodeEncodeError:
        raise _unreadable(what) from None


def _unreadable(what: str) -> SecretUnreadable:
    return SecretUnreadable(
        f"{what} cannot be decrypted: it was sealed under a key that is neither "
        "TESSERA_SECRET_KEY nor one of TESSERA_PREVIOUS_SECRET_KEYS, or it was altered in "
        "the database"
    )
