"""Models with chosen parameters and small record sets, for matching tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.identity.match.engine import (
    Comparison,
    ComparisonParameters,
    MatchModel,
    MatchSettings,
    Record,
)
from tessera.identity.match.engine.records import Column


def chosen_parameters(comparison: Comparison) -> ComparisonParameters:
    """Plausible m and u: exact agreement strong, looser levels weaker, "else" against."""
    middle = comparison.level_count - 2
    if middle == 0:
        return ComparisonParameters((0.9, 0.1), (0.01, 0.99))
    return ComparisonParameters(
        (0.8, *[0.15 / middle] * middle, 0.05),
        (0.001, *[0.01] * middle, 1.0 - 0.001 - 0.01 * middle),
    )


def chosen_model(settings: MatchSettings, prior: float = 1e-3) -> MatchModel:
    """A model with ``chosen_parameters`` for every comparison and no term frequencies."""
    return MatchModel(settings, prior, tuple(chosen_parameters(c) for c in settings.comparisons))


def levels_of(comparison: Comparison, pairs: Sequence[tuple[str | None, str | None]]) -> list[str]:
    """The level label of each pair of values (``missing`` when either is)."""
    column = Column.from_values([a for a, _ in pairs] + [b for _, b in pairs])
    codes = column.codes
    found = comparison.compare(codes[: len(pairs)], codes[len(pairs) :], column.values)
    return ["missing" if level < 0 else comparison.level_labels[level] for level in found]


def customer(record_id: str, **fields: str | None) -> Record:
    """A customer record with the given fields (the rest unknown)."""
    return Record(record_id, fields)


def weight(m: float, u: float) -> float:
    """log2(m / u), a level's match weight."""
    return float(np.log2(m / u))
