"""Loyalty's pure rules: points for an amount, proportional take-backs, first-in-first-out
expiry, tiers, calendar months and reward codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tessera.loyalty.domain import (
    CODE_ALPHABET,
    Movement,
    Tier,
    add_months,
    expiring,
    new_code,
    normalise_code,
    normalise_receipt,
    points_for,
    reversal_for,
    tier_for,
    tier_points,
)

T = datetime(2026, 1, 31, 12, tzinfo=UTC)


def test_points_are_per_major_unit_rounded_down() -> None:
    """$45.50 at 2 points per dollar is 91; yen have no minor unit; nothing for negatives."""
    assert points_for(4550, "USD", 2) == 91
    assert points_for(4599, "USD", 1) == 45
    assert points_for(1200, "JPY", 1) == 1200
    assert points_for(-500, "USD", 1) == 0


@given(
    earned=st.integers(0, 10_000),
    total=st.integers(1, 1_000_000),
    refunds=st.lists(st.integers(1, 1_000_000), max_size=6),
)
def test_refunds_take_back_in_proportion_never_more_than_earned(
    earned: int, total: int, refunds: list[int]
) -> None:
    """Each refund's take-back is in proportion to all refunded so far; refunding the whole
    order takes back exactly what it earned, and never more."""
    taken = refunded = 0
    for amount in refunds:
        taken += reversal_for(earned, total, refunded, amount, taken)
        refunded += amount
        assert 0 <= taken <= earned
        assert taken == earned * min(refunded, total) // total
    if refunded >= total:
        assert taken == earned


def test_expiry_takes_the_unspent_part_of_lots_first_in_first_out() -> None:
    """100 earned in January, 120 spent in March (the whole January lot and 20 of June's, once
    June's is earned), 50 earned in June: the next January nothing is left to expire; the next
    June the 30 unspent of June's lot expire, and once they have, nothing more."""
    jan, mar, jun = T, T + timedelta(days=40), T + timedelta(days=130)
    moves = [
        Movement("earned", 100, jan, add_months(jan, 12)),
        Movement("redeemed", -120, mar),
        Movement("earned", 50, jun, add_months(jun, 12)),
    ]

    assert expiring(moves, add_months(jan, 12)) == 0
    assert expiring(moves, add_months(jun, 12)) == 30
    expired = [*moves, Movement("expired", -30, add_months(jun, 12))]
    assert expiring(expired, add_months(jun, 13)) == 0


def test_expiry_never_takes_a_balance_below_zero() -> None:
    """A refund after a redemption left the balance negative: nothing more expires."""
    moves = [
        Movement("earned", 100, T, T + timedelta(days=1)),
        Movement("reversed", -150, T + timedelta(hours=1)),
    ]

    assert expiring(moves, T + timedelta(days=2)) == 0


def test_tiers_count_earned_less_reversed_in_the_window() -> None:
    """Points older than 12 months leave a rolling tier; lifetime keeps them."""
    tiers = [Tier("Silver", 100), Tier("Gold", 500)]
    moves = [
        Movement("earned", 450, T - timedelta(days=400)),
        Movement("earned", 120, T),
        Movement("reversed", -10, T),
        Movement("adjusted", 1000, T),
    ]

    assert tier_for(tier_points(moves, T, "last_12_months"), tiers) == "Silver"
    assert tier_for(tier_points(moves, T, "lifetime"), tiers) == "Gold"
    assert tier_for(99, tiers) is None


def test_months_are_calendar_months_clamped_to_the_last_day() -> None:
    """31 January plus one month is 28 February; plus 13 is 29 February 2028."""
    assert add_months(T, 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert add_months(T, 25) == datetime(2028, 2, 29, 12, tzinfo=UTC)


def test_codes_are_unguessable_and_read_however_typed() -> None:
    """Sixteen letters of a 32-letter alphabet, in fours; case, spaces and dashes do not
    matter; anything else is not a code."""
    code = new_code()

    assert len(code) == 19 and all(c in CODE_ALPHABET for c in code.replace("-", ""))
    assert normalise_code(code.lower().replace("-", " ")) == code
    assert normalise_code("0OIL-" + code[5:]) is None
    assert normalise_code("x" * 5000) is None
    assert len({new_code() for _ in range(1000)}) == 1000


def test_receipts_compare_without_case_or_spaces() -> None:
    assert normalise_receipt(" Ulta  Beauty ", "r 77-1") == ("ulta beauty", "R77-1")
