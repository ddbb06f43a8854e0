"""Journeys become arrays; journeys that cannot be attributed are refused by index and field."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from tessera.analytics.attribution import Journey, Paths, PathsError, Touch, build_paths
from tests.analytics.attribution.journeys import START, journey


def test_journeys_become_offsets_codes_and_times() -> None:
    """Codes follow first appearance; offsets delimit each journey's touches."""
    given = build_paths([journey("ab", value=5), journey("ca", converted=False)])

    assert given.channels == ("a", "b", "c")
    assert given.offsets.tolist() == [0, 2, 4]
    assert given.codes.tolist() == [0, 1, 2, 0]
    assert given.converted.tolist() == [True, False]
    assert given.value.tolist() == [5, 0]
    assert (given.times[1] - given.times[0]) == 86_400
    assert given.conversion_time.tolist() == [given.times[1], given.times[3]]
    assert (given.total_conversions, given.total_value) == (1, 5)


def test_a_journey_without_touches_is_refused_by_index() -> None:
    """Nothing to credit: the journey is named."""
    with pytest.raises(PathsError, match=r"journeys\[1\]\.touches must not be empty"):
        build_paths([journey("a"), Journey([], converted=True)])


def test_touches_out_of_time_order_are_refused() -> None:
    """Time decay needs ages: a touch before its predecessor is refused."""
    late, early = Touch("a", START + timedelta(days=1)), Touch("b", START)

    with pytest.raises(PathsError, match=r"journeys\[0\]\.touches must be in time order"):
        build_paths([Journey([late, early], converted=True)])


def test_a_conversion_before_its_last_touch_is_refused() -> None:
    """A touch after the conversion cannot have caused it."""
    touch = Touch("a", START)

    with pytest.raises(PathsError, match=r"journeys\[0\]\.converted_at must not precede"):
        build_paths([Journey([touch], True, 1, converted_at=START - timedelta(hours=1))])


def test_a_negative_value_is_refused() -> None:
    """Refunds are not conversions: value must not be negative."""
    with pytest.raises(PathsError, match=r"journeys\[0\]\.value must not be negative"):
        build_paths([journey("a", value=-1)])


def test_columns_are_checked_like_objects() -> None:
    """from_arrays refuses codes outside the channels and offsets that miss touches."""
    with pytest.raises(PathsError, match="codes must index channels"):
        Paths.from_arrays(["a"], offsets=[0, 1], codes=[1], converted=[True])
    with pytest.raises(PathsError, match="offsets must end"):
        Paths.from_arrays(["a"], offsets=[0, 1], codes=[0, 0], converted=[True])

    positions = Paths.from_arrays(
        ["a", "b"], offsets=[0, 2, 3], codes=[0, 1, 1], converted=np.array([True, False])
    )

    assert positions.times.tolist() == [0.0, 1.0, 0.0]
