"""Pure rules about who may do what. No session, no clock."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from tessera.models.workspace import ApiKeyKind, Role

# Higher may do everything lower may. Analysts read everything and run analyses; marketers also
# change journeys, audiences and creators; admins also manage keys and users; owners also manage
# the workspace itself.
ROLE_RANK: dict[Role, int] = {
    Role.VIEWER: 10,
    Role.ANALYST: 20,
    Role.MARKETER: 30,
    Role.ADMIN: 40,
    Role.OWNER: 50,
}

TOKEN_PREFIX: dict[ApiKeyKind, str] = {ApiKeyKind.PUBLIC: "twk_", ApiKeyKind.SECRET: "tsk_"}
PASSWORD_MIN_LENGTH = 10


def role_allows(role: Role, needed: Role) -> bool:
    """Whether a holder of ``role`` may do what needs ``needed``."""
    return ROLE_RANK[role] >= ROLE_RANK[needed]


def new_token(kind: ApiKeyKind) -> str:
    """A new API token: a kind prefix and 256 bits of randomness."""
    return TOKEN_PREFIX[kind] + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 of a token. Tokens carry 256 random bits, so a fast hash is safe and indexable."""
    return hashlib.sha256(token.encode()).hexdigest()


def kind_of_token(token: str) -> ApiKeyKind | None:
    for kind, prefix in TOKEN_PREFIX.items():
        if token.startswith(prefix):
            return kind
    return None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key or a dashboard user, always inside one workspace."""

    workspace_id: str
    actor: str  # key id or user id, as written to the audit log
    role: Role | None  # None for public write keys: they may only send events
    kind: ApiKeyKind | None = None  # None for a dashboard user

    def allows(self, needed: Role) -> bool:
        return self.role is not None and role_allows(self.role, needed)
