"""The keys sign-in attempts are counted under, and how a wait is worded (ADR 0016)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from tessera.workspace.throttle.domain import (
    DEFAULT_POLICY,
    ThrottlePolicy,
    account_key,
    address_key,
    seconds_until,
    wait_in_words,
)


def test_an_account_is_keyed_by_the_hash_of_its_normalised_email() -> None:
    """Case and surrounding spaces do not make another key, and the email is not stored."""
    expected = "account:" + hashlib.sha256(b"owner@acme.example").hexdigest()

    keys = {account_key(e) for e in ("owner@acme.example", " Owner@ACME.example\n")}

    assert keys == {expected}
    assert len(expected) <= 80


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("198.51.100.7", "address:198.51.100.7"),
        ("::ffff:198.51.100.7", "address:198.51.100.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "address:2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "address:2001:db8:1:2::/64"),
        ("testclient", "address:testclient"),
        ("", "address:unknown"),
        (None, "address:unknown"),
        ("x" * 200, "address:" + "x" * 64),
    ],
)
def test_an_address_is_keyed_by_its_ip_and_an_ipv6_host_by_its_64(
    host: str | None, key: str
) -> None:
    """One IPv6 host, which usually holds a whole /64, cannot spread its attempts over it."""
    assert address_key(host) == key
    assert len(address_key(host)) <= 80


def test_the_wait_is_whole_seconds_up_and_whole_minutes_up_in_words() -> None:
    """Never 0 seconds, never "0 minutes": a client told to wait waits long enough."""
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    seconds = [seconds_until(now + timedelta(seconds=s), now) for s in (0, 0.2, 59, 61, 900)]
    words = [wait_in_words(s) for s in (1, 60, 61, 900)]

    assert seconds == [1, 1, 59, 61, 900]
    assert words == ["1 minute", "1 minute", "2 minutes", "15 minutes"]


def test_by_default_five_per_account_and_twenty_per_address_in_fifteen_minutes() -> None:
    """The limits a fresh install runs with."""
    policy = DEFAULT_POLICY

    limits = (policy.account_limit, policy.address_limit, policy.window, policy.lockout)

    assert limits == (5, 20, timedelta(minutes=15), timedelta(minutes=15))


@pytest.mark.parametrize(
    "wrong",
    [
        {"account_limit": 0},
        {"address_limit": 0},
        {"window": timedelta(0)},
        {"lockout": timedelta(seconds=-1)},
    ],
)
def test_a_policy_that_could_not_admit_anyone_is_refused(wrong: dict[str, object]) -> None:
    """Limits below one and windows or lockouts that are not positive are mistakes."""
    with pytest.raises(ValueError):
        ThrottlePolicy(**wrong)  # type: ignore[arg-type]
