"""Clustering scored pairs into entities, guarded against weak chains.

Connected components over the pairs at or above a threshold is the usual answer, but one strong
pair can chain two different people's groups together ("J Smith" ~ "John Smith" ~ "Jane
Smith"), and the chain grows with every record. So each edge must reach the threshold, and a
component whose records also have compared pairs *below* the threshold is rebuilt edge by
edge, strongest first: two groups join only if the mean match probability over every pair
compared between them reaches ``min_linkage`` (average linkage, restricted to compared pairs).
Components with no weak internal pair (the great majority) are accepted as they are.

A record's label is the smallest row number in its cluster: deterministic, and stable when
unrelated records are added.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tessera.identity.match.engine.model import ScoredPairs


def _components(size: int, left: NDArray[np.int64], right: NDArray[np.int64]) -> NDArray[np.int64]:
    """Connected components by label propagation with pointer jumping; label = smallest row."""
    labels = np.arange(size, dtype=np.int64)
    if len(left) == 0:
        return labels
    while True:
        low = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        while True:  # point every row at its label's label until nothing moves
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


def _average_linkage(
    rows: NDArray[np.int64],
    left: NDArray[np.int64],
    right: NDArray[np.int64],
    probability: NDArray[np.float64],
    threshold: float,
    min_linkage: float,
) -> dict[int, int]:
    """Within one component: merge groups along strong pairs, strongest first, while the mean
    probability of all compared pairs between the two groups reaches ``min_linkage``."""
    parent = {int(r): int(r) for r in rows}
    members: dict[int, list[int]] = {int(r): [int(r)] for r in rows}
    between: dict[int, dict[int, list[float]]] = {int(r): {} for r in rows}
    for a, b, p in zip(left.tolist(), right.tolist(), probability.tolist(), strict=True):
        for x, y in ((a, b), (b, a)):
            link = between[x].setdefault(y, [0.0, 0.0])
            link[0] += p
            link[1] += 1.0

    def root(row: int) -> int:
        while parent[row] != row:
            parent[row] = parent[parent[row]]
            row = parent[row]
        return row

    order = np.argsort(-probability, kind="stable")
    for index in order.tolist():
        if probability[index] < threshold:
            break
        a, b = root(int(left[index])), root(int(right[index]))
        if a == b:
            continue
        total, count = between[a][b]
        if total / count < min_linkage:
            continue
        if len(members[a]) < len(members[b]):
            a, b = b, a
        parent[b] = a
        members[a] += members.pop(b)
        for other, (total, count) in between.pop(b).items():
            if other == a:
                continue
            link = between[a].setdefault(other, [0.0, 0.0])
            link[0] += total
            link[1] += count
            moved = between[other].pop(b)
            back = between[other].setdefault(a, [0.0, 0.0])
            back[0] += moved[0]
            back[1] += moved[1]
        del between[a][b]
    return {row: min(members[root(row)]) for row in parent}


def cluster(
    pairs: ScoredPairs,
    size: int,
    threshold: float,
    *,
    min_linkage: float | None = 0.5,
) -> NDArray[np.int64]:
    """Each of ``size`` rows' cluster label (the smallest row in its cluster).

    Pairs at or above ``threshold`` link records; ``min_linkage`` (None: plain connected
    components) is the guard described in the module docstring.
    """
    strong = pairs.probability >= threshold
    labels = _components(size, pairs.left[strong], pairs.right[strong])
    if min_linkage is None:
        return labels
    inside = labels[pairs.left] == labels[pairs.right]
    weak_inside = inside & ~strong
    suspect = np.unique(labels[pairs.left[weak_inside]])
    if len(suspect) == 0:
        return labels
    in_suspect = np.isin(labels, suspect)
    chosen = inside & in_suspect[pairs.left]
    left, right = pairs.left[chosen], pairs.right[chosen]
    probability = pairs.probability[chosen]
    component = labels[left]
    order = np.argsort(component, kind="stable")
    left, right, probability, component = (
        left[order],
        right[order],
        probability[order],
        component[order],
    )
    bounds = np.flatnonzero(np.r_[True, component[1:] != component[:-1], True])
    suspect_rows = np.flatnonzero(in_suspect)
    suspect_rows = suspect_rows[np.argsort(labels[suspect_rows], kind="stable")]
    row_bounds = np.flatnonzero(
        np.r_[True, labels[suspect_rows][1:] != labels[suspect_rows][:-1], True]
    )
    rows_of = {
        int(labels[suspect_rows[a]]): suspect_rows[a:b]
        for a, b in zip(row_bounds[:-1].tolist(), row_bounds[1:].tolist(), strict=True)
    }
    result = labels.copy()
    for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        relabelled = _average_linkage(
            rows_of[int(component[start])],
            left[start:end],
            right[start:end],
            probability[start:end],
            threshold,
            min_linkage,
        )
        for row, label in relabelled.items():
            result[row] = label
    return result
