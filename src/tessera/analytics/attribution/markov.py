"""Markov chain attribution (Anderl, Becker, von Wangenheim & Schumann 2016), solved exactly.

The chain's states are ``start``, one state per observed sequence of the last ``order``
channels (1 to 3; a journey's first touches have shorter sequences: (a), (a, b), then
(a, b, c), (b, c, d)...), and two absorbing states, conversion and null. Transition
probabilities are the observed transition counts of all journeys, converting or not,
normalised per state. P(conversion) is the probability of absorption in conversion from
``start``: with Q the transient-to-transient block and b the transient-to-conversion column,
x = (I - Q)^-1 b, one sparse LU solve. Removing a channel sends every transition into a state
that contains it to null; its removal effect is 1 - P(conversion without it) / P(conversion).
Credits are proportional to removal effects, for conversions and for value alike.

ChannelAttribution estimates the same quantities by simulating journeys through the chain, so
its figures move between seeds; these do not move at all. I - Q is invertible: every state was
seen in a journey that ended, so from every state absorption is reachable.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse  # type: ignore[import-untyped]
from numpy.typing import NDArray
from scipy.sparse.linalg import splu  # type: ignore[import-untyped]

from tessera.analytics.attribution.paths import Paths

MAX_ORDER = 3
# Keys below this are counted in an array of this size (8 bytes each) rather than sorted.
COMPACT_LIMIT = 1 << 22


def removal_effects(paths: Paths, order: int = 1) -> NDArray[np.float64]:
    """Each channel's removal effect (indexed by code); zeros when nothing converted."""
    if order not in range(1, MAX_ORDER + 1):
        raise ValueError(f"order must be 1 to {MAX_ORDER}")
    channels = len(paths.channels)
    effects = np.zeros(channels)
    if paths.total_conversions == 0:
        return effects
    state_of_touch, members = _states(paths, order)
    states = len(members) + 1  # state 0 is start
    conversion, null = states, states + 1
    firsts = paths.offsets[:-1]
    lasts = paths.offsets[1:] - 1
    source = np.empty(len(paths.codes), np.int64)
    source[1:] = state_of_touch[:-1]
    source[firsts] = 0
    target = state_of_touch
    end = np.where(paths.converted, conversion, null)
    source = np.concatenate([source, state_of_touch[lasts]])
    target = np.concatenate([target, end])
    pairs, weights = _compact(source * (states + 2) + target, (states + 2) ** 2)
    counts = sparse.csr_matrix(
        (weights.astype(np.float64), (pairs // (states + 2), pairs % (states + 2))),
        shape=(states + 2, states + 2),
    )
    outgoing = np.asarray(counts.sum(axis=1)).ravel()[:states]
    scale = sparse.diags(1.0 / outgoing)
    transient = (scale @ counts[:states, :states]).tocsc()
    to_conversion = np.asarray(scale @ counts[:states, [conversion]].toarray()).ravel()
    base = _absorption(transient, to_conversion, np.ones(states, np.bool_))
    if not base > 0:
        return effects
    for code in range(channels):
        keep = np.ones(states, np.bool_)
        keep[1:] = ~(members == code).any(axis=1)
        effects[code] = 1.0 - _absorption(transient, to_conversion, keep) / base
    # A removal can only lose conversions; clip float noise below zero.
    return np.clip(effects, 0.0, None)


def markov(paths: Paths, order: int = 1) -> NDArray[np.float64]:
    """Per-channel shares of the conversions (sum 1, or all zero when nothing converted)."""
    effects = removal_effects(paths, order)
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
    transient: sparse.csc_matrix, to_conversion: NDArray[np.float64], keep: NDArray[np.bool_]
) -> float:
    """P(conversion from start) in the chain restricted to the ``keep`` states (start is
    state 0 and always kept): transitions into dropped states lead to null."""
    index = np.flatnonzero(keep)
    restricted = transient[index][:, index]
    system = (sparse.identity(len(index), format="csc") - restricted).tocsc()
    solution = splu(system).solve(to_conversion[index])
    return float(solution[0])
