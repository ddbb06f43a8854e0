"""Throttling of password sign-in (ADR 0016). Never commits: the caller's scope does.

An attempt is counted *before* its password is checked, against its account and its client
address, in a short transaction of its own that the caller commits at once; an attempt that
finds either key blocked is refused without a password check and writes nothing. After the
check, a success takes its attempt back (the account's counter is cleared, the address's
loses one) in the request's own transaction; a failure has nothing more to write, since it
was counted already: a refused login's rollback cannot erase it, and neither can a crash
during the check. Counting first is also what bounds concurrent guessing: attempts that
arrive together are numbered one after another by the database, and only the first
``limit`` of them reach the password check.

Kept beside ``service.py`` rather than in it: its own transaction makes it a different kind
of use case, and ``admit`` must not share a session with the request's unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tessera.kit.logging import get_logger
from tessera.workspace.service import WorkspaceService
from tessera.workspace.throttle.domain import (
    DEFAULT_POLICY,
    PRUNE_BATCH,
    ThrottlePolicy,
    TooManyLoginAttempts,
    account_key,
    address_key,
    normalise_email,
    seconds_until,
)
from tessera.workspace.throttle.repository import ThrottleRepository

log = get_logger("tessera.workspace")
LOCKED_OUT = "user.locked_out"
"""The audit action written, in each of the user's workspaces, when their account is blocked."""


@dataclass(frozen=True, slots=True)
class Admission:
    """An attempt that was counted and may check its password."""

    email: str  # as submitted; normalised when it is looked up
    address: str
    account_key: str
    address_key: str
    counted_at: datetime
    account_attempt: int  # this attempt's number in the account's window
    address_attempt: int


class LoginThrottle:
    def __init__(self, session: Session, policy: ThrottlePolicy = DEFAULT_POLICY) -> None:
        self.session = session
        self.policy = policy
        self.repository = ThrottleRepository(session)

    def admit(self, email: str, address: str | None, now: datetime) -> Admission:
        """Count an attempt to sign in as ``email`` from ``address``, or refuse it.

        Refuses with ``TooManyLoginAttempts`` (429, with the seconds to wait) when the account
        or the address is blocked; the caller rolls back, so a refused attempt counts
        nowhere. Run it in a session of its own and commit before checking the password
        (ADR 0016). Also prunes a batch of expired counters, which bounds the table.
        """
        policy = self.policy
        account, client = account_key(email), address_key(address)
        cutoff = now - policy.window
        block_until = now + policy.lockout
        account_attempt = self.repository.admit(
            account, now, cutoff, policy.account_limit, block_until
        )
        if account_attempt is None:
            raise self._refusal(account, "account", now)
        address_attempt = self.repository.admit(
            client, now, cutoff, policy.address_limit, block_until
        )
        if address_attempt is None:
            raise self._refusal(client, "address", now)
        self.repository.prune(cutoff, now, PRUNE_BATCH)
        return Admission(
            email=email,
            address=client.removeprefix("address:"),
            account_key=account,
            address_key=client,
            counted_at=now,
            account_attempt=account_attempt,
            address_attempt=address_attempt,
        )

    def succeeded(self, admission: Admission) -> None:
        """The admitted attempt signed in: clear the account's counter and take the attempt
        back from the address's (the other attempts from there stay counted)."""
        self.repository.forget(admission.account_key)
        self.repository.uncount(admission.address_key, admission.counted_at)

    def failed(self, admission: Admission) -> bool:
        """The admitted attempt had a wrong email or password. It is counted already; when it
        was the one that blocked the account, and the account exists, record that in the
        audit log of each of the user's workspaces. Returns whether anything was written
        (the caller then keeps it although it refuses the request)."""
        policy = self.policy
        if admission.address_attempt == policy.address_limit:
            log.warning(
                "login_address_blocked",
                address=admission.address,
                attempts=admission.address_attempt,
                minutes=int(policy.lockout.total_seconds() // 60),
            )
        if admission.account_attempt != policy.account_limit:
            return False
        service = WorkspaceService(self.session)
        user = service.repository.user_by_email(normalise_email(admission.email))
        log.warning(
            "login_account_blocked",
            user_id=user.id if user else None,
            address=admission.address,
            attempts=admission.account_attempt,
        )
        if user is None:
            return False
        workspaces = service.workspaces_of(user.id)
        blocked_until = admission.counted_at + policy.lockout
        for workspace, _role in workspaces:
            service.record(
                workspace.id,
                "system",
                LOCKED_OUT,
                user.id,
                {
                    "failed_attempts": admission.account_attempt,
                    "within_minutes": int(policy.window.total_seconds() // 60),
                    "blocked_until": blocked_until.isoformat(timespec="seconds"),
                    "last_address": admission.address,
                },
            )
        return bool(workspaces)

    def _refusal(self, key: str, scope: str, now: datetime) -> TooManyLoginAttempts:
        until = self.repository.blocked_until(key) or now + self.policy.lockout
        return TooManyLoginAttempts(seconds_until(until, now), scope)
