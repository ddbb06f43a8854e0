"""Pure rules of channel availability feeds: buffers, whether to push, when to try again.

No session, no clock: callers pass quantities and ``now``.

A channel's sellable quantity of a SKU is computed from the stock of the locations that feed
the channel, summed first, then buffered (the order multichannel tools use, so a buffer of 2
holds back 2 units in all, not 2 per location):

1. units ring-fenced for *other* channels are taken out of the pool;
2. ``zero_below``: below this many, show 0 ("end when": the last few units sell in the store);
3. ``safety_quantity`` is kept back;
4. ``percentage`` of what is left, rounded down, but at least ``percentage_floor`` (never more
   than is left);
5. at most ``maximum``.

Every step is monotone, so the result never goes down when stock goes up, is never negative
and never above the available quantity (tests/feeds/test_domain.py checks it with hypothesis).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from tessera.job.domain import backoff_delay

PUSH_JOB = "feed.push_requested"
PUSH_PRIORITY = 20  # ahead of bulk work: a feed is only useful when it is fast

MAX_PUSH_ATTEMPTS = 8
MAX_RETRY_AFTER = timedelta(minutes=15)
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class BufferRule:
    """A channel's buffers; the defaults pass the pool through unchanged."""

    safety_quantity: int = 0
    percentage: int = 100
    percentage_floor: int = 0
    maximum: int | None = None
    zero_below: int = 0
    ring_fenced: int = 0  # units held for this channel: the other channels never see them

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for every value out of range; empty when the rule is valid."""
        found: list[tuple[str, str]] = []
        for name in ("safety_quantity", "percentage_floor", "zero_below", "ring_fenced"):
            if getattr(self, name) < 0:
                found.append((name, f"{name} must be 0 or more"))
        if not 0 <= self.percentage <= 100:
            found.append(("percentage", "percentage must be between 0 and 100"))
        if self.maximum is not None and self.maximum < 0:
            found.append(("maximum", "maximum must be 0 or more (or absent for no cap)"))
        return found


def sellable(available: int, rule: BufferRule, fenced_for_others: int = 0) -> int:
    """What a channel may show for ``available`` units summed over its locations.

    ``fenced_for_others`` is the sum of the other channels' ring-fences on the same stock.
    """
    pool = max(0, available - max(0, fenced_for_others))
    if pool < rule.zero_below:
        return 0
    left = max(0, pool - rule.safety_quantity)
    shown = left * rule.percentage // 100
    if left > 0:
        shown = max(shown, min(rule.percentage_floor, left))
    if rule.maximum is not None:
        shown = min(shown, rule.maximum)
    return shown


class PushDecision(enum.StrEnum):
    PUSH = "push"
    UNCHANGED = "unchanged"  # the channel already shows this quantity
    STALE = "stale"  # a snapshot older than the newest stock change would raise the quantity


def decide_push(
    quantity: int,
    snapshot_at: datetime,
    last_pushed: int | None,
    newest_change_at: datetime | None,
) -> PushDecision:
    """Whether to send ``quantity`` (computed from balances read at ``snapshot_at``).

    Nothing is sent when the channel already holds it. A quantity that would *raise* what the
    channel shows is refused when it was read before the newest stock change of the SKU (an
    order that arrived after the snapshot): that is how a sync tool re-lists units already sold
    (Cin7). Lowering is always safe to send.
    """
    if last_pushed is not None and quantity == last_pushed:
        return PushDecision.UNCHANGED
    raising = last_pushed is None or quantity > last_pushed
    if raising and newest_change_at is not None and snapshot_at < newest_change_at:
        return PushDecision.STALE
    return PushDecision.PUSH


def retry_delay(
    failures: int, random: float, retry_after: float | None, rate_limited: bool
) -> timedelta:
    """How long to wait before pushing a listing again after ``failures`` failures in a row.

    A rate limit waits what the channel asked (``Retry-After``, capped at 15 minutes) or 2
    seconds when it did not say; anything else backs off like a failed job (exponential, full
    jitter; ``random`` is a float in [0, 1)).
    """
    if rate_limited:
        if retry_after is None:
            return DEFAULT_RATE_LIMIT_WAIT
        return min(timedelta(seconds=retry_after), MAX_RETRY_AFTER)
    return backoff_delay(max(1, failures), lambda: random)


def lag_milliseconds(changed_at: datetime | None, pushed_at: datetime) -> int | None:
    """Milliseconds from the stock change to the channel taking the quantity."""
    if changed_at is None:
        return None
    return max(0, round((pushed_at - changed_at).total_seconds() * 1000))
