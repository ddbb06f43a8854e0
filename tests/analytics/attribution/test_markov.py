"""Markov chain attribution against absorbing chains solved by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.analytics.attribution import Credits, attribute, removal_effects
from tests.analytics.attribution.journeys import journey, paths


def table(credits: Credits) -> dict[str, tuple[str, int]]:
    """Channel -> (conversions as text, value)."""
    return {c.channel: (str(c.conversions), c.value) for c in credits}


def test_order_one_matches_the_hand_solved_chain() -> None:
    """Order 1 on a > b converts, a lost, b lost: removal effects 1/2 and 1.

    Transitions: start -> a 2/3, start -> b 1/3; a -> b 1/2, a -> null 1/2; b -> conversion
    1/2, b -> null 1/2. x_b = 1/2, x_a = 1/2 x_b = 1/4, P = 2/3 x_a + 1/3 x_b = 1/3.
    Without a: P = 1/3 x_b = 1/6, effect 1 - (1/6)/(1/3) = 1/2. Without b: nothing reaches
    conversion, effect 1. Shares 1/3 and 2/3 of 1 conversion worth 300: a 0.333333 (100),
    b 0.666667 (200).
    """
    given = paths(journey("ab", value=300), journey("a", False), journey("b", False))

    effects = removal_effects(given, order=1).conversions
    credits = attribute(given, "markov")

    assert effects == pytest.approx([0.5, 1.0], abs=1e-12)
    assert credits.model == "markov_1"
    assert table(credits) == {"a": ("0.333333", 100), "b": ("0.666667", 200)}


def test_order_one_solves_a_chain_with_a_loop() -> None:
    """A loop between a and b is solved, not simulated: a > b > a converts, b lost.

    start -> a 1/2, start -> b 1/2; a -> b 1/2, a -> conversion 1/2; b -> a 1/2, b -> null
    1/2. x_a = 1/2 x_b + 1/2 and x_b = 1/2 x_a give x_a = 2/3, x_b = 1/3, P = 1/2.
    Without a: x_b = 0, P = 0, effect 1. Without b: x_a = 1/2, P = 1/4, effect 1/2.
    Shares 2/3 and 1/3: a 0.666667, b 0.333333 (value 90: 60 and 30).
    """
    given = paths(journey("aba", value=90), journey("b", False))

    effects = removal_effects(given, order=1).conversions
    credits = attribute(given, "markov")

    assert effects == pytest.approx([1.0, 0.5], abs=1e-12)
    assert table(credits) == {"a": ("0.666667", 60), "b": ("0.333333", 30)}


def test_value_is_credited_by_its_own_removal_effects() -> None:
    """Value follows the expected value, not P(conversion): b leads to the larger order.

    a converts (100), b converts (300), a is lost. start -> a 2/3, start -> b 1/3;
    a -> conversion 1/2, b -> conversion 1. P = 2/3 * 1/2 + 1/3 = 2/3; without a 1/3, without
    b 1/3: effects 1/2 and 1/2, one conversion each. Value per visit: a passes on 100 / 2 = 50,
    b 300. V = 2/3 * 50 + 1/3 * 300 = 400/3; without a V = 100 (effect 1/4), without b
    V = 100/3 (effect 3/4): a 100, b 300 of 400.
    """
    given = paths(journey("a", value=100), journey("b", value=300), journey("a", False))

    effects = removal_effects(given, order=1)
    credits = attribute(given, "markov")

    assert effects.conversions == pytest.approx([0.5, 0.5], abs=1e-12)
    assert effects.value == pytest.approx([0.25, 0.75], abs=1e-12)
    assert table(credits) == {"a": ("1.000000", 100), "b": ("1.000000", 300)}


def test_order_two_remembers_where_a_journey_came_from() -> None:
    """Order 2 tells b after a (converts) from b after c (lost); order 1 cannot.

    a > b converts, c > b does not. Order 1: start -> a, c 1/2 each; a -> b, c -> b;
    b -> conversion 1/2: P = 1/2. Without a or c: P = 1/4 (effect 1/2); without b: 0
    (effect 1). Shares 1/4, 1/2, 1/4. Order 2: states (a), (a, b), (c), (c, b); only
    (a, b) converts, P = 1/2; without a or b P = 0 (effect 1), without c P = 1/2 (effect 0).
    Shares 1/2, 1/2, 0.
    """
    given = paths(journey("ab", value=8), journey("cb", False))

    first = attribute(given, "markov", order=1)
    second = attribute(given, "markov", order=2)

    assert table(first) == {"a": ("0.250000", 2), "b": ("0.500000", 4), "c": ("0.250000", 2)}
    assert table(second) == {"a": ("0.500000", 4), "b": ("0.500000", 4), "c": ("0.000000", 0)}
    assert removal_effects(given, order=2).conversions == pytest.approx([1.0, 1.0, 0.0], abs=1e-12)


def test_order_three_states_are_the_last_three_channels() -> None:
    """Order 3's states are the last three channels, so a > b > c > d (converts) and
    e > b > c > d (lost) meet in (b, c, d) and mix there.

    (a), (a, b), (a, b, c) and (e), (e, b), (e, b, c) lead to (b, c, d) for sure, which
    converts half the time, so P = 1/2. Without a or e only the other start is left:
    P = 1/2 * 1/2 = 1/4 (effect 1/2);
    without b, c or d, P = 0 (effect 1). Effects 1/2, 1, 1, 1, 1/2: shares 1/8, 1/4, 1/4,
    1/4, 1/8 of one conversion.
    """
    given = paths(journey("abcd", value=8), journey("ebcd", False))

    credits = attribute(given, "markov", order=3)

    assert table(credits) == {
        "a": ("0.125000", 1),
        "b": ("0.250000", 2),
        "c": ("0.250000", 2),
        "d": ("0.250000", 2),
        "e": ("0.125000", 1),
    }


def test_an_order_outside_one_to_three_is_refused() -> None:
    """Orders 1 to 3 only: the state space grows as channels to the power of the order."""
    with pytest.raises(ValueError, match="order must be 1 to 3"):
        removal_effects(paths(journey("ab")), order=4)


def test_the_solution_is_the_same_every_run() -> None:
    """Solved, not simulated: two runs give bit-identical removal effects."""
    rng = np.random.default_rng(7)
    journeys = [
        journey(
            rng.choice(list("abcdef"), size=rng.integers(1, 6)).tolist(), bool(rng.random() < 0.3)
        )
        for _ in range(300)
    ]

    first = removal_effects(paths(*journeys), order=2)
    second = removal_effects(paths(*journeys), order=2)

    assert first.conversions.tolist() == second.conversions.tolist()
    assert first.value.tolist() == second.value.tolist()


def test_many_labels_give_the_same_order_three_answer() -> None:
    """With 200 labels (campaigns, say) order 3 has too many possible states to count in an
    array and sorts them instead: the answer is the one solved above.

    200 lost one-touch journeys only lower P(start -> (a)) and P(start -> (e)) alike, so
    every removal effect is unchanged; the 200 campaigns, on no converting route, get 0.
    """
    campaigns = [journey([f"campaign-{n:03d}"], converted=False) for n in range(200)]
    given = paths(journey("abcd", value=8), journey("ebcd", False), *campaigns)

    credits = attribute(given, "markov", order=3)

    assert table(credits) == {
        "a": ("0.125000", 1),
        "b": ("0.250000", 2),
        "c": ("0.250000", 2),
        "d": ("0.250000", 2),
        "e": ("0.125000", 1),
        **{f"campaign-{n:03d}": ("0.000000", 0) for n in range(200)},
    }
