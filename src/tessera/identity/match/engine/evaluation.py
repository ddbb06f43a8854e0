"""Judging a matcher against labelled data: precision, recall and F1 of pairs and of clusters.

- **Pairwise**: the predicted pairs (scored at or above a threshold) against every pair of
  records that truly belong together.
- **Cluster (pairs within clusters)**: every pair of records placed in one predicted cluster,
  against every pair in one true cluster. Clustering adds the pairs it implies by transitivity,
  so this is the measure of the entities a brand would actually see.
- **B-cubed**: per record, the share of its predicted cluster that is truly its person
  (precision) and the share of its true person found in its cluster (recall), averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Scores:
    """Precision, recall and F1, with the counts behind them."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted: int
    actual: int


def _scores(true_positives: int, predicted: int, actual: int) -> Scores:
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, true_positives, predicted, actual)


def _pairs_within(labels: NDArray[np.int64]) -> int:
    _, sizes = np.unique(labels, return_counts=True)
    return int((sizes * (sizes - 1) // 2).sum())


def coded(labels: object) -> NDArray[np.int64]:
    """Any labels (strings, numbers) as integer codes, equal where the labels are equal."""
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    return np.asarray(codes.reshape(-1), dtype=np.int64)


def pairwise_scores(
    left: NDArray[np.int64], right: NDArray[np.int64], truth: NDArray[np.int64]
) -> Scores:
    """Predicted pairs (distinct, rows into ``truth``) against all truly matching pairs."""
    true_positives = int(np.count_nonzero(truth[left] == truth[right]))
    return _scores(true_positives, len(left), _pairs_within(truth))


def cluster_scores(predicted: NDArray[np.int64], truth: NDArray[np.int64]) -> Scores:
    """Pairs within predicted clusters against pairs within true clusters."""
    _, together = np.unique(np.stack([predicted, truth], axis=1), axis=0, return_counts=True)
    true_positives = int((together * (together - 1) // 2).sum())
    return _scores(true_positives, _pairs_within(predicted), _pairs_within(truth))


def bcubed_scores(predicted: NDArray[np.int64], truth: NDArray[np.int64]) -> Scores:
    """B-cubed precision and recall averaged over records (counts are of records)."""
    _, cell, together = np.unique(
        np.stack([predicted, truth], axis=1), axis=0, return_inverse=True, return_counts=True
    )
    _, predicted_at, predicted_size = np.unique(predicted, return_inverse=True, return_counts=True)
    _, truth_at, truth_size = np.unique(truth, return_inverse=True, return_counts=True)
    shared = together[cell.reshape(-1)].astype(np.float64)
    precision = float((shared / predicted_size[predicted_at.reshape(-1)]).mean())
    recall = float((shared / truth_size[truth_at.reshape(-1)]).mean())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, len(predicted), len(predicted), len(truth))
