"""Password hashing (Argon2id) and the one rule a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tessera.workspace.errors import WeakPassword

PASSWORD_MIN_LENGTH = 10

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("tessera-timing-equaliser")


def hash_password(password: str) -> str:
    """The Argon2id hash of a new password; refuses one shorter than 10 characters."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise WeakPassword(
            f"password must be at least {PASSWORD_MIN_LENGTH} characters", field="password"
        )
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (no such user) it takes as long and is False."""
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def rehashed(password_hash: str, password: str) -> str | None:
    """A new hash of a verified password whose hash was made with weaker parameters than
    today's, else None."""
    return _hasher.hash(password) if _hasher.check_needs_rehash(password_hash) else None
