"""Clustering scored pairs into entities, with a guard against weak chains."""

from __future__ import annotations

import numpy as np

from tessera.identity.match.engine import ScoredPairs, cluster


def _pairs(*scored: tuple[int, int, float]) -> ScoredPairs:
    left = np.asarray([a for a, _, _ in scored], dtype=np.int64)
    right = np.asarray([b for _, b, _ in scored], dtype=np.int64)
    probability = np.asarray([p for _, _, p in scored], dtype=np.float64)
    return ScoredPairs(
        left,
        right,
        np.zeros((len(scored), 0), dtype=np.int8),
        np.log2(probability / (1 - probability)),
        probability,
        np.zeros(len(scored), dtype=np.int8),
    )


def test_pairs_above_the_threshold_join_their_records_transitively():
    """0-1 and 1-2 make one entity; a pair below the threshold joins nothing; the label is
    the smallest row in the cluster."""
    pairs = _pairs((0, 1, 0.99), (1, 2, 0.97), (3, 4, 0.6), (5, 6, 0.999))

    labels = cluster(pairs, 8, 0.95)

    assert labels.tolist() == [0, 0, 0, 3, 4, 5, 5, 7]


def test_a_weak_chain_between_two_groups_is_cut():
    """J Smith ~ John Smith and J Smith ~ Jane Smith are strong, but every compared pair
    across the Johns and the Janes says no: the two groups stay apart."""
    johns, janes, initial = [0, 1, 2], [3, 4, 5], 6
    scored = [(a, b, 0.999) for a in johns for b in johns if a < b]
    scored += [(a, b, 0.999) for a in janes for b in janes if a < b]
    scored += [(2, initial, 0.96), (initial, 3, 0.97)]
    scored += [(a, b, 0.01) for a in johns for b in janes]

    guarded = cluster(_pairs(*scored), 7, 0.95)
    plain = cluster(_pairs(*scored), 7, 0.95, min_linkage=None)

    assert plain.tolist() == [0, 0, 0, 0, 0, 0, 0]
    assert guarded.tolist() == [0, 0, 0, 3, 3, 3, 3]


def test_a_group_with_mostly_agreeing_pairs_stays_whole():
    """One weak pair inside a group whose other compared pairs agree does not split it."""
    scored = [(0, 1, 0.99), (1, 2, 0.99), (0, 2, 0.4), (2, 3, 0.98), (1, 3, 0.97)]

    labels = cluster(_pairs(*scored), 4, 0.95)

    assert labels.tolist() == [0, 0, 0, 0]


def test_no_pairs_leave_every_record_alone():
    """Without pairs each record is its own entity."""
    assert cluster(_pairs(), 3, 0.9).tolist() == [0, 1, 2]
