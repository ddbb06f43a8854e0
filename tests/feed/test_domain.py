"""Buffer rules and push decisions: exact cases, and hypothesis for the invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tessera.feed.domain import (
    BufferRule,
    PushDecision,
    decide_push,
    lag_milliseconds,
    retry_delay,
    sellable,
)

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

rules = st.builds(
    BufferRule,
    safety_quantity=st.integers(0, 50),
    percentage=st.integers(0, 100),
    percentage_floor=st.integers(0, 50),
    maximum=st.none() | st.integers(0, 500),
    zero_below=st.integers(0, 50),
    ring_fenced=st.integers(0, 50),
)
quantities = st.integers(-20, 2000)
fences = st.integers(0, 100)


@given(rules, quantities, quantities, fences)
def test_sellable_is_monotone_in_available(
    rule: BufferRule, first: int, second: int, fenced: int
) -> None:
    """More stock never shows fewer units on a channel."""
    low, high = sorted((first, second))

    assert sellable(low, rule, fenced) <= sellable(high, rule, fenced)


@given(rules, quantities, fences)
def test_sellable_is_never_negative_nor_above_available(
    rule: BufferRule, available: int, fenced: int
) -> None:
    """A channel shows between 0 and what is available, whatever the rule."""
    shown = sellable(available, rule, fenced)

    assert 0 <= shown <= max(0, available)


@given(rules, quantities, fences, fences)
def test_more_fenced_for_others_never_shows_more(
    rule: BufferRule, available: int, first: int, second: int
) -> None:
    """Ring-fencing more units for other channels never raises this channel's quantity."""
    low, high = sorted((first, second))

    assert sellable(available, rule, high) <= sellable(available, rule, low)


def test_each_buffer_in_turn() -> None:
    """Safety, percentage rounded down with a floor, maximum, zero below, fences: exact values."""
    assert sellable(10, BufferRule()) == 10
    assert sellable(10, BufferRule(safety_quantity=3)) == 7
    assert sellable(2, BufferRule(safety_quantity=3)) == 0
    assert sellable(9, BufferRule(percentage=50)) == 4  # 4.5 rounded down
    assert sellable(3, BufferRule(percentage=10, percentage_floor=2)) == 2  # 0.3 -> floor 2
    assert sellable(1, BufferRule(percentage=10, percentage_floor=2)) == 1  # floor <= what is left
    assert sellable(0, BufferRule(percentage=10, percentage_floor=2)) == 0
    assert sellable(500, BufferRule(maximum=25)) == 25
    assert sellable(4, BufferRule(zero_below=5)) == 0
    assert sellable(5, BufferRule(zero_below=5)) == 5
    assert sellable(10, BufferRule(), fenced_for_others=4) == 6
    assert sellable(3, BufferRule(), fenced_for_others=4) == 0
    rule = BufferRule(safety_quantity=2, percentage=80, percentage_floor=1, maximum=6)
    assert sellable(12, rule) == 6  # (12 - 2) * 0.8 = 8, capped at 6
    assert sellable(5, rule) == 2  # (5 - 2) * 0.8 = 2.4 -> 2


def test_rule_problems_name_each_bad_field() -> None:
    """Out-of-range values are reported per field; a good rule has none."""
    bad = BufferRule(safety_quantity=-1, percentage=101, maximum=-2, zero_below=-3)

    assert [field for field, _ in bad.problems()] == [
        "safety_quantity", "zero_below", "percentage", "maximum",
    ]  # fmt: skip
    assert BufferRule(percentage=0, maximum=0).problems() == []


def test_push_decision() -> None:
    """Unchanged is not sent; a raise from before the newest change is stale; lowering is sent."""
    after, before = T0 + timedelta(seconds=1), T0 - timedelta(seconds=1)

    assert decide_push(5, T0, 5, None) is PushDecision.UNCHANGED
    assert decide_push(5, T0, None, None) is PushDecision.PUSH
    assert decide_push(6, before, 5, T0) is PushDecision.STALE
    assert decide_push(6, before, None, T0) is PushDecision.STALE
    assert decide_push(6, after, 5, T0) is PushDecision.PUSH
    assert decide_push(4, before, 5, T0) is PushDecision.PUSH


@given(st.integers(0, 100), st.integers(0, 100), st.booleans())
def test_a_stale_snapshot_never_raises(quantity: int, last: int, is_stale: bool) -> None:
    """Whatever the numbers, a snapshot older than the newest change never raises the channel."""
    snapshot = T0 - timedelta(seconds=1) if is_stale else T0 + timedelta(seconds=1)

    decision = decide_push(quantity, snapshot, last, T0)

    if decision is PushDecision.PUSH and is_stale:
        assert quantity < last


def test_retry_delay_honours_retry_after_and_backs_off_otherwise() -> None:
    """A 429 waits Retry-After (capped at 15 min, 2 s when unsaid); failures back off."""
    assert retry_delay(1, 0.5, 3.0, rate_limited=True) == timedelta(seconds=3)
    assert retry_delay(1, 0.5, 99999.0, rate_limited=True) == timedelta(minutes=15)
    assert retry_delay(1, 0.5, None, rate_limited=True) == timedelta(seconds=2)
    assert retry_delay(1, 0.5, None, rate_limited=False) == timedelta(seconds=7.5)
    assert retry_delay(3, 0.5, None, rate_limited=False) == timedelta(seconds=30)


def test_lag() -> None:
    """Lag is milliseconds from the change to the push; unknown without a change time."""
    assert lag_milliseconds(T0, T0 + timedelta(seconds=1.25)) == 1250
    assert lag_milliseconds(None, T0) is None
