"""Time is timezone-aware UTC everywhere it is stored or compared.

Code that decides by the time takes a ``Clock`` (a function returning now) where a test must
be able to hold time still: a test that reads the wall clock fails on a machine whose cores
are busy, when a second goes by between two steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests and for replaying a day in the demo."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = ensure_utc(start) if start is not None else utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        """Move the clock forward (or back, with a negative ``by``)."""
        self.now += by
