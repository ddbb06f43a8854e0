"""One entry point for every model: ``attribute(paths, "linear")``, ``all_models(paths)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from tessera.analytics.attribution import heuristics
from tessera.analytics.attribution.credits import Credits, make_credits
from tessera.analytics.attribution.markov import markov
from tessera.analytics.attribution.paths import Paths
from tessera.analytics.attribution.shapley import Method, shapley

HEURISTICS: dict[str, Callable[[Paths], NDArray[np.float64]]] = {
    "first_touch": heuristics.first_touch,
    "last_touch": heuristics.last_touch,
    "last_non_direct": heuristics.last_non_direct,
    "linear": heuristics.linear,
    "time_decay": heuristics.time_decay,
    "position_based": heuristics.position_based,
}
MODELS = (*HEURISTICS, "markov", "shapley")


class UnknownModel(ValueError):
    """A model name that is not one of ``MODELS``."""


def attribute(
    paths: Paths,
    model: str,
    *,
    direct: str = heuristics.DEFAULT_DIRECT,
    half_life: timedelta = heuristics.DEFAULT_HALF_LIFE,
    order: int = 1,
    method: Method = "auto",
) -> Credits:
    """One model's credits per channel, adding up exactly to the paths' conversions and
    value. Options: ``direct`` (last non-direct: the label that does not count),
    ``half_life`` (time decay), ``order`` (Markov, 1 to 3), ``method`` (Shapley: exact, the
    simplified closed form, or auto: exact up to 15 channels). Refuses an unknown model."""
    if model == "last_non_direct":
        weights = heuristics.last_non_direct(paths, direct)
    elif model == "time_decay":
        weights = heuristics.time_decay(paths, half_life)
    elif model in HEURISTICS:
        weights = HEURISTICS[model](paths)
    elif model == "markov":
        conversions, value = markov(paths, order)
        return make_credits(f"markov_{order}", paths, conversions, value)
    elif model == "shapley":
        conversions, value = shapley(paths, method)
        return make_credits(model, paths, conversions, value)
    else:
        raise UnknownModel(f"model must be one of {', '.join(MODELS)}, not {model!r}")
    conversions, value = heuristics.aggregate(paths, weights)
    return make_credits(model, paths, conversions, value)


def all_models(
    paths: Paths,
    *,
    direct: str = heuristics.DEFAULT_DIRECT,
    half_life: timedelta = heuristics.DEFAULT_HALF_LIFE,
    markov_orders: Sequence[int] = (1, 2, 3),
    method: Method = "auto",
) -> dict[str, Credits]:
    """Every model side by side, keyed by model (``markov_1``... one per order)."""
    results: dict[str, Credits] = {}
    for model in HEURISTICS:
        results[model] = attribute(paths, model, direct=direct, half_life=half_life)
    for order in markov_orders:
        results[f"markov_{order}"] = attribute(paths, "markov", order=order)
    results["shapley"] = attribute(paths, "shapley", method=method)
    return results
