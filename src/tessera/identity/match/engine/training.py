"""Learning m, u and the prior from a brand's own records, without labels.

- **u** (how often different people agree by chance) from pairs drawn at random: almost every
  random pair is two different people.
- **m** (how often one person's records agree) by expectation-maximisation on blocked pairs,
  one session per training blocking rule. A rule forces agreement on its own fields, so a
  session leaves those comparisons out and estimates the others; each comparison's m is the
  mean over the sessions that estimated it. As in Splink, u stays fixed during EM.
- **monotone weights**: each comparison's m is then adjusted (``monotone``) so that a closer
  level never weighs less than a farther one.
- **the prior** (the chance two random records are one person): one more EM pass over all
  candidate pairs, estimating only the share of matches among them, with each pair's own
  blocking-rule fields left out; the expected number of matches divided by all possible pairs.

EM runs on agreement patterns: the distinct rows of the levels matrix with their counts, so a
session over millions of pairs iterates over a few thousand rows. All of it is vectorised NumPy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tessera.identity.match.engine.blocking import KeyCoder, candidate_pairs
from tessera.identity.match.engine.comparisons import Comparison
from tessera.identity.match.engine.model import (
    ComparisonParameters,
    MatchModel,
    TrainingReport,
    TrainingSession,
    comparison_levels,
)
from tessera.identity.match.engine.records import RecordTable
from tessera.identity.match.engine.settings import MatchSettings

_FLOOR = 1e-6
_MIN_EVIDENCE = 10.0  # expected matching pairs a session needs to estimate a comparison's m
_LOGIT_LIMIT = 700.0


@dataclass(frozen=True, slots=True)
class EMResult:
    """Estimated parameters after expectation-maximisation."""

    m: tuple[NDArray[np.float64], ...]
    u: tuple[NDArray[np.float64], ...]
    prior: float
    iterations: int
    converged: bool
    evidence: tuple[float, ...]  # per comparison: expected matches with both values present


def agreement_patterns(
    levels: NDArray[np.int8], extra: NDArray[np.int8] | None = None
) -> tuple[NDArray[np.int8], NDArray[np.int64], NDArray[np.int8] | None]:
    """The distinct rows of a levels matrix and how often each occurs.

    ``extra`` (one small integer per row, such as the blocking rule) is kept apart in the rows.
    """
    columns = [levels[:, k].astype(np.int64) + 1 for k in range(levels.shape[1])]
    if extra is not None:
        columns.append(extra.astype(np.int64) + 1)
    radices = [int(column.max(initial=0)) + 1 for column in columns]
    if int(np.prod([float(r) for r in radices])) < 2**62:
        code = np.zeros(len(levels), dtype=np.int64)
        for column, radix in zip(columns, radices, strict=True):
            code = code * radix + column
        _, first, counts = np.unique(code, return_index=True, return_counts=True)
        rows = np.stack(columns, axis=1)[first]
    else:  # too many digits for one int64: sort whole rows instead
        rows, counts = np.unique(np.stack(columns, axis=1), axis=0, return_counts=True)
    patterns = (rows[:, : levels.shape[1]] - 1).astype(np.int8)
    kept = (rows[:, -1] - 1).astype(np.int8) if extra is not None else None
    return patterns, counts.astype(np.int64), kept


def _log_ratio(
    patterns: NDArray[np.int8],
    m: Sequence[NDArray[np.float64]],
    u: Sequence[NDArray[np.float64]],
    active: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """Per pattern (and per comparison) the natural-log likelihood ratio, 0 where inactive."""
    ratio = np.zeros(patterns.shape, dtype=np.float64)
    for k in range(patterns.shape[1]):
        table = np.r_[np.log(m[k]) - np.log(u[k]), 0.0]
        ratio[:, k] = table[patterns[:, k]]
    return np.asarray(ratio * active, dtype=np.float64)


def _normalised(counts: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float64]:
    total = counts.sum()
    if total <= 0:
        return np.full(len(counts), 1.0 / len(counts))
    probabilities = np.maximum(counts / total, _FLOOR)
    return np.asarray(probabilities / probabilities.sum(), dtype=np.float64)


def expectation_maximisation(
    patterns: NDArray[np.int8],
    counts: NDArray[np.int64],
    m: Sequence[NDArray[np.float64]],
    u: Sequence[NDArray[np.float64]],
    prior: float,
    *,
    active: NDArray[np.bool_] | None = None,
    estimate_m: bool = True,
    estimate_u: bool = False,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
) -> EMResult:
    """Fellegi-Sunter EM on agreement patterns (rows of levels, -1 missing) and their counts.

    ``active`` (one flag per comparison, or per pattern and comparison) says which comparisons
    enter the likelihood; inactive comparisons keep their m and u. Missing values add nothing.
    Iterates until no probability moves by more than ``tolerance``.
    """
    weights = counts.astype(np.float64)
    k_count = patterns.shape[1]
    mask = (
        np.ones(patterns.shape, dtype=np.bool_)
        if active is None
        else np.broadcast_to(active, patterns.shape)
    )
    estimated: NDArray[np.bool_] = np.asarray(mask.any(axis=0), dtype=np.bool_)
    m_now = [np.asarray(x, dtype=np.float64).copy() for x in m]
    u_now = [np.asarray(x, dtype=np.float64).copy() for x in u]
    converged = False
    iteration = 0
    evidence = [0.0] * k_count
    for iteration in range(1, max_iterations + 1):  # noqa: B007 (used after the loop)
        logit = np.log(prior / (1.0 - prior)) + _log_ratio(patterns, m_now, u_now, mask).sum(1)
        posterior = 1.0 / (1.0 + np.exp(-np.clip(logit, -_LOGIT_LIMIT, _LOGIT_LIMIT)))
        match_mass = weights * posterior
        other_mass = weights - match_mass
        new_prior = float(np.clip(match_mass.sum() / weights.sum(), _FLOOR, 1.0 - _FLOOR))
        change = abs(new_prior - prior)
        prior = new_prior
        for k in range(k_count):
            if not estimated[k]:
                continue
            present = (patterns[:, k] >= 0) & mask[:, k]
            evidence[k] = float(match_mass[present].sum())
            level_count = len(m_now[k])
            if estimate_m:
                new_m = _normalised(
                    np.bincount(
                        patterns[present, k], weights=match_mass[present], minlength=level_count
                    )
                )
                change = max(change, float(np.abs(new_m - m_now[k]).max()))
                m_now[k] = new_m
            if estimate_u:
                new_u = _normalised(
                    np.bincount(
                        patterns[present, k], weights=other_mass[present], minlength=level_count
                    )
                )
                change = max(change, float(np.abs(new_u - u_now[k]).max()))
                u_now[k] = new_u
        if change < tolerance:
            converged = True
            break
    return EMResult(tuple(m_now), tuple(u_now), prior, iteration, converged, tuple(evidence))


def monotone(m: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.float64]:
    """m adjusted so the levels' weights, log(m / u), never rise from a closer level to a
    farther one; u stays as it is.

    EM estimates each level's m from the pairs that fell in it: a level few matches reach (a
    nickname, a close spelling) gets a noisy m, and its weight can land below a farther
    level's, even below total disagreement. Evidence must not read that way: "bill" for
    "william" is not worse news than "bill" for "zebedee". Pool adjacent violators on the
    ratios: a run of levels out of order is merged into one pool whose ratio is sum(m) /
    sum(u) (the ratio of the merged level), and each level in it takes m = u * ratio. The
    pools keep their total m, so m still sums to one; levels in order are left alone.
    """
    pools: list[tuple[float, float, int]] = []  # (sum of m, sum of u, levels), closest first
    for pool in zip(m.tolist(), u.tolist(), itertools.repeat(1)):
        while pools and pools[-1][0] * pool[1] < pool[0] * pools[-1][1]:
            closer = pools.pop()
            pool = (closer[0] + pool[0], closer[1] + pool[1], closer[2] + pool[2])
        pools.append(pool)
    sizes = [n for *_, n in pools]
    ratios = np.repeat([total_m / total_u for total_m, total_u, _ in pools], sizes)
    alone = np.repeat([n == 1 for n in sizes], sizes)
    return np.asarray(np.where(alone, m, u * ratios), dtype=np.float64)


def starting_m(level_count: int) -> NDArray[np.float64]:
    """A neutral start for m: most matches agree exactly, a few at each looser level."""
    if level_count == 2:
        return np.asarray([0.9, 0.1])
    rest = 0.25 / (level_count - 2)
    return np.asarray([0.7] + [rest] * (level_count - 2) + [0.05])


def _level_distribution(levels: NDArray[np.int8], level_count: int) -> NDArray[np.float64]:
    """u from levels of random pairs: level shares among present values, smoothed by one count."""
    present = levels[levels >= 0]
    counts = np.bincount(present, minlength=level_count).astype(np.float64) + 1.0
    return np.asarray(counts / counts.sum(), dtype=np.float64)


def random_pairs(
    table: RecordTable, count: int, seed: int, *, link_only: bool
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``count`` pairs of distinct rows drawn uniformly at random (all pairs if fewer exist)."""
    size = len(table)
    rng = np.random.default_rng(seed)
    if size * (size - 1) // 2 <= count:
        left, right = np.triu_indices(size, 1)
        left, right = left.astype(np.int64), right.astype(np.int64)
    else:
        left = rng.integers(0, size, count, dtype=np.int64)
        right = rng.integers(0, size - 1, count, dtype=np.int64)
        right += right >= left
    if link_only and table.sources is not None:
        across = table.sources[left] != table.sources[right]
        left, right = left[across], right[across]
    return left, right


