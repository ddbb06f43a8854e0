"""Shapley value attribution over the channel sets of converting journeys.

The game is the one Ads Data Hub uses (Zhao, Mahboobi & Bagheri 2018, "Shapley Value Methods
for Attribution Modeling in Online Advertising"): r(T) is the number (or value) of conversions
whose journey touched exactly the channels T, and a coalition S is worth what its channels
converted alone, v(S) = sum of r(T) over the observed T contained in S. Order and repeats
within a journey do not matter, and journeys that did not convert add nothing.

- ``exact``: the Shapley formula itself, sum over S without i of
  |S|! (n - |S| - 1)! / n! (v(S + i) - v(S)), over all 2^n coalitions of the n channels that
  appear on converting journeys (v by a subset-sum transform, O(n 2^n)); refused beyond 15
  channels (2^15 coalitions).
- ``simplified``: Zhao et al.'s closed form for this game, each journey's conversion split
  equally among its distinct channels: O(touches), any number of channels. It is the same
  value, not an estimate (the tests check the two agree), so no sampling and no seed is needed
  beyond 15 channels.

Either way the values add up to v(all channels) = the total, a channel never on a converting
journey gets 0, and two channels that always appear together get the same.
"""

from __future__ import annotations

from math import factorial
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from tessera.analytics.attribution.paths import Paths

EXACT_LIMIT = 15
Method = Literal["auto", "exact", "simplified"]


def shapley(
    paths: Paths, method: Method = "auto"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-channel Shapley values (conversions, value), indexed by code."""
    journey, code = _distinct_pairs(paths)
    on_conversions = np.unique(code)
    if method == "auto":
        method = "exact" if len(on_conversions) <= EXACT_LIMIT else "simplified"
    if method == "simplified":
        return _simplified(paths, journey, code)
    if method == "exact":
        if len(on_conversions) > EXACT_LIMIT:
            raise ValueError(
                f"exact Shapley takes at most {EXACT_LIMIT} channels on converting journeys,"
                f" these have {len(on_conversions)}: use method='simplified'"
            )
        return _exact(paths, journey, code, on_conversions)
    raise ValueError("method must be auto, exact or simplified")


def _distinct_pairs(paths: Paths) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(journey, channel code) once per channel of each converting journey."""
    channels = len(paths.channels)
    journey = paths.journey_of_touch
    converting = paths.converted[journey]
    keys = np.unique(journey[converting] * channels + paths.codes[converting])
    return keys // max(channels, 1), keys % max(channels, 1)


def _simplified(
    paths: Paths, journey: NDArray[np.int64], code: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    channels = len(paths.channels)
    distinct = np.bincount(journey, minlength=paths.journeys)
    share = 1.0 / distinct[journey]
    conversions = np.bincount(code, weights=share, minlength=channels)
    value = np.bincount(code, weights=share * paths.value[journey], minlength=channels)
    return conversions.astype(np.float64), value.astype(np.float64)


def _exact(
    paths: Paths,
    journey: NDArray[np.int64],
    code: NDArray[np.int64],
    players: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    channels = len(paths.channels)
    n = len(players)
    conversions = np.zeros(channels)
    value = np.zeros(channels)
    if n == 0:
        return conversions, value
    bit = np.zeros(channels, np.int64)
    bit[players] = 1 << np.arange(n, dtype=np.int64)
    masks = np.zeros(paths.journeys, np.int64)
    np.bitwise_or.at(masks, journey, bit[code])
    converting = np.flatnonzero(paths.converted)
    size = 1 << n
    # Row 0: conversions, row 1: value, of the journeys whose channel set is exactly the mask.
    worth = np.stack(
        [
            np.bincount(masks[converting], minlength=size).astype(np.float64),
            np.bincount(masks[converting], weights=paths.value[converting], minlength=size).astype(
                np.float64
            ),
        ]
    )
    for player in range(n):  # subset sums: worth[S] becomes the sum over T within S
        view = worth.reshape(2, -1, 2, 1 << player)
        view[:, :, 1, :] += view[:, :, 0, :]
    population = np.zeros(size, np.int64)
    for player in range(n):
        population += (np.arange(size) >> player) & 1
    weight = np.array(
        [factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)], np.float64
    )
    for player in range(n):
        view = worth.reshape(2, -1, 2, 1 << player)
        without = population.reshape(-1, 2, 1 << player)[:, 0, :]
        gains = (view[:, :, 1, :] - view[:, :, 0, :]) * weight[without]
        conversions[players[player]], value[players[player]] = gains.sum(axis=(1, 2))
    return conversions, value
