"""Each model on journeys small enough to credit by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tessera.analytics.attribution import Credits, UnknownModel, all_models, as_table, attribute
from tests.analytics.attribution.journeys import journey, paths


def table(credits: Credits) -> dict[str, tuple[str, int]]:
    """Channel -> (conversions as text, value)."""
    return {c.channel: (str(c.conversions), c.value) for c in credits}


def test_first_and_last_touch_credit_one_touch_each() -> None:
    """First touch credits each journey's first channel, last touch its last.

    a > b converts (100), c > a converts (300), b does not: first gives a 1 (100) and c 1
    (300); last gives b 1 (100) and a 1 (300). b's lone journey converted nothing.
    """
    given = paths(journey("ab", value=100), journey("ca", value=300), journey("b", False))

    first = attribute(given, "first_touch")
    last = attribute(given, "last_touch")

    assert table(first) == {"a": ("1.000000", 100), "b": ("0.000000", 0), "c": ("1.000000", 300)}
    assert table(last) == {"a": ("1.000000", 300), "b": ("1.000000", 100), "c": ("0.000000", 0)}


def test_last_non_direct_skips_direct_unless_only_direct() -> None:
    """Last non-direct credits the last touch that is not direct; all-direct credits direct.

    email > direct converts (50): email 1 (50). direct > direct converts (20): direct 1 (20).
    """
    given = paths(journey(["email", "direct"], value=50), journey(["direct", "direct"], value=20))

    credits = attribute(given, "last_non_direct")

    assert table(credits) == {"direct": ("1.000000", 20), "email": ("1.000000", 50)}


def test_last_non_direct_takes_the_direct_label_as_an_option() -> None:
    """The channel that does not count is configurable: with "organic" it is skipped.

    sms > organic converts (10): sms 1 (10); "direct" is an ordinary channel then.
    """
    given = paths(journey(["sms", "organic"], value=10), journey(["sms", "direct"], value=4))

    credits = attribute(given, "last_non_direct", direct="organic")

    assert table(credits) == {
        "direct": ("1.000000", 4),
        "organic": ("0.000000", 0),
        "sms": ("1.000000", 10),
    }


def test_linear_gives_each_touch_an_equal_share() -> None:
    """Linear splits a conversion equally among touches, so a repeated channel counts twice.

    a > b > a converts (300): a 2/3 (200), b 1/3 (100); 0.666667 + 0.333333 = 1 exactly.
    """
    credits = attribute(paths(journey("aba", value=300)), "linear")

    assert table(credits) == {"a": ("0.666667", 200), "b": ("0.333333", 100)}


def test_time_decay_halves_weight_each_half_life_before_conversion() -> None:
    """A touch one half-life before the conversion weighs half a touch at the conversion.

    a seven days before b, converting at b (300): weights 1/2 and 1 give a 1/3 (100), b 2/3
    (200). With a 14-day half-life a weighs 2^-0.5: a = 1 / (1 + sqrt 2) = 0.41421356,
    b = 0.58578644, rounded so they add to 1: 0.414214 and 0.585786 (value 124.26 -> 124,
    175.74 -> 176).
    """
    given = paths(journey("ab", value=300, days=7))

    default = attribute(given, "time_decay")
    slower = attribute(given, "time_decay", half_life=timedelta(days=14))

    assert table(default) == {"a": ("0.333333", 100), "b": ("0.666667", 200)}
    assert table(slower) == {"a": ("0.414214", 124), "b": ("0.585786", 176)}


def test_position_based_is_40_20_40_with_google_short_paths() -> None:
    """Position-based: 40 % first, 40 % last, 20 % across the middle; 2 touches 50/50; 1: all.

    a > b > c > d (1000): a 0.4 (400), b 0.1 (100), c 0.1 (100), d 0.4 (400).
    e > f (10): 0.5 (5) each. g (7): 1 (7).
    """
    given = paths(journey("abcd", value=1000), journey("ef", value=10), journey("g", value=7))

    credits = attribute(given, "position_based")

    assert table(credits) == {
        "a": ("0.400000", 400),
        "b": ("0.100000", 100),
        "c": ("0.100000", 100),
        "d": ("0.400000", 400),
        "e": ("0.500000", 5),
        "f": ("0.500000", 5),
        "g": ("1.000000", 7),
    }


def test_exact_shapley_on_two_channels() -> None:
    """Shapley over channel sets: v(a) = 1, v(b) = 0, v(ab) = 2.

    {a} converts, {a, b} converts, {b} does not. phi_a = 1/2 (v(a) - 0) + 1/2 (v(ab) - v(b))
    = 1.5 and phi_b = 1/2 (v(b) - 0) + 1/2 (v(ab) - v(a)) = 0.5; values 100 and 300 give
    v(a) = 100, v(ab) = 400: a 50 + 200 = 250, b 150.
    """
    given = paths(journey("a", value=100), journey("ab", value=300), journey("b", False))

    credits = attribute(given, "shapley", method="exact")

    assert table(credits) == {"a": ("1.500000", 250), "b": ("0.500000", 150)}


def test_an_unknown_model_is_refused_by_name() -> None:
    """A model that does not exist is refused, naming what exists."""
    with pytest.raises(UnknownModel, match="'lastclick'"):
        attribute(paths(journey("a")), "lastclick")


def test_exact_shapley_refuses_more_than_fifteen_channels() -> None:
    """Exact Shapley stops at 15 channels on converting journeys; auto switches method."""
    given = paths(journey([f"c{n}" for n in range(16)], value=16))

    with pytest.raises(ValueError, match="at most 15"):
        attribute(given, "shapley", method="exact")
    credits = attribute(given, "shapley")

    assert {c.conversions for c in credits} == {Decimal("0.0625")}
    assert {c.value for c in credits} == {1}


def test_all_models_side_by_side() -> None:
    """all_models runs every model, Markov once per order, each adding up to the totals."""
    given = paths(journey("ab", value=100), journey("b", False), journey("ca", value=5))

    results = all_models(given)

    assert list(results) == [
        "first_touch",
        "last_touch",
        "last_non_direct",
        "linear",
        "time_decay",
        "position_based",
        "markov_1",
        "markov_2",
        "markov_3",
        "shapley",
    ]
    for credits in results.values():
        assert sum(c.conversions for c in credits) == 2
        assert sum(c.value for c in credits) == 105


def test_no_conversion_credits_nothing() -> None:
    """Journeys that never converted leave every model's credits at zero."""
    given = paths(journey("ab", False), journey("b", False))

    results = all_models(given)

    for credits in results.values():
        assert [(c.conversions, c.value) for c in credits] == [(0, 0), (0, 0)]


def test_models_side_by_side_as_one_row_per_channel() -> None:
    """as_table puts every model's credits for a channel on one row, for a report or CSV."""
    given = paths(journey("ab", value=10))

    rows = as_table(all_models(given, markov_orders=(1,)))

    assert rows[0]["channel"] == "a"
    assert (rows[0]["first_touch_conversions"], rows[0]["first_touch_value"]) == (1, 10)
    assert (rows[1]["last_touch_conversions"], rows[1]["last_touch_value"]) == (1, 10)
    assert (rows[1]["markov_1_conversions"], rows[1]["markov_1_value"]) == (Decimal("0.5"), 5)
    assert len(rows) == 2 and len(rows[0]) == 1 + 2 * 8


def test_no_journeys_give_empty_credits() -> None:
    """An empty window is an empty answer with zero totals, not an error."""
    results = all_models(paths())

    assert {(c.conversions, c.value, c.channels) for c in results.values()} == {(0, 0, ())}
