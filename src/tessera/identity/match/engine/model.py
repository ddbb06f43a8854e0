"""A trained Fellegi-Sunter model and the scores it gives pairs of records.

For each comparison and level, ``m`` is the probability of that level among pairs of records of
one person and ``u`` among pairs of different people. A pair's match weight is
``log2(prior / (1 - prior)) + sum(log2(m / u))`` over its comparisons (a missing value adds 0),
plus, for exact agreement under a term-frequency comparison, ``log2(u_exact / frequency(value))``
so that sharing a rare value counts for more than sharing a common one. The match probability
is ``2^w / (1 + 2^w)``.

Scores depend only on the two records and the model: adding other records never changes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tessera.identity.match.engine.blocking import candidate_pairs
from tessera.identity.match.engine.comparisons import NULL_LEVEL, Comparison
from tessera.identity.match.engine.records import Column, Record, RecordTable
from tessera.identity.match.engine.settings import Decision, MatchSettings

_WEIGHT_LIMIT = 1000.0


@dataclass(frozen=True, slots=True)
class ComparisonParameters:
    """m and u probabilities of each level of one comparison (including "else")."""

    m: tuple[float, ...]
    u: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.m) != len(self.u):
            raise ValueError("m and u need one probability per level")
        if min(self.m) <= 0.0 or min(self.u) <= 0.0:
            raise ValueError("m and u probabilities must be positive")

    @property
    def weights(self) -> tuple[float, ...]:
        """Each level's match weight, log2(m / u)."""
        return tuple(float(np.log2(m / u)) for m, u in zip(self.m, self.u, strict=True))


@dataclass(frozen=True, slots=True)
class TrainingSession:
    """One EM run: the blocking rule whose pairs it used and what it estimated."""

    rule: str
    pairs: int
    iterations: int
    prior: float
    estimated: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """How a model was trained, for the people who must trust it."""

    records: int
    random_pairs: int
    candidate_pairs: int
    sessions: tuple[TrainingSession, ...]
    untrained: tuple[str, ...]  # comparisons no session could estimate: m kept its start value


