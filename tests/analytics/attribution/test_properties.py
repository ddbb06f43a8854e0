"""What must hold for any journeys: conservation, symmetry, null player, relabelling,
determinism, and exact Shapley equal to its closed form."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.analytics.attribution import Credits, Journey, all_models, attribute
from tests.analytics.attribution.journeys import journey, paths

UNIT = Decimal("0.000001")
# A pair token: expands to "a" then "b", so a and b appear identically in every journey.
PAIR = "ab"
CHANNELS = ["c", "d", "e", "direct"]

journey_specs = st.lists(
    st.tuples(
        st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=6),
        st.booleans(),
        st.integers(min_value=0, max_value=10**7),
        st.sampled_from([0.01, 0.5, 1.0, 3.0, 30.0]),
    ),
    min_size=1,
    max_size=25,
)
examples = settings(max_examples=40, deadline=None)


def build(specs: list[tuple[list[str], bool, int, float]]) -> list[Journey]:
    return [journey(channels, converted, value, days) for channels, converted, value, days in specs]


def everything(journeys: list[Journey], direct: str = "direct") -> dict[str, Credits]:
    return {
        **all_models(paths(*journeys), direct=direct),
        "shapley_simplified": attribute(paths(*journeys), "shapley", method="simplified"),
    }


@examples
@given(specs=journey_specs)
def test_every_model_credits_exactly_the_conversions_and_the_value(
    specs: list[tuple[list[str], bool, int, float]],
) -> None:
    """Whatever the journeys, each model's credits add up to the conversions and the value
    to the last unit, and no channel gets a negative credit."""
    journeys = build(specs)
    conversions = sum(1 for one in journeys if one.converted)
    value = sum(one.value for one in journeys if one.converted)

    results = everything(journeys)

    for model, credits in results.items():
        assert sum(c.conversions for c in credits) == conversions, model
        assert sum(c.value for c in credits) == value, model
        assert all(c.conversions >= 0 and c.value >= 0 for c in credits), model
        assert (credits.conversions, credits.value) == (conversions, value)


@examples
@given(
    specs=st.lists(
        st.tuples(
            st.lists(st.sampled_from([*CHANNELS, PAIR]), min_size=1, max_size=5),
            st.booleans(),
            st.integers(min_value=0, max_value=10**6),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_channels_that_always_appear_together_get_equal_credit(
    specs: list[tuple[list[str], bool, int]],
) -> None:
    """a always directly followed by b, b always directly after a: linear, Markov (orders 1
    to 3) and Shapley give them the same credit, up to the one unit that rounding must give
    to one of two tied channels so the total stays exact."""
    journeys = [
        journey([channel for token in tokens for channel in token], converted, value)
        for tokens, converted, value in specs
    ]

    given_paths = paths(*journeys)
    models = [
        attribute(given_paths, "linear"),
        *(attribute(given_paths, "markov", order=order) for order in (1, 2, 3)),
        attribute(given_paths, "shapley", method="exact"),
        attribute(given_paths, "shapley", method="simplified"),
    ]

    for credits in models:
        if "a" not in {c.channel for c in credits}:
            continue
        assert abs(credits["a"].conversions - credits["b"].conversions) <= UNIT, credits.model
        assert abs(credits["a"].value - credits["b"].value) <= 1, credits.model


@examples
@given(specs=journey_specs, lost=st.lists(st.sampled_from(CHANNELS), max_size=4))
def test_a_channel_never_on_a_converting_journey_gets_no_shapley_credit(
    specs: list[tuple[list[str], bool, int, float]], lost: list[str]
) -> None:
    """Null player: "tiktok" touched only on journeys that did not convert gets exactly 0."""
    journeys = [*build(specs), journey([*lost, "tiktok"], converted=False)]

    exact = attribute(paths(*journeys), "shapley", method="exact")
    simplified = attribute(paths(*journeys), "shapley", method="simplified")

    assert (exact["tiktok"].conversions, exact["tiktok"].value) == (0, 0)
    assert (simplified["tiktok"].conversions, simplified["tiktok"].value) == (0, 0)


@examples
@given(specs=journey_specs, names=st.permutations(["x1", "x2", "x3", "x4"]))
def test_renaming_channels_renames_the_credits_and_changes_nothing_else(
    specs: list[tuple[list[str], bool, int, float]], names: list[str]
) -> None:
    """Relabelling: credits follow the labels exactly (the direct label renamed too)."""
    rename = dict(zip(CHANNELS, names, strict=True))
    journeys = build(specs)
    renamed = build(
        [([rename[c] for c in chs], conv, value, days) for chs, conv, value, days in specs]
    )

    before = everything(journeys)
    after = everything(renamed, direct=rename["direct"])

    for model, credits in before.items():
        assert {rename[c.channel]: (c.conversions, c.value) for c in credits} == {
            c.channel: (c.conversions, c.value) for c in after[model]
        }, model


@examples
@given(specs=journey_specs)
def test_the_same_journeys_give_the_same_credits(
    specs: list[tuple[list[str], bool, int, float]],
) -> None:
    """Determinism: no sampling, no seed, the same answer twice."""
    assert everything(build(specs)) == everything(build(specs))


@examples
@given(specs=journey_specs)
def test_exact_shapley_equals_the_simplified_closed_form(
    specs: list[tuple[list[str], bool, int, float]],
) -> None:
    """Zhao et al.'s closed form is the Shapley value of the game, not an approximation: the
    2^n enumeration gives the same credits up to rounding's last unit."""
    journeys = build(specs)

    exact = attribute(paths(*journeys), "shapley", method="exact")
    simplified = attribute(paths(*journeys), "shapley", method="simplified")

    for one, other in zip(exact, simplified, strict=True):
        assert abs(one.conversions - other.conversions) <= UNIT
        assert abs(one.value - other.value) <= 1
