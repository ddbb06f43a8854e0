"""Training: u from random pairs, m and the prior by expectation-maximisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.identity.match.engine import (
    ComparisonParameters,
    MatchModel,
    MatchSettings,
    RecordTable,
    block_on,
    exact_comparison,
    name_comparison,
    score_pairs,
    train,
)
from tessera.identity.match.engine.training import (
    agreement_patterns,
    expectation_maximisation,
    monotone,
)

TRUE_PRIOR = 0.2
TRUE_M = [np.array([0.85, 0.10, 0.05]), np.array([0.9, 0.1]), np.array([0.7, 0.2, 0.1])]
TRUE_U = [np.array([0.02, 0.08, 0.90]), np.array([0.1, 0.9]), np.array([0.05, 0.15, 0.80])]


def _synthetic_levels(count: int, seed: int) -> np.ndarray:
    """Comparison levels drawn from TRUE_M for matches and TRUE_U otherwise, 10% missing."""
    rng = np.random.default_rng(seed)
    is_match = rng.random(count) < TRUE_PRIOR
    levels = np.empty((count, len(TRUE_M)), dtype=np.int8)
    for k, (m, u) in enumerate(zip(TRUE_M, TRUE_U, strict=True)):
        from_m = rng.choice(len(m), count, p=m)
        from_u = rng.choice(len(u), count, p=u)
        levels[:, k] = np.where(is_match, from_m, from_u)
        levels[rng.random(count) < 0.1, k] = -1
    return levels


def _neutral_start(sizes: list[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    m = [np.linspace(2.0, 1.0, n) / np.linspace(2.0, 1.0, n).sum() for n in sizes]
    u = [np.linspace(1.0, 2.0, n) / np.linspace(1.0, 2.0, n).sum() for n in sizes]
    return m, u


def test_em_recovers_the_m_and_u_that_generated_the_data():
    """From a neutral start, EM finds the prior, m and u of 200,000 simulated pairs."""
    patterns, counts, _ = agreement_patterns(_synthetic_levels(200_000, seed=1))
    m, u = _neutral_start([len(x) for x in TRUE_M])

    result = expectation_maximisation(patterns, counts, m, u, 0.5, estimate_u=True)

    assert result.converged
    assert result.prior == pytest.approx(TRUE_PRIOR, abs=0.01)
    for found, true in zip(result.m, TRUE_M, strict=True):
        np.testing.assert_allclose(found, true, atol=0.02)
    for found, true in zip(result.u, TRUE_U, strict=True):
        np.testing.assert_allclose(found, true, atol=0.02)


def test_em_with_u_fixed_estimates_m_and_the_prior():
    """As in training, u is held at its known value and only m and the prior move."""
    patterns, counts, _ = agreement_patterns(_synthetic_levels(200_000, seed=2))
    m, _ = _neutral_start([len(x) for x in TRUE_M])

    result = expectation_maximisation(patterns, counts, m, TRUE_U, 0.5)

    assert result.prior == pytest.approx(TRUE_PRIOR, abs=0.01)
    for found, true in zip(result.m, TRUE_M, strict=True):
        np.testing.assert_allclose(found, true, atol=0.02)
    for kept, true in zip(result.u, TRUE_U, strict=True):
        np.testing.assert_array_equal(kept, true)


def test_inactive_comparisons_keep_their_parameters():
    """A comparison left out of a session (its field was blocked on) is not re-estimated."""
    patterns, counts, _ = agreement_patterns(_synthetic_levels(20_000, seed=3))
    m, _ = _neutral_start([len(x) for x in TRUE_M])

    result = expectation_maximisation(
        patterns, counts, m, TRUE_U, 0.5, active=np.array([True, False, True])
    )

    np.testing.assert_array_equal(result.m[1], m[1])
    assert not np.allclose(result.m[0], m[0])


def _records_with_duplicates(seed: int) -> RecordTable:
    """3,000 people over four fields of 500 values; 1,000 of them recorded twice, each field
    copied with probability 0.9 (otherwise a value no one else has)."""
    rng = np.random.default_rng(seed)
    people = rng.integers(0, 500, size=(3_000, 4))
    twice = rng.choice(3_000, 1_000, replace=False)
    copies = people[twice].astype(object)
    garbled = rng.random(copies.shape) >= 0.9
    copies[garbled] = [f"typo{i}" for i in range(int(garbled.sum()))]
    values = np.concatenate([people.astype(str).astype(object), copies.astype(str)])
    return RecordTable(
        [f"r{i}" for i in range(len(values))],
        {f"f{k}": values[:, k].tolist() for k in range(4)},
    )


def test_training_recovers_m_u_and_the_prior_of_simulated_records():
    """m(exact) is the 0.9 copy rate, u(exact) the 1/500 chance, the prior 1,000 matches in
    all 7,998,000 pairs."""
    table = _records_with_duplicates(seed=4)
    settings = MatchSettings(
        comparisons=tuple(exact_comparison(f"f{k}") for k in range(4)),
        blocking=(block_on("f0"), block_on("f1"), block_on("f2")),
    )

    model = train(table, settings, random_pair_count=300_000)

    for parameters in model.parameters:
        assert parameters.m[0] == pytest.approx(0.9, abs=0.03)
        assert parameters.u[0] == pytest.approx(1 / 500, abs=0.0005)
    assert model.prior == pytest.approx(1_000 / 7_998_000, rel=0.1)
    assert model.report is not None
    assert [s.estimated for s in model.report.sessions] == [
        ("f1", "f2", "f3"),
        ("f0", "f2", "f3"),
        ("f0", "f1", "f3"),
    ]
    assert model.report.untrained == ()


def test_term_frequencies_come_from_the_training_records():
    """A term-frequency comparison remembers how common each value was."""
    table = RecordTable(["a", "b", "c", "d"], {"first_name": ["john", "john", "john", "zebedee"]})
    settings = MatchSettings(
        comparisons=(name_comparison("first_name"),), blocking=(block_on("first_name"),)
    )

    model = train(table, settings)

    assert model.term_frequencies == {"first_name": {"john": 0.75, "zebedee": 0.25}}
    assert model.frequency("first_name", "never seen") == 0.25


def test_a_model_round_trips_through_json_data_for_its_own_settings_only():
    """Parameters are stored as data and reloaded against the settings they were trained for."""
    table = _records_with_duplicates(seed=5)
    settings = MatchSettings(
        comparisons=tuple(exact_comparison(f"f{k}") for k in range(4)),
        blocking=(block_on("f0"), block_on("f1")),
    )
    model = train(table, settings, random_pair_count=50_000)
    other = MatchSettings(comparisons=(exact_comparison("f0"),), blocking=(block_on("f0"),))

    assert MatchModel.from_dict(settings, model.to_dict()) == model
    with pytest.raises(ValueError, match="different comparisons"):
        MatchModel.from_dict(other, model.to_dict())


def test_training_refuses_too_few_records_and_missing_columns():
    """Two records at least, and a column for every field the settings read."""
    settings = MatchSettings(
        comparisons=(exact_comparison("email"),), blocking=(block_on("email"),)
    )

    with pytest.raises(ValueError, match="at least two records"):
        train(RecordTable(["a"], {"email": ["a@x.com"]}), settings)
    with pytest.raises(ValueError, match="no column for email"):
        train(RecordTable(["a", "b"], {"phone": ["1", "2"]}), settings)


_PROBABILITIES = st.lists(st.floats(0.001, 1.0), min_size=2, max_size=8)


def _distribution(weights: list[float]) -> np.ndarray:
    values = np.asarray(weights, dtype=np.float64)
    return values / values.sum()


@given(_PROBABILITIES, st.data())
def test_monotone_weights_never_rise_and_keep_m_a_distribution(
    raw_m: list[float], data: st.DataObject
) -> None:
    """Whatever m and u, the adjusted m's weights never rise from a closer level to a farther
    one, m still sums to one, and m already in order is left exactly as it was."""
    m = _distribution(raw_m)
    u = _distribution(data.draw(st.lists(st.floats(0.001, 1.0), min_size=len(m), max_size=len(m))))

    adjusted = monotone(m, u)
    weights = np.log2(adjusted / u)

    assert np.all(np.diff(weights) <= 1e-9)
    assert adjusted.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(monotone(adjusted, u), adjusted)
    if np.all(np.diff(np.log2(m / u)) <= 0):
        np.testing.assert_array_equal(adjusted, m)


_NAMES = ["william", "bill", "will", "elizabeth", "liz", "beth", "john", "jon", "johnny",
          "margaret", "peggy", "maggie", "robert", "bob", "rob"]  # fmt: skip
_SURNAMES = ["okafor", "okafur", "lindqvist", "lindquist", "dubois", "duboise", "smith", "smyth"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(_NAMES), st.sampled_from(_SURNAMES), st.integers(0, 3)),
        min_size=8,
        max_size=60,
    )
)
def test_trained_weights_never_favour_a_farther_level(people: list[tuple[str, str, int]]) -> None:
    """On any records, however few reach a level (a nickname, a close spelling), each trained
    comparison's weights never rise from its closest level to "else"."""
    table = RecordTable(
        [f"r{n}" for n in range(len(people))],
        {
            "first_name": [first for first, _, _ in people],
            "last_name": [last for _, last, _ in people],
            "postcode": [f"sw1a {area}aa" for _, _, area in people],
        },
    )
    settings_ = MatchSettings(
        comparisons=(
            name_comparison("first_name", nicknames=True),
            name_comparison("last_name"),
            exact_comparison("postcode"),
        ),
        blocking=(block_on("postcode"), block_on("last_name")),
    )

    model = train(table, settings_, random_pair_count=2_000)

    for parameters in model.parameters:
        assert np.all(np.diff(parameters.weights) <= 1e-9), parameters.weights


def test_a_common_name_agreeing_exactly_weighs_no_less_than_a_near_spelling() -> None:
    """Term frequencies lower the weight of sharing "john" (three records in four), but not
    below the weight of the next level, a close spelling."""
    settings_ = MatchSettings(
        comparisons=(name_comparison("first_name"),), blocking=(block_on("first_name"),)
    )
    model = MatchModel(
        settings_,
        0.01,
        (ComparisonParameters((0.6, 0.2, 0.1, 0.05, 0.05), (0.01, 0.02, 0.03, 0.04, 0.9)),),
        term_frequencies={"first_name": {"john": 0.75, "zebedee": 0.001}},
    )
    table = RecordTable(["a", "b", "c", "d", "e", "f"], {
        "first_name": ["john", "john", "jon", "john", "zebedee", "zebedee"]})  # fmt: skip

    scored = score_pairs(model, table, np.asarray([0, 2, 4]), np.asarray([1, 3, 5]))
    weights = model.parameters[0].weights

    assert scored.match_weight[0] - model.prior_weight == pytest.approx(weights[1])
    assert scored.match_weight[1] - model.prior_weight == pytest.approx(weights[1])
    assert scored.match_weight[2] - model.prior_weight == pytest.approx(np.log2(0.6 / 0.001))