def _term_frequencies(table: RecordTable, comparison: Comparison) -> dict[str, float]:
    column = table.columns[comparison.field]
    codes = column.codes[column.codes >= 0]
    if len(codes) == 0:
        return {}
    counts = np.bincount(codes, minlength=len(column.values))
    total = float(counts.sum())
    return {value: float(n) / total for value, n in zip(column.values, counts, strict=True) if n}


def _possible_pairs(table: RecordTable, link_only: bool) -> float:
    size = len(table)
    if link_only and table.sources is not None:
        per_source = np.bincount(table.sources).astype(np.float64)
        return float((per_source.sum() ** 2 - (per_source**2).sum()) / 2.0)
    return size * (size - 1) / 2.0


def train(
    table: RecordTable,
    settings: MatchSettings,
    *,
    seed: int = 0,
    random_pair_count: int = 1_000_000,
    max_iterations: int = 200,
) -> MatchModel:
    """Estimate u, m and the prior from ``table`` (see the module docstring).

    Refuses a table with fewer than two records; the result is the same for the same table,
    settings and seed.
    """
    if len(table) < 2:
        raise ValueError("training needs at least two records")
    missing = [f for f in settings.fields if f not in table.columns]
    if missing:
        raise ValueError(f"the table has no column for {', '.join(missing)}")
    table.clean(settings.cleaners)
    comparisons = settings.comparisons
    level_counts = [c.level_count for c in comparisons]

    left, right = random_pairs(table, random_pair_count, seed, link_only=settings.link_only)
    random_levels = comparison_levels(comparisons, table, left, right)
    u = [_level_distribution(random_levels[:, k], n) for k, n in enumerate(level_counts)]

    coder = KeyCoder()
    candidates = candidate_pairs(
        table,
        settings.blocking,
        link_only=settings.link_only,
        max_block_size=settings.max_block_size,
        coder=coder,
    )
    levels = comparison_levels(comparisons, table, candidates.left, candidates.right)

    estimates: list[list[NDArray[np.float64]]] = [[] for _ in comparisons]
    sessions: list[TrainingSession] = []
    for rule in settings.training_rules:
        if rule in settings.blocking:
            keys, valid = coder.table_keys(table, rule)
            inside = (
                valid[candidates.left]
                & valid[candidates.right]
                & (keys[candidates.left] == keys[candidates.right])
            )
            session_levels = levels[inside]
        else:
            own = candidate_pairs(
                table,
                [rule],
                link_only=settings.link_only,
                max_block_size=settings.max_block_size,
            )
            session_levels = comparison_levels(comparisons, table, own.left, own.right)
        active = np.asarray([c.field not in rule.fields for c in comparisons], dtype=np.bool_)
        if len(session_levels) == 0 or not active.any():
            continue
        patterns, counts, _ = agreement_patterns(session_levels)
        result = expectation_maximisation(
            patterns,
            counts,
            [starting_m(n) for n in level_counts],
            u,
            0.1,
            active=active,
            max_iterations=max_iterations,
        )
        # A comparison counts as estimated only where enough matches had both values present:
        # with none, EM returns its input unchanged, which is no estimate at all.
        estimated = [k for k in np.flatnonzero(active) if result.evidence[k] >= _MIN_EVIDENCE]
        for k in estimated:
            estimates[k].append(result.m[k])
        sessions.append(
            TrainingSession(
                rule=rule.label,
                pairs=len(session_levels),
                iterations=result.iterations,
                prior=result.prior,
                estimated=tuple(comparisons[k].label for k in estimated),
            )
        )
    m = [
        monotone(_normalised(np.mean(found, axis=0)) if found else starting_m(n), uk)
        for found, n, uk in zip(estimates, level_counts, u, strict=True)
    ]

    prior = 1.0 / max(_possible_pairs(table, settings.link_only), 1.0)
    if len(candidates):
        rules = candidates.rule
        patterns, counts, pattern_rules = agreement_patterns(levels, rules)
        assert pattern_rules is not None
        excluded = np.asarray(
            [[c.field in rule.fields for c in comparisons] for rule in settings.blocking],
            dtype=np.bool_,
        )
        share = expectation_maximisation(
            patterns,
            counts,
            m,
            u,
            0.1,
            active=~excluded[pattern_rules],
            estimate_m=False,
            max_iterations=max_iterations,
        ).prior
        expected = share * len(candidates)
        prior = float(
            np.clip(expected / max(_possible_pairs(table, settings.link_only), 1.0), 1e-12, 0.5)
        )

    return MatchModel(
        settings=settings,
        prior=prior,
        parameters=tuple(
            ComparisonParameters(tuple(map(float, mk)), tuple(map(float, uk)))
            for mk, uk in zip(m, u, strict=True)
        ),
        term_frequencies={
            c.field: _term_frequencies(table, c) for c in comparisons if c.term_frequency
        },
        report=TrainingReport(
            records=len(table),
            random_pairs=len(left),
            candidate_pairs=len(candidates),
            sessions=tuple(sessions),
            untrained=tuple(
                c.label for c, found in zip(comparisons, estimates, strict=True) if not found
            ),
        ),
    )
