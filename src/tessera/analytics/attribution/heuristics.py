"""The rule-based models: each gives every touch of a converting journey a weight, the weights
of one journey adding up to 1; a channel's credit is the sum of its touches' weights (times the
journey's value, for value).

- first touch, last touch: all to that touch.
- last non-direct: all to the last touch whose channel is not ``direct`` (configurable); a
  journey of direct touches only credits direct, as Google's model does.
- linear: 1/n to each of the n touches (a channel touched twice gets 2/n).
- time decay: a touch ``age`` before the conversion weighs ``2 ** (-age / half_life)``
  (Google's default half-life: 7 days), normalised within the journey.
- position-based (Google's 40/20/40): one touch gets all; two touches 50 % each; three or
  more give 40 % to the first, 40 % to the last and 20 % shared equally by the middle ones.

All are vectorised over touches: no Python loop over journeys.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from tessera.analytics.attribution.paths import Paths

DEFAULT_HALF_LIFE = timedelta(days=7)
DEFAULT_DIRECT = "direct"
FIRST_SHARE = 0.4
LAST_SHARE = 0.4


def aggregate(
    paths: Paths, weights: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-channel conversions and value from per-touch weights (each converting journey's
    weights sum to 1; other journeys' weights are ignored)."""
    journey = paths.journey_of_touch
    credited = weights * paths.converted[journey]
    channels = len(paths.channels)
    conversions = np.bincount(paths.codes, weights=credited, minlength=channels)
    value = np.bincount(
        paths.codes, weights=credited * paths.value[journey].astype(np.float64), minlength=channels
    )
    return conversions.astype(np.float64), value.astype(np.float64)


def _one_touch(paths: Paths, index: NDArray[np.int64]) -> NDArray[np.float64]:
    weights = np.zeros(len(paths.codes))
    weights[index] = 1.0
    return weights


def first_touch(paths: Paths) -> NDArray[np.float64]:
    return _one_touch(paths, paths.offsets[:-1])


def last_touch(paths: Paths) -> NDArray[np.float64]:
    return _one_touch(paths, paths.offsets[1:] - 1)


def last_non_direct(paths: Paths, direct: str = DEFAULT_DIRECT) -> NDArray[np.float64]:
    last = paths.offsets[1:] - 1
    if direct not in paths.channels or not len(paths.codes):
        return _one_touch(paths, last)
    direct_code = paths.channels.index(direct)
    candidates = np.where(paths.codes != direct_code, np.arange(len(paths.codes)), -1)
    chosen = np.maximum.reduceat(candidates, paths.offsets[:-1])
    return _one_touch(paths, np.where(chosen >= 0, chosen, last))


def linear(paths: Paths) -> NDArray[np.float64]:
    lengths = paths.lengths.astype(np.float64)
    return np.repeat(1.0 / lengths, paths.lengths)


def time_decay(paths: Paths, half_life: timedelta = DEFAULT_HALF_LIFE) -> NDArray[np.float64]:
    seconds = half_life.total_seconds()
    if not seconds > 0:
        raise ValueError("half_life must be positive")
    if not len(paths.codes):
        return np.zeros(0)
    journey = paths.journey_of_touch
    # log2 of each weight, shifted so the newest touch of each journey weighs 1: no journey's
    # weights all underflow to zero however old its touches are.
    exponent = -(paths.conversion_time[journey] - paths.times) / seconds
    exponent -= np.maximum.reduceat(exponent, paths.offsets[:-1])[journey]
    weights = np.exp2(exponent)
    return weights / np.add.reduceat(weights, paths.offsets[:-1])[journey]


def position_based(paths: Paths) -> NDArray[np.float64]:
    lengths = paths.lengths
    journey = paths.journey_of_touch
    length = lengths[journey]
    position = np.arange(len(paths.codes)) - paths.offsets[:-1][journey]
    middle_share = (1.0 - FIRST_SHARE - LAST_SHARE) / np.maximum(length - 2, 1)
    weights = np.where(
        position == 0, FIRST_SHARE, np.where(position == length - 1, LAST_SHARE, middle_share)
    )
    weights = np.where(length == 2, 0.5, weights)
    return np.where(length == 1, 1.0, weights)