@dataclass(frozen=True)
class MatchModel:
    """Settings plus the parameters learned from a brand's own records."""

    settings: MatchSettings
    prior: float  # the probability that two records drawn at random are one person
    parameters: tuple[ComparisonParameters, ...]
    term_frequencies: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    report: TrainingReport | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.prior < 1.0:
            raise ValueError("the prior must be a probability strictly between 0 and 1")
        if len(self.parameters) != len(self.settings.comparisons):
            raise ValueError("one set of parameters per comparison")
        for comparison, parameters in zip(self.settings.comparisons, self.parameters, strict=True):
            if len(parameters.m) != comparison.level_count:
                raise ValueError(f"{comparison.label}: one m and u per level")

    @cached_property
    def prior_weight(self) -> float:
        """The weight before any evidence, log2(prior / (1 - prior))."""
        return float(np.log2(self.prior / (1.0 - self.prior)))

    @cached_property
    def weight_tables(self) -> tuple[NDArray[np.float64], ...]:
        """Per comparison, each level's weight and a final 0.0 that level -1 (missing) picks."""
        return tuple(np.asarray((*p.weights, 0.0), dtype=np.float64) for p in self.parameters)

    def adjusts(self, comparison: Comparison) -> bool:
        """Whether exact agreement under this comparison is weighted by the value's frequency.

        True for a term-frequency comparison with an exact level whose field has a frequency
        table in the model (a model built by hand without one simply does not adjust).
        """
        return (
            comparison.term_frequency
            and comparison.exact_level is not None
            and comparison.field in self.term_frequencies
        )

    def frequency(self, field_name: str, value: str) -> float:
        """How often a value occurs in the field (the rarest known frequency if never seen)."""
        table = self.term_frequencies[field_name]
        found = table.get(value)
        return found if found is not None else self._floors[field_name]

    @cached_property
    def _floors(self) -> dict[str, float]:
        return {
            name: min(table.values(), default=1.0) for name, table in self.term_frequencies.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """The learned parameters as JSON-ready data (the settings stay in code)."""
        return {
            "prior": self.prior,
            "comparisons": [
                {"name": c.label, "levels": list(c.level_labels), "m": list(p.m), "u": list(p.u)}
                for c, p in zip(self.settings.comparisons, self.parameters, strict=True)
            ],
            "term_frequencies": {k: dict(v) for k, v in self.term_frequencies.items()},
        }

    @classmethod
    def from_dict(cls, settings: MatchSettings, data: Mapping[str, Any]) -> MatchModel:
        """A model from ``to_dict`` output; refuses parameters trained for other settings."""
        stored = data["comparisons"]
        if [(s["name"], list(s["levels"])) for s in stored] != [
            (c.label, list(c.level_labels)) for c in settings.comparisons
        ]:
            raise ValueError("the stored parameters were trained for different comparisons")
        return cls(
            settings=settings,
            prior=float(data["prior"]),
            parameters=tuple(
                ComparisonParameters(tuple(map(float, s["m"])), tuple(map(float, s["u"])))
                for s in stored
            ),
            term_frequencies={k: dict(v) for k, v in data["term_frequencies"].items()},
        )


@dataclass(frozen=True, slots=True)
class FieldEvidence:
    """How one comparison judged a pair: the values, the level they fell in, its weight."""

    comparison: str
    field: str
    left: str | None
    right: str | None
    level: str  # a level label, or "missing" when either value is
    weight: float


@dataclass(frozen=True, slots=True)
class PairScore:
    """The score of one pair of records, with the evidence behind it."""

    match_weight: float
    probability: float
    decision: Decision
    evidence: tuple[FieldEvidence, ...]


@dataclass(frozen=True, slots=True)
class ScoredPairs:
    """Many scored pairs as arrays: row numbers, levels (pairs x comparisons), weights."""

    left: NDArray[np.int64]
    right: NDArray[np.int64]
    levels: NDArray[np.int8]
    match_weight: NDArray[np.float64]
    probability: NDArray[np.float64]
    rule: NDArray[np.int8]  # the first blocking rule that found the pair (-1 if none did)

    def __len__(self) -> int:
        return len(self.left)

    def select(self, mask: NDArray[np.bool_]) -> ScoredPairs:
        """The pairs where ``mask`` is true."""
        return ScoredPairs(
            self.left[mask],
            self.right[mask],
            self.levels[mask],
            self.match_weight[mask],
            self.probability[mask],
            self.rule[mask],
        )


def probability_of(weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """Match probabilities from match weights (log2 odds)."""
    clipped = np.clip(weight, -_WEIGHT_LIMIT, _WEIGHT_LIMIT)
    return np.asarray(1.0 / (1.0 + np.exp2(-clipped)), dtype=np.float64)


def comparison_levels(
    comparisons: tuple[Comparison, ...],
    table: RecordTable,
    left: NDArray[np.int64],
    right: NDArray[np.int64],
) -> NDArray[np.int8]:
    """The level of every pair under every comparison (pairs x comparisons)."""
    levels = np.empty((len(left), len(comparisons)), dtype=np.int8)
    for index, comparison in enumerate(comparisons):
        column = table.columns[comparison.field]
        levels[:, index] = comparison.compare(
            column.codes[left], column.codes[right], column.values
        )
    return levels


def partial_weight(
    model: MatchModel,
    index: int,
    levels: NDArray[np.int8],
    frequency: NDArray[np.float64] | None,
) -> NDArray[np.float64]:
    """One comparison's weight for each pair, term-frequency adjusted where it applies.

    ``frequency`` is the frequency of each pair's (left) value; it matters only for pairs at the
    exact level, where both values are equal. Sharing a common value ("john") weighs less
    than sharing a rare one, but never less than the farther levels: an exact agreement is
    no worse evidence than a near one.
    """
    table = model.weight_tables[index]
    weights = table[levels]
    comparison = model.settings.comparisons[index]
    exact = comparison.exact_level
    if exact is not None and frequency is not None and model.adjusts(comparison):
        at_exact = levels == exact
        if at_exact.any():
            u_exact = model.parameters[index].u[exact]
            adjusted = weights[at_exact] + np.log2(u_exact) - np.log2(frequency[at_exact])
            weights[at_exact] = np.maximum(adjusted, table[exact + 1 : -1].max())
    return np.asarray(weights, dtype=np.float64)


def _frequencies(model: MatchModel, field_name: str, column: Column) -> NDArray[np.float64]:
    """The frequency of each of a column's distinct values, then one for "missing"."""
    return np.asarray(
        [model.frequency(field_name, value) for value in column.values] + [1.0],
        dtype=np.float64,
    )


def score_pairs(
    model: MatchModel,
    table: RecordTable,
    left: NDArray[np.int64],
    right: NDArray[np.int64],
    rule: NDArray[np.int8] | None = None,
) -> ScoredPairs:
    """Score the given pairs of rows of ``table``."""
    table.clean(model.settings.cleaners)
    comparisons = model.settings.comparisons
    levels = comparison_levels(comparisons, table, left, right)
    weight = np.full(len(left), model.prior_weight, dtype=np.float64)
    for index, comparison in enumerate(comparisons):
        frequency = None
        if model.adjusts(comparison):
            column = table.columns[comparison.field]
            frequency = _frequencies(model, comparison.field, column)[column.codes[left]]
        weight += partial_weight(model, index, levels[:, index], frequency)
    found_by = rule if rule is not None else np.full(len(left), -1, dtype=np.int8)
    return ScoredPairs(left, right, levels, weight, probability_of(weight), found_by)


def predict(model: MatchModel, table: RecordTable) -> ScoredPairs:
    """Block ``table`` with the model's rules and score every candidate pair."""
    settings = model.settings
    table.clean(settings.cleaners)
    candidates = candidate_pairs(
        table,
        settings.blocking,
        link_only=settings.link_only,
        max_block_size=settings.max_block_size,
    )
    return score_pairs(model, table, candidates.left, candidates.right, candidates.rule)


def evidence(
    model: MatchModel, table: RecordTable, left: int, right: int
) -> tuple[FieldEvidence, ...]:
    """Each comparison's level and weight for one pair of rows."""
    table.clean(model.settings.cleaners)
    levels = comparison_levels(
        model.settings.comparisons,
        table,
        np.asarray([left], dtype=np.int64),
        np.asarray([right], dtype=np.int64),
    )
    found: list[FieldEvidence] = []
    for index, comparison in enumerate(model.settings.comparisons):
        column = table.columns[comparison.field]
        level = int(levels[0, index])
        frequency = None
        left_value = column.value_at(left)
        if model.adjusts(comparison) and left_value is not None:
            frequency = np.asarray([model.frequency(comparison.field, left_value)])
        weight = partial_weight(model, index, levels[:, index], frequency)
        found.append(
            FieldEvidence(
                comparison=comparison.label,
                field=comparison.field,
                left=left_value,
                right=column.value_at(right),
                level="missing" if level == NULL_LEVEL else comparison.level_labels[level],
                weight=float(weight[0]),
            )
        )
    return tuple(found)


def score_pair(model: MatchModel, left: Record, right: Record) -> PairScore:
    """Score two records against each other, with per-field evidence."""
    if left.id == right.id:
        raise ValueError("a record is not compared with itself")
    table = RecordTable.from_records([left, right], model.settings.fields)
    found = evidence(model, table, 0, 1)
    weight = model.prior_weight + sum(item.weight for item in found)
    probability = float(probability_of(np.asarray([weight]))[0])
    return PairScore(weight, probability, model.settings.thresholds.decide(probability), found)
