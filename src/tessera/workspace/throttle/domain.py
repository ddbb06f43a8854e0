"""Pure rules of sign-in throttling (ADR 0016): the limits, the keys attempts are counted
under, and how a refusal is worded. No session, no clock: callers pass ``now``.

The limits are module constants until they become settings (``TESSERA_LOGIN_*``); the policy
is a value so a caller can pass other limits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from tessera.kit.errors import Problem

ACCOUNT_LIMIT = 5
"""Attempts one account may fail within ``WINDOW`` before it is blocked."""
ADDRESS_LIMIT = 20
"""Attempts one client address may fail within ``WINDOW``, whatever emails it tries."""
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
"""How long a key that reached its limit is refused, from the attempt that reached it."""
PRUNE_BATCH = 100
"""Expired rows deleted per admitted attempt: more than an attempt can create (two)."""
IPV6_PREFIX = 64
"""An IPv6 host usually holds a whole /64, so its addresses count as one."""


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    account_limit: int = ACCOUNT_LIMIT
    address_limit: int = ADDRESS_LIMIT
    window: timedelta = WINDOW
    lockout: timedelta = LOCKOUT

    def __post_init__(self) -> None:
        if self.account_limit < 1 or self.address_limit < 1:
            raise ValueError("a limit must allow at least one attempt")
        if self.window <= timedelta(0) or self.lockout <= timedelta(0):
            raise ValueError("the window and the lockout must be positive")


DEFAULT_POLICY = ThrottlePolicy()


def normalise_email(email: str) -> str:
    """The email as the user lookup sees it (``WorkspaceService.authenticate_password``), so
    every spelling that reaches one account is counted against that account."""
    return email.strip().lower()


def account_key(email: str) -> str:
    """The key an account's attempts are counted under. The email is hashed: the table holds
    whatever people type (typos, other people's addresses) and needs only equality."""
    digest = hashlib.sha256(normalise_email(email).encode()).hexdigest()
    return f"account:{digest}"


def address_key(host: str | None) -> str:
    """The key a client address's attempts are counted under: an IPv4 address as is (also
    when written as IPv4-mapped IPv6), an IPv6 address's /64, anything else (a test client's
    name, no address at all) as text."""
    try:
        address = ipaddress.ip_address((host or "").strip())
    except ValueError:
        return "address:" + ((host or "").strip().lower()[:64] or "unknown")
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"address:{address.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False)}"
    return f"address:{address}"


def seconds_until(until: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` to ``until``, rounded up, at least 1 (a ``Retry-After``)."""
    return max(1, math.ceil((until - now).total_seconds()))


def wait_in_words(seconds: int) -> str:
    """``1 minute``, ``15 minutes``: the wait rounded up to whole minutes."""
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


class TooManyLoginAttempts(Problem):
    """Refused before the password is checked: the account or the address reached its limit.

    The wording is the same for both, and for emails with and without an account, so the
    refusal tells nothing but how long to wait.
    """

    status = 429
    slug = "too-many-login-attempts"
    title = "Too many sign-in attempts"

    def __init__(self, retry_after: int, scope: str) -> None:
        super().__init__(
            f"Too many attempts; try again in {wait_in_words(retry_after)}.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after
        self.scope = scope  # "account" or "address", for the server log only
