"""Markov chain attribution (Anderl, Becker, von Wangenheim & Schumann 2016), solved exactly.

The chain's states are ``start``, one state per observed sequence of the last ``order``
channels (1 to 3; a journey's first touches have shorter sequences: (a), (a, b), then
(a, b, c), (b, c, d)...), and two absorbing states, conversion and null. Transition
probabilities are the observed transition counts of all journeys, converting or not,
normalised per state. P(conversion) is the probability of absorption in conversion from
``start``: with Q the transient-to-transient block and b the transient-to-conversion column,
x = (I - Q)^-1 b, one sparse LU solve. Removing a channel sends every transition into a state
that contains it to null; its removal effect is 1 - P(conversion without it) / P(conversion).
Conversions are credited in proportion to these removal effects. Value the same way with the
expected value instead of P(conversion): each state passes on, per visit, the mean value of
the conversions that followed it, so a channel on the journeys to large orders earns more of
the value than of the conversions.

ChannelAttribution estimates the same quantities by simulating journeys through the chain, so
its figures move between seeds; these do not move at all. I - Q is invertible: every state was
seen in a journey that ended, so from every state absorption is reachable.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sparse
from numpy.typing import NDArray
from scipy.sparse.linalg import splu

from tessera.analytics.attribution.paths import Paths

MAX_ORDER = 3
# Keys below this are counted in an array of this size (8 bytes each) rather than sorted.
COMPACT_LIMIT = 1 << 22


class RemovalEffects(NamedTuple):
    """Each channel's removal effect (indexed by code) on the conversions and on the value."""

    conversions: NDArray[np.float64]
    value: NDArray[np.float64]


def removal_effects(paths: Paths, order: int = 1) -> RemovalEffects:
    """Each channel's removal effects; zeros when nothing converted (or nothing was worth
    anything, for value)."""
    if order not in range(1, MAX_ORDER + 1):
        raise ValueError(f"order must be 1 to {MAX_ORDER}")
    channels = len(paths.channels)
    effects = np.zeros((2, channels))
    if paths.total_conversions == 0:
        return RemovalEffects(effects[0], effects[1])
    state_of_touch, members = _states(paths, order)
    states = len(members) + 1  # state 0 is start
    conversion, null = states, states + 1
    lasts = paths.offsets[1:] - 1
    source = np.empty(len(paths.codes), np.int64)
    source[1:] = state_of_touch[:-1]
    source[paths.offsets[:-1]] = 0
    end = np.where(paths.converted, conversion, null)
    source = np.concatenate([source, state_of_touch[lasts]])
    target = np.concatenate([state_of_touch, end])
    pairs, weights = _compact(source * (states + 2) + target, (states + 2) ** 2)
    counts = sparse.csr_matrix(
        (weights.astype(np.float64), (pairs // (states + 2), pairs % (states + 2))),
        shape=(states + 2, states + 2),
    )
    outgoing = np.asarray(counts.sum(axis=1)).ravel()[:states]
    transient = (sparse.diags(1.0 / outgoing) @ counts[:states, :states]).tocsc()
    # Per visit of a state, the conversions and the value it passes straight to conversion:
    # solving for both gives P(conversion) and the expected value from each state.
    worth = np.zeros((states, 2))
    converting_lasts = state_of_touch[lasts[paths.converted]]
    np.add.at(worth[:, 0], converting_lasts, 1.0)
    np.add.at(worth[:, 1], converting_lasts, paths.value[paths.converted].astype(np.float64))
    worth /= outgoing[:, None]
    base = _absorption(transient, worth, np.ones(states, np.bool_))
    for code in range(channels):
        keep = np.ones(states, np.bool_)
        keep[1:] = ~(members == code).any(axis=1)
        left = _absorption(transient, worth, keep)
        for row in range(2):
            if base[row] > 0:
                effects[row, code] = 1.0 - left[row] / base[row]
    # A removal can only lose conversions or value; clip float noise below zero.
    effects = np.clip(effects, 0.0, None)
    return RemovalEffects(effects[0], effects[1])


def markov(paths: Paths, order: int = 1) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-channel shares of the conversions and of the value (each sums to 1, or is all zero
    when there is nothing to share)."""
    effects = removal_effects(paths, order)
    return _shares(effects.conversions), _shares(effects.value)


def _shares(effects: NDArray[np.float64]) -> NDArray[np.float64]:
    total = effects.sum()
    return effects / total if total > 0 else effects


def _states(paths: Paths, order: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each touch's state (1..S) and each state's channels, ``members[s - 1]``: ``order``
    codes, padded with -1 for the short sequences at a journey's start."""
    codes = paths.codes
    position = np.arange(len(codes)) - paths.offsets[:-1][paths.journey_of_touch]
    base = len(paths.channels) + 1
    key = np.zeros(len(codes), np.int64)
    for back in range(order):
        shifted = np.zeros(len(codes), np.int64)
        shifted[back:] = codes[: len(codes) - back] + 1
        key += np.where(position >= back, shifted, 0) * base**back
    bound = base**order
    unique, _ = _compact(key, bound)
    if bound <= COMPACT_LIMIT:
        lookup = np.zeros(bound, np.int64)
        lookup[unique] = np.arange(len(unique))
        state = lookup[key]
    else:
        state = np.searchsorted(unique, key)
    members = np.stack([(unique // base**back) % base - 1 for back in range(order)], axis=1)
    return state.astype(np.int64) + 1, members


def _compact(keys: NDArray[np.int64], bound: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The distinct keys (sorted) and how often each occurs: one counting pass when keys are
    below a small ``bound``, a sort otherwise."""
    if bound <= COMPACT_LIMIT:
        occurrences = np.bincount(keys, minlength=bound)
        distinct = np.flatnonzero(occurrences)
        return distinct.astype(np.int64), occurrences[distinct].astype(np.int64)
    distinct, occurrences = np.unique(keys, return_counts=True)
    return distinct.astype(np.int64), occurrences.astype(np.int64)


def _absorption(
    transient: sparse.csc_matrix, worth: NDArray[np.float64], keep: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """From start, P(conversion) and the expected value in the chain restricted to the
    ``keep`` states (start is state 0 and always kept): transitions into dropped states lead
    to null."""
    index = np.flatnonzero(keep)
    restricted = transient[index][:, index]
    system = (sparse.identity(len(index), format="csc") - restricted).tocsc()
    solution = splu(system).solve(np.ascontiguousarray(worth[index]))
    return np.asarray(solution[0], dtype=np.float64)
