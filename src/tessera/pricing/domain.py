"""Pure price rules: the EU Omnibus prior price, and parity across channels.

No session, no clock. Prices are integer minor units of one currency.

**Omnibus** (Directive 2019/2161, art. 6a): a price reduction must show the lowest price the
seller applied during the 30 days *before* the reduction. With a price history as steps (each
price holds from its ``effective_at`` until the next), the lowest price of the window
``[at - 30 days, at)`` is the minimum of the price in force when the window opens and of every
price that took effect inside it.

**Parity**: a brand promises one price everywhere. A channel's price more than
``max_above_basis_points`` above the site's price (Amazon's fair pricing policy suppresses such
offers; TikTok Shop has its own), or below the SKU's floor (a minimum advertised price), is a
breach.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

OMNIBUS_WINDOW = timedelta(days=30)
BASIS_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A price that took effect at ``effective_at`` and held until the next one."""

    amount: int
    effective_at: datetime


def _steps(history: Sequence[PricePoint]) -> dict[datetime, int]:
    """Effective time -> price; of prices recorded for the same instant the later one holds
    (the earlier never applied to anyone)."""
    steps: dict[datetime, int] = {}
    for point in history:
        steps[point.effective_at] = point.amount
    return steps


def price_at(history: Sequence[PricePoint], at: datetime) -> int | None:
    """The price in force at ``at``; None before the first price. ``history`` is in the order
    the prices were recorded."""
    started = [when for when in _steps(history) if when <= at]
    return _steps(history)[max(started)] if started else None


def lowest_prior(
    history: Sequence[PricePoint], at: datetime, window: timedelta = OMNIBUS_WINDOW
) -> int | None:
    """The lowest price in force at any moment of ``[at - window, at)``; None with no price then.

    The price taking effect exactly at ``at`` (the reduction itself) does not count.
    """
    start = at - window
    steps = _steps(history)
    candidates = [amount for when, amount in steps.items() if start < when < at]
    opening = price_at(history, start)
    if opening is not None:
        candidates.append(opening)
    return min(candidates) if candidates else None


class Breach(enum.StrEnum):
    ABOVE_SITE = "above_site"
    BELOW_FLOOR = "below_floor"


@dataclass(frozen=True, slots=True)
class ParityFinding:
    breach: Breach
    amount: int
    reference: int  # the site price (above_site) or the floor (below_floor)
    basis_points: int  # how far from the reference, signed, in hundredths of a percent


def check_parity(
    amount: int,
    site_amount: int | None,
    floor: int | None,
    max_above_basis_points: int,
) -> list[ParityFinding]:
    """The breaches of one channel price; empty when it keeps the promise.

    Above site: ``amount > site * (1 + max_above)``, computed in integers so 5.00% of 1999 is
    not rounded into a false alarm. Below floor: ``amount < floor``.
    """
    findings: list[ParityFinding] = []
    allowed = (BASIS_POINTS + max_above_basis_points) * (site_amount or 0)
    if site_amount is not None and site_amount > 0 and amount * BASIS_POINTS > allowed:
        findings.append(
            ParityFinding(Breach.ABOVE_SITE, amount, site_amount, basis_points(amount, site_amount))
        )
    if floor is not None and amount < floor:
        findings.append(
            ParityFinding(Breach.BELOW_FLOOR, amount, floor, basis_points(amount, floor))
        )
    return findings


def basis_points(amount: int, reference: int) -> int:
    """(amount - reference) / reference in basis points, rounded toward zero."""
    if reference == 0:
        return 0
    difference = (amount - reference) * BASIS_POINTS
    magnitude = abs(difference) // reference
    return magnitude if difference >= 0 else -magnitude
