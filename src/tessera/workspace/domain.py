"""Pure rules about who may do what, and what a workspace's settings may be. No session, no
clock."""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from tessera.kit.errors import InvalidInput
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
INVITATION_TOKEN_PREFIX = "tin_"  # noqa: S105 - a prefix, not a secret
RESET_TOKEN_PREFIX = "trs_"  # noqa: S105 - a prefix, not a secret
# An invitation waits a week for its person; a reset link, meant to be used at once, a day.
INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(days=1)


def role_allows(role: Role, needed: Role) -> bool:
    """Whether a holder of ``role`` may do what needs ``needed``."""
    return ROLE_RANK[role] >= ROLE_RANK[needed]


def may_act_on(actor_role: Role | None, target_role: Role) -> bool:
    """Whether someone of ``actor_role`` may remove, re-role or reset a member holding
    ``target_role``: only someone ranked at least as high (an admin never acts on an owner).
    ``None`` is the operator on the server (the CLI), who may act on anyone."""
    return actor_role is None or role_allows(actor_role, target_role)


class LinkState(enum.StrEnum):
    """Where a one-time link (an invitation or a password reset) stands."""

    OPEN = "open"
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"


def link_state(
    used_at: datetime | None, revoked_at: datetime | None, expires_at: datetime, now: datetime
) -> LinkState:
    """A link is open until it is used, revoked or past its expiry, whichever came first."""
    if used_at is not None:
        return LinkState.USED
    if revoked_at is not None:
        return LinkState.REVOKED
    if now >= expires_at:
        return LinkState.EXPIRED
    return LinkState.OPEN


def new_link_token(prefix: str) -> str:
    """A new one-time link token: a kind prefix and 256 bits of randomness, stored hashed."""
    return prefix + secrets.token_urlsafe(32)


INVITATION_PATH = "/invitations/accept"
RESET_PATH = "/password-reset"


def link_url(base_url: str, path: str, token: str) -> str:
    """The dashboard link carrying a one-time token. The token rides in the query string, which
    the request log leaves out (it records the path only)."""
    return f"{base_url.rstrip('/')}{path}?token={token}"


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


def checked_time_zone(value: str) -> str:
    """An IANA zone name as given (``Europe/Stockholm``), or InvalidInput naming the field."""
    name = value.strip()
    if name not in zone_names():
        raise InvalidInput(
            f"time_zone must be an IANA zone name like Europe/Stockholm, got {name[:64]!r}",
            field="time_zone",
        )
    return name


def checked_currency(value: str) -> str:
    """A three-letter ISO 4217 code, upper-cased, or InvalidInput naming the field."""
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise InvalidInput("currency must be a three-letter ISO 4217 code", field="currency")
    return code


@cache
def zone_names() -> frozenset[str]:
    """Every IANA zone name this installation's tz database knows."""
    return frozenset(zoneinfo.available_timezones())


@cache
def zone_choices() -> list[str]:
    """The zones offered to a person choosing one: ``Area/City`` names and UTC, sorted (the
    database's legacy aliases such as ``EST`` are still accepted, not offered)."""
    return sorted(z for z in zone_names() if "/" in z or z == "UTC")
