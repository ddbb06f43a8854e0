"""Periods in the workspace's zone and their comparison: pure, no clock (``now`` is passed).

A period is whole local days, ``first_day`` to ``last_day``, as UTC instants ``start`` to
``end`` (exclusive). A period still running ends at ``now``, and the period it is compared with
is the same span of time right before it: today so far is compared with yesterday up to the
same hour, not with the whole of yesterday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from tessera.kit.bounds import day_problem
from tessera.kit.errors import InvalidInput

PRESETS = {"today": 1, "7d": 7, "30d": 30}
CUSTOM = "custom"
LONGEST_DAYS = 366


@dataclass(frozen=True, slots=True)
class Period:
    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True, slots=True)
class Totals:
    """What one period sold: orders of every currency, revenue net of refunds in one currency
    (and how many orders it came from, the divisor of the average order value)."""

    orders: int
    revenue: int
    revenue_orders: int
    new_customers: int

    @property
    def average_order_value(self) -> int | None:
        return round(self.revenue / self.revenue_orders) if self.revenue_orders else None


def midnight(day: date, zone: tzinfo) -> datetime:
    """The day's first instant in ``zone``, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def period(
    preset: str,
    now: datetime,
    zone: tzinfo,
    first: date | None = None,
    last: date | None = None,
) -> Period:
    """The period a range picker names: ``today``, ``7d`` or ``30d`` ending today in ``zone``,
    or ``custom`` from ``first`` to ``last`` (both days included). Refuses an unknown preset, a
    custom range without both days, backwards, longer than a year, starting in the future or
    before 1900, naming the field."""
    today = now.astimezone(zone).date()
    if preset in PRESETS:
        first, last = today - timedelta(days=PRESETS[preset] - 1), today
    elif preset != CUSTOM:
        raise InvalidInput(f"range must be one of {', '.join([*PRESETS, CUSTOM])}", field="range")
    elif first is None:
        raise InvalidInput("a custom range needs its first day (from)", field="from")
    elif last is None:
        raise InvalidInput("a custom range needs its last day (to)", field="to")
    elif last < first:
        raise InvalidInput("to must not be before from", field="to")
    elif (last - first).days >= LONGEST_DAYS:
        raise InvalidInput(f"a range spans at most {LONGEST_DAYS} days", field="to")
    elif first > today:
        raise InvalidInput("from must not be in the future", field="from")
    elif day_problem(first) is not None:  # the period before it would fall off the calendar
        raise InvalidInput(f"from {day_problem(first)}", field="from")
    start = midnight(first, zone)
    end = min(midnight(last + timedelta(days=1), zone), max(now, start))
    return Period(first, last, start, end)


def previous(current: Period, zone: tzinfo) -> Period:
    """The same number of days right before ``current``, cut at the same point in its last
    day when ``current`` is still running."""
    days = current.days
    first = current.first_day - timedelta(days=days)
    last = current.first_day - timedelta(days=1)
    start, whole = midnight(first, zone), midnight(current.first_day, zone)
    if current.end >= midnight(current.last_day + timedelta(days=1), zone):
        return Period(first, last, start, whole)  # local midnights, whatever summer time did
    return Period(first, last, start, min(whole, start + (current.end - current.start)))


def change(current: int | None, before: int | None) -> float | None:
    """The change from ``before`` to ``current`` in percent; None when there is nothing to
    compare with (no value, or zero before)."""
    if current is None or not before:
        return None
    return (current - before) * 100 / before


def local_days(
    per_hour: dict[tuple[int, str], int], zone: tzinfo, first_day: date, days: int
) -> dict[tuple[date, str], int]:
    """Counts per (UTC hour since the epoch, channel) summed into the local days of ``zone``
    from ``first_day`` for ``days`` days; hours outside them are left out. An hour belongs to
    the local day its first instant falls on (exact for the whole-hour offsets of nearly every
    zone; a half-hour zone counts each hour's second half with the first)."""
    last_day = first_day + timedelta(days=days - 1)
    counted: dict[tuple[date, str], int] = {}
    for (hour, channel), count in per_hour.items():
        day = datetime.fromtimestamp(hour * 3600, UTC).astimezone(zone).date()
        if first_day <= day <= last_day:
            counted[(day, channel)] = counted.get((day, channel), 0) + count
    return counted
