"""Item-item co-occurrence: a hand-checked example, and properties over any purchases (never
what the person owns, never what is not available, the same answer whatever the order the
purchases arrive in, and the arrays agreeing with the plain definition)."""

from __future__ import annotations

from collections.abc import Collection
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from tessera.message import recommend

# Five people; A and B were bought together by two of them, A and C by two, B and C by one.
BASKETS = {
    "ana": {"A", "B"},
    "ben": {"A", "B", "C"},
    "cy": {"A", "C"},
    "dee": {"B", "D"},
    "eve": {"C", "E"},
}


def test_co_occurrence_counts_distinct_people_who_bought_both() -> None:
    """Each pair counts the people who bought both, once each, in both directions."""
    matrix = recommend.co_occurrence(BASKETS)

    assert {sku: dict(row) for sku, row in matrix.items()} == {
        "A": {"B": 2, "C": 2},
        "B": {"A": 2, "C": 1, "D": 1},
        "C": {"A": 2, "B": 1, "E": 1},
        "D": {"B": 1},
        "E": {"C": 1},
    }


def test_a_persons_scores_sum_the_rows_of_what_they_own_and_leave_it_out() -> None:
    """Owning A and B: C scores 2 (with A) + 1 (with B), D 1 (with B); A and B are not offered."""
    purchases = recommend.Purchases.from_pairs(
        (person, sku) for person, skus in BASKETS.items() for sku in sorted(skus)
    )

    scored = purchases.scores({"A", "B"})

    assert scored == {"C": 3, "D": 1}
    assert recommend.top(scored, {"A", "B"}) == ["C", "D"]
    assert purchases.owned_by("ana") == frozenset({"A", "B"})
    assert purchases.owned_by("nobody") == frozenset()


def test_ties_break_on_the_sku_and_unavailable_skus_are_passed_over() -> None:
    """Owning A: B and C tie at 2 and come in SKU order; with B out of stock, C then nothing."""
    scored = recommend.Purchases.from_pairs(
        (person, sku) for person, skus in BASKETS.items() for sku in skus
    ).scores({"A"})

    assert recommend.top(scored, {"A"}, count=2) == ["B", "C"]
    assert recommend.top(scored, {"A"}, count=2, is_available=lambda s: set(s) - {"B"}) == ["C"]
    assert recommend.top(scored, {"A"}, count=0) == []


def test_someone_who_bought_nothing_anyone_else_bought_gets_nothing() -> None:
    """A SKU nobody else bought co-occurs with nothing: no scores, no recommendations."""
    purchases = recommend.Purchases.from_pairs([("ana", "A"), ("ben", "B")])

    assert purchases.scores({"A"}) == {}
    assert purchases.scores({"Z"}) == {}
    assert recommend.Purchases.from_pairs([]).scores({"A"}) == {}


SKUS = st.sampled_from([f"SKU-{n}" for n in range(8)])
PURCHASES = st.dictionaries(
    st.sampled_from([f"p{n}" for n in range(10)]), st.sets(SKUS, min_size=1, max_size=5)
)


def _pairs(baskets: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(person, sku) for person, skus in baskets.items() for sku in sorted(skus)]


@given(PURCHASES, st.sets(SKUS), st.sets(SKUS), st.integers(0, 10))
def test_never_recommends_an_owned_or_unavailable_sku_and_ranks_by_score_then_sku(
    baskets: dict[str, set[str]], owned: set[str], available: set[str], count: int
) -> None:
    """Whatever the purchases: nothing owned, nothing unavailable, at most ``count``, best
    first with ties by SKU, and every better-ranked SKU left out was unavailable."""
    scored = recommend.Purchases.from_pairs(_pairs(baskets)).scores(owned)

    def is_available(skus: Collection[str]) -> set[str]:
        return set(skus) & available

    picked = recommend.top(scored, owned, count, is_available)

    assert not set(picked) & owned
    assert set(picked) <= available
    assert len(picked) <= count
    assert picked == sorted(picked, key=lambda sku: (-scored[sku], sku))
    if picked:
        better = recommend.ranked(scored, owned)[
            : recommend.ranked(scored, owned).index(picked[-1])
        ]
        assert [sku for sku in better if sku in available] == picked[:-1]


@given(PURCHASES, st.sets(SKUS), st.randoms(use_true_random=False))
def test_the_arrays_agree_with_the_matrix_whatever_order_the_purchases_arrive_in(
    baskets: dict[str, set[str]], owned: set[str], random: Random
) -> None:
    """The bincount scores equal the co-occurrence matrix's row sums and the basket walk,
    and shuffled (or repeated) pairs give the same recommendations."""
    pairs = _pairs(baskets)
    shuffled = [*pairs, *pairs[:3]]
    random.shuffle(shuffled)

    first = recommend.Purchases.from_pairs(pairs).scores(owned)
    again = recommend.Purchases.from_pairs(shuffled).scores(owned)

    expected = recommend.scores_from_matrix(recommend.co_occurrence(baskets), owned)
    assert first == again == dict(expected) == dict(recommend.scores(baskets, owned))
    assert recommend.top(first, owned, 5) == recommend.top(again, owned, 5)
