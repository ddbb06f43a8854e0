"""Omnibus prior price and parity checks: exact cases and hypothesis invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tessera.pricing.domain import (
    Breach,
    PricePoint,
    check_parity,
    lowest_prior,
    price_at,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def test_lowest_prior_counts_the_price_in_force_when_the_window_opens() -> None:
    """A sale on day 40: the window is days 10-40; 30.00 held from day 0, 25.00 from day 20."""
    history = [PricePoint(3000, day(0)), PricePoint(2500, day(20)), PricePoint(2800, day(25)),
               PricePoint(1999, day(40))]  # fmt: skip

    assert lowest_prior(history, day(40)) == 2500
    assert price_at(history, day(40)) == 1999


def test_lowest_prior_ignores_prices_older_than_the_window_and_the_reduction_itself() -> None:
    """A low price that ended before the window opened does not count, nor the new price."""
    history = [PricePoint(1000, day(0)), PricePoint(3000, day(5)), PricePoint(2000, day(45))]

    assert lowest_prior(history, day(45)) == 3000
    assert lowest_prior(history, day(0)) is None
    assert lowest_prior([], day(0)) is None


history_strategy = st.lists(
    st.tuples(st.integers(1, 100_000), st.integers(0, 120 * 24)), min_size=1, max_size=12
)


@given(history_strategy, st.integers(0, 130 * 24))
def test_lowest_prior_is_the_minimum_over_every_hour_of_the_window(
    raw: list[tuple[int, int]], hour: int
) -> None:
    """Sampling the step function at every hour of the window finds the same minimum."""
    history = [PricePoint(amount, T0 + timedelta(hours=h)) for amount, h in raw]
    at = T0 + timedelta(hours=hour)
    sampled = [price_at(history, at - timedelta(hours=back)) for back in range(1, 30 * 24 + 1)] + [
        price_at(history, at - timedelta(days=30))
    ]
    seen = [amount for amount in sampled if amount is not None]
    # prices that held for under an hour can hide between samples: sample their starts too
    seen += [p.amount for p in history if at - timedelta(days=30) < p.effective_at < at
             and price_at(history, p.effective_at) == p.amount]  # fmt: skip

    assert lowest_prior(history, at) == (min(seen) if seen else None)


def test_parity_above_site_by_more_than_the_allowance() -> None:
    """With 5% allowed, 21.00 against 20.00 is fine, 21.01 is a breach of 5.05%."""
    assert check_parity(2100, 2000, None, 500) == []
    [finding] = check_parity(2101, 2000, None, 500)

    assert finding.breach is Breach.ABOVE_SITE
    assert (finding.reference, finding.basis_points) == (2000, 505)


def test_parity_below_floor_and_both() -> None:
    """Below the floor is a breach whatever the site price; both can hold at once."""
    [below] = check_parity(900, 1000, 1000, 500)
    both = check_parity(3000, 1000, 5000, 0)

    assert (below.breach, below.reference, below.basis_points) == (Breach.BELOW_FLOOR, 1000, -1000)
    assert [f.breach for f in both] == [Breach.ABOVE_SITE, Breach.BELOW_FLOOR]
    assert check_parity(1000, None, None, 0) == []


@given(st.integers(1, 10**7), st.integers(1, 10**7), st.integers(0, 10_000))
def test_above_site_exactly_when_the_ratio_exceeds_the_allowance(
    amount: int, site: int, allowance: int
) -> None:
    """The integer check agrees with exact rational arithmetic."""
    from fractions import Fraction

    flagged = any(
        f.breach is Breach.ABOVE_SITE for f in check_parity(amount, site, None, allowance)
    )

    assert flagged == (Fraction(amount, site) > 1 + Fraction(allowance, 10_000))
