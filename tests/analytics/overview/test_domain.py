"""Periods are whole days in the workspace's zone, compared with the same span before them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tessera.analytics.overview.domain import Totals, change, local_days, period, previous
from tessera.kit.errors import InvalidInput

NEW_YORK = ZoneInfo("America/New_York")
# 03:30 UTC on 5 March is still 4 March, 22:30, in New York.
NOW = datetime(2026, 3, 5, 3, 30, tzinfo=UTC)


def test_today_is_the_local_day_so_far_and_compares_with_yesterday_to_the_same_hour() -> None:
    """Today in New York began at 05:00 UTC on 4 March; the period before is 3 March up to
    22:30 local, not the whole of it."""
    today = period("today", NOW, NEW_YORK)
    before = previous(today, NEW_YORK)

    assert (today.first_day, today.last_day) == (date(2026, 3, 4), date(2026, 3, 4))
    assert (today.start, today.end) == (datetime(2026, 3, 4, 5, tzinfo=UTC), NOW)
    assert (before.first_day, before.start) == (
        date(2026, 3, 3),
        datetime(2026, 3, 3, 5, tzinfo=UTC),
    )
    assert before.end == datetime(2026, 3, 4, 3, 30, tzinfo=UTC)


def test_seven_and_thirty_days_end_today_and_a_custom_range_spans_its_days() -> None:
    """Presets count back from the local today; a custom range's days both count, and one
    that crosses the change to summer time starts each day at the local midnight."""
    week = period("7d", NOW, NEW_YORK)
    month = period("30d", NOW, NEW_YORK)
    custom = period("custom", NOW, NEW_YORK, date(2026, 2, 1), date(2026, 2, 28))
    spring = previous(period("custom", datetime(2026, 3, 20, tzinfo=UTC), NEW_YORK,
                             date(2026, 3, 9), date(2026, 3, 15)), NEW_YORK)  # fmt: skip

    assert (week.first_day, week.days) == (date(2026, 2, 26), 7)
    assert (month.first_day, month.days) == (date(2026, 2, 3), 30)
    assert (custom.days, custom.start, custom.end) == (
        28,
        datetime(2026, 2, 1, 5, tzinfo=UTC),
        datetime(2026, 3, 1, 5, tzinfo=UTC),
    )
    # 2 to 8 March; summer time begins on the 8th, so that week is one hour shorter.
    assert (spring.first_day, spring.start) == (
        date(2026, 3, 2),
        datetime(2026, 3, 2, 5, tzinfo=UTC),
    )
    assert spring.end == datetime(2026, 3, 9, 4, tzinfo=UTC)


BETWEEN = "must be between 1900-01-01 and 9000-12-31"


@pytest.mark.parametrize(
    ("preset", "first", "last", "field", "message"),
    [
        ("week", None, None, "range", "range must be one of today, 7d, 30d, custom"),
        ("custom", None, date(2026, 3, 1), "from", "a custom range needs its first day (from)"),
        ("custom", date(2026, 3, 1), None, "to", "a custom range needs its last day (to)"),
        ("custom", date(2026, 3, 2), date(2026, 3, 1), "to", "to must not be before from"),
        ("custom", date(2025, 1, 1), date(2026, 3, 1), "to", "a range spans at most 366 days"),
        ("custom", date(2026, 3, 6), date(2026, 3, 7), "from", "from must not be in the future"),
        (
            "custom",
            date(1, 1, 1),
            date(1, 1, 2),
            "from",
            "from must be between 1900-01-01 and 9000-12-31",
        ),
    ],
)
def test_a_range_that_cannot_be_is_refused_naming_its_field(
    preset: str, first: date | None, last: date | None, field: str, message: str
) -> None:
    """Unknown presets, half or backward custom ranges, a range over a year and one in the
    future or before 1900 (the period before would fall off the calendar) are each refused
    with the field to fix."""
    with pytest.raises(InvalidInput) as refused:
        period(preset, NOW, NEW_YORK, first, last)

    assert (refused.value.extensions.get("field"), refused.value.detail) == (field, message)


def test_change_is_in_percent_and_absent_without_a_base() -> None:
    """Up, down, and nothing to compare with when the period before had none."""
    assert (change(150, 100), change(50, 100), change(7, 0), change(None, 5)) == (
        50.0, -50.0, None, None,
    )  # fmt: skip
    assert Totals(3, 9000, 2, 0).average_order_value == 4500
    assert Totals(1, 0, 0, 0).average_order_value is None


def test_hours_are_summed_into_the_local_day_they_start_in() -> None:
    """An order in the UTC hour 03:00 on 5 March belongs to New York's 4 March; hours
    outside the window are left out."""
    hour = int(datetime(2026, 3, 5, 3, tzinfo=UTC).timestamp()) // 3600
    per_hour = {
        (hour, "web"): 2,
        (hour + 2, "web"): 1,
        (hour + 2, "amazon"): 4,
        (hour - 99, "web"): 9,
    }

    counted = local_days(per_hour, NEW_YORK, date(2026, 3, 4), 2)

    assert counted == {
        (date(2026, 3, 4), "web"): 2,
        (date(2026, 3, 5), "web"): 1,
        (date(2026, 3, 5), "amazon"): 4,
    }
