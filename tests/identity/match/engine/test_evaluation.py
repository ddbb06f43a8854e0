"""Precision, recall and F1 of pairs, of pairs within clusters, and B-cubed."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.identity.match.engine import bcubed_scores, cluster_scores, pairwise_scores
from tessera.identity.match.engine.evaluation import coded

# Truth: {0, 1, 2} one person, {3, 4} another, {5} alone: 3 + 1 = 4 true pairs.
TRUTH = np.asarray([0, 0, 0, 1, 1, 2])


def test_pairwise_scores_count_predicted_pairs_against_all_true_pairs():
    """Two right pairs and one wrong out of four true pairs."""
    left, right = np.asarray([0, 3, 2]), np.asarray([1, 4, 5])

    scores = pairwise_scores(left, right, TRUTH)

    assert (scores.true_positives, scores.predicted, scores.actual) == (2, 3, 4)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(1 / 2)
    assert scores.f1 == pytest.approx(4 / 7)


def test_cluster_scores_count_every_pair_within_a_cluster():
    """Clusters {0,1}, {2,3,4}, {5}: pairs 0-1, 2-3, 2-4, 3-4; right are 0-1 and 3-4."""
    predicted = np.asarray([0, 0, 2, 2, 2, 5])

    scores = cluster_scores(predicted, TRUTH)

    assert (scores.true_positives, scores.predicted, scores.actual) == (2, 4, 4)
    assert scores.f1 == pytest.approx(0.5)


def test_bcubed_averages_each_records_share_of_its_cluster():
    """Per record: precision = |cluster ∩ person| / |cluster|, recall over |person|."""
    predicted = np.asarray([0, 0, 2, 2, 2, 5])

    scores = bcubed_scores(predicted, TRUTH)

    assert scores.precision == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3 + 1) / 6)
    assert scores.recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1 + 1) / 6)


def test_perfect_clusters_score_one_whatever_the_labels():
    """Labels are compared by grouping, not by value."""
    predicted = coded(np.asarray(["x", "x", "x", "b", "b", "q"]))

    assert cluster_scores(predicted, TRUTH).f1 == 1.0
    assert bcubed_scores(predicted, TRUTH).f1 == 1.0
