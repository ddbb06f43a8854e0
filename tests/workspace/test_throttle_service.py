"""The sign-in throttle's counters, with the clock passed in (ADR 0016)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.models.workspace import AuditEntry, LoginAttempt
from tessera.workspace.throttle.domain import (
    ThrottlePolicy,
    TooManyLoginAttempts,
    account_key,
    address_key,
)
from tessera.workspace.throttle.repository import ThrottleRepository
from tessera.workspace.throttle.service import Admission, LoginThrottle
from tests.support.factories import make_tenant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = "someone@acme.example"
# Small limits so each rule shows in a few attempts.
POLICY = ThrottlePolicy(
    account_limit=3, address_limit=5, window=timedelta(minutes=10), lockout=timedelta(minutes=30)
)


def admit(
    session: Session, at: datetime, email: str = EMAIL, address: str = "198.51.100.7"
) -> Admission:
    return LoginThrottle(session, POLICY).admit(email, address, at)


def refusal(session: Session, at: datetime, **kwargs: str) -> TooManyLoginAttempts:
    """The refusal of an attempt at ``at``, rolled back the way the caller's scope does."""
    with pytest.raises(TooManyLoginAttempts) as caught:
        admit(session, at, **kwargs)
    session.rollback()
    return caught.value


def counters(session: Session) -> dict[str, tuple[int, datetime, datetime | None]]:
    session.expire_all()
    rows = session.scalars(select(LoginAttempt)).all()
    return {r.key: (r.attempt_count, r.window_started_at, r.blocked_until) for r in rows}


def test_attempts_are_numbered_in_their_window_until_the_limit_blocks_the_account(
    session: Session,
) -> None:
    """The third attempt is number 3 and sets the block; the fourth is refused for the whole
    lockout, counted from the third."""
    numbers = [admit(session, T0 + timedelta(minutes=m)).account_attempt for m in range(3)]
    session.commit()

    refused = refusal(session, T0 + timedelta(minutes=5))

    assert numbers == [1, 2, 3]
    assert refused.status == 429
    assert refused.scope == "account"
    assert refused.retry_after == 27 * 60
    assert refused.headers == {"Retry-After": "1620"}
    assert refused.detail == "Too many attempts; try again in 27 minutes."
    assert counters(session)[account_key(EMAIL)] == (3, T0, T0 + timedelta(minutes=32))


def test_the_block_outlasts_the_window_and_then_a_new_window_starts(session: Session) -> None:
    """A block set at minute 9 still refuses at minute 38 (the window ended at minute 10);
    at minute 39 the attempt is admitted as the first of a new window."""
    for minute in (0, 5, 9):
        admit(session, T0 + timedelta(minutes=minute))
    session.commit()

    late = refusal(session, T0 + timedelta(minutes=38, seconds=30))
    admitted = admit(session, T0 + timedelta(minutes=39))

    assert late.retry_after == 30
    assert late.detail == "Too many attempts; try again in 1 minute."
    assert admitted.account_attempt == 1
    assert counters(session)[account_key(EMAIL)] == (1, T0 + timedelta(minutes=39), None)


def test_a_window_that_ended_starts_over_without_a_block(session: Session) -> None:
    """Two attempts, then ten quiet minutes: the next attempt is number 1 again."""
    admit(session, T0)
    admit(session, T0 + timedelta(minutes=1))

    later = admit(session, T0 + timedelta(minutes=10))

    assert later.account_attempt == 1
    assert later.address_attempt == 1


def test_a_refused_attempt_counts_nowhere(session: Session) -> None:
    """An attempt refused for its address leaves its account's counter untouched."""
    for n in range(5):
        admit(session, T0, email=f"guess{n}@acme.example")
    session.commit()
    before = counters(session)

    refused = refusal(session, T0 + timedelta(minutes=1))

    assert refused.scope == "address"
    assert counters(session) == before
    assert account_key(EMAIL) not in before


def test_a_success_clears_the_account_and_takes_its_attempt_back_from_the_address(
    session: Session,
) -> None:
    """Even the attempt that reached the address limit, once it signs in, unblocks it."""
    for n in range(4):
        admit(session, T0, email=f"guess{n}@acme.example")
    fifth = admit(session, T0 + timedelta(minutes=1))
    blocked = counters(session)[address_key("198.51.100.7")]

    LoginThrottle(session, POLICY).succeeded(fifth)

    after = counters(session)
    assert blocked == (5, T0, T0 + timedelta(minutes=31))
    assert after[address_key("198.51.100.7")] == (4, T0, None)
    assert account_key(EMAIL) not in after


def test_a_success_leaves_a_window_started_after_it_alone(session: Session) -> None:
    """Taking an attempt back touches only the window that counted it."""
    admitted = admit(session, T0)
    admit(session, T0 + timedelta(minutes=20), email="other@acme.example")

    LoginThrottle(session, POLICY).succeeded(admitted)

    assert counters(session)[address_key("198.51.100.7")] == (1, T0 + timedelta(minutes=20), None)


def test_expired_counters_are_pruned_and_live_ones_kept(session: Session) -> None:
    """An admitted attempt deletes counters whose window and block are both over, and keeps a
    blocked one until its block ends."""
    admit(session, T0, email="old@acme.example", address="192.0.2.1")
    for _ in range(3):
        admit(session, T0, email="blocked@acme.example", address="192.0.2.2")

    admit(session, T0 + timedelta(minutes=11))

    assert set(counters(session)) == {
        account_key("blocked@acme.example"),
        account_key(EMAIL),
        address_key("198.51.100.7"),
    }


def test_pruning_takes_at_most_one_batch(session: Session) -> None:
    """Each prune deletes a bounded number of rows, oldest windows first."""
    for n in range(4):
        admit(
            session, T0 + timedelta(seconds=n), email=f"u{n}@acme.example", address=f"192.0.2.{n}"
        )
    repository = ThrottleRepository(session)

    deleted = repository.prune(T0 + timedelta(minutes=1), T0 + timedelta(minutes=1), 2)

    assert deleted == 2
    assert set(counters(session)) == {
        key
        for n in range(1, 4)
        for key in (account_key(f"u{n}@acme.example"), address_key(f"192.0.2.{n}"))
    }


def test_the_failure_that_blocks_a_member_is_audited_once_in_their_workspace(
    session: Session,
) -> None:
    """Only the attempt that reached the limit writes user.locked_out, with its details."""
    tenant = make_tenant(session, "acme")
    throttle = LoginThrottle(session, POLICY)
    written = []
    for minute in range(3):
        attempt = admit(session, T0 + timedelta(minutes=minute), email=tenant.owner_email)
        written.append(throttle.failed(attempt))

    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.locked_out")
    ).all()

    assert written == [False, False, True]
    assert [(e.workspace_id, e.actor, e.subject) for e in entries] == [
        (tenant.workspace_id, "system", tenant.owner_id)
    ]
    assert entries[0].details == {
        "failed_attempts": "3",
        "within_minutes": "10",
        "blocked_until": "2026-03-02T09:32:00+00:00",
        "last_address": "198.51.100.7",
    }
