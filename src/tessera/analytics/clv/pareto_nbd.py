"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), the continuous-time ancestor of
BG/NBD: while alive, a customer buys at rate lambda ~ Gamma(r, alpha) and dies at an
exponential time of rate mu ~ Gamma(s, beta), independent of their purchases.

The likelihood follows Fader & Hardie's note "A Note on Deriving the Pareto/NBD Model and
Related Expressions" (2005): with k = r + s + x,

    L = Gamma(r+x) alpha^r beta^s / Gamma(r)
        * [ (alpha+T)^-(r+x) (beta+T)^-s + s/k * A0 ],
    A0 = F(t_x) - F(T),  F(u) = 2F1(k, c; k+1; d/(m+u)) / (m+u)^k,

where m = max(alpha, beta), d = |alpha - beta|, and c = s+1 when alpha >= beta, else r+x.
When alpha is far below beta and x is large, that 2F1 overflows (it grows like
(1-z)^(1-c) as z = d/(m+u) nears 1); Euler's transformation takes the growth out in closed
form, leaving 2F1(1, k+1-c; k+1; z), which is bounded for c > 1 and grows only like
(1-z)^(c-1) otherwise. Everything else is in logs (``A0`` as
``log F(t_x) + log1p(-F(T)/F(t_x))``, zero when the last purchase is at T).

The gradient is by central differences of the log-likelihood in the log-parameters (the
derivatives of 2F1 in its parameters have no closed form), which makes a fit several times
slower than BG/NBD's; standard errors as in ``bgnbd``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from tessera.analytics.clv.bgnbd import (
    MIN_CUSTOMERS,
    aggregate_rows,
    dot_product,
    maximise,
    standard_errors,
)
from tessera.analytics.clv.errors import NotFittable
from tessera.analytics.clv.rfm import FloatArray, Rfm, check_summary

STEP = 1e-6  # of a log-parameter, for the central differences
SERIES_TERMS = 100_000


@dataclass(frozen=True)
class ParetoNbdParams:
    """Gamma(r, alpha) purchase rates and Gamma(s, beta) death rates, per time unit."""

    r: float
    alpha: float
    s: float
    beta: float

    def as_array(self) -> FloatArray:
        return np.array([self.r, self.alpha, self.s, self.beta], dtype=np.float64)


@dataclass(frozen=True)
class ParetoNbdFit:
    params: ParetoNbdParams
    standard_errors: ParetoNbdParams
    log_likelihood: float
    customers: int
    distinct_rows: int
    unit_days: float

    def probability_alive(self, rfm: Rfm) -> FloatArray:
        """Each customer's probability of being alive at the calibration end."""
        return probability_alive(self.params, rfm.frequency, rfm.recency, rfm.T)

    def conditional_expected_purchases(self, t: npt.ArrayLike, rfm: Rfm) -> FloatArray:
        """Each customer's expected purchases in the ``t`` units after the calibration end."""
        return conditional_expected_purchases(self.params, t, rfm.frequency, rfm.recency, rfm.T)


def _log_rows(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per row: the log of the common factor, of the "alive at T" branch, and of ``s/k A0``."""
    r, alpha, s, beta = params
    k = r + s + x
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    top, low = max(alpha, beta), min(alpha, beta)
    c = s + 1.0 + 0.0 * x if alpha >= beta else r + x

    def log_f(u: FloatArray) -> FloatArray:
        # Euler: 2F1(k, c; k+1; z) = (1-z)^(1-c) 2F1(1, k+1-c; k+1; z), bounded by k / (c-1)
        # for c > 1, where the left side overflows when alpha << beta and many purchases.
        log_top = np.log(top + u)
        log_rest = np.log(low + u) - log_top  # log(1 - z)
        z = -np.expm1(log_rest)
        hyper = hyp2f1_one(k + 1.0 - c, k + 1.0, z)
        result: FloatArray = (1.0 - c) * log_rest + np.log(hyper) - k * log_top
        return result

    at_last, at_end = log_f(t_x), log_f(T)
    with np.errstate(divide="ignore"):
        log_a0 = at_last + np.log1p(-np.exp(np.minimum(at_end - at_last, 0.0)))
    died = np.log(s) - np.log(k) + log_a0
    return common, alive, died


def hyp2f1_one(b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """2F1(1, b; c; z) for 0 < b < c and 0 <= z < 1: SciPy's, and where SciPy returns inf or
    NaN (it does for z near 1 when c - b is large, e.g. 2F1(1, 1.02; 102; 0.98) = inf), the
    series itself, whose terms then fall off at least as fast as ((b+n)/(c+n)) z."""
    b, c, z = np.broadcast_arrays(b, c, z)
    result: FloatArray = np.array(special.hyp2f1(1.0, b, c, z), dtype=np.float64)
    failed = ~np.isfinite(result)
    if np.any(failed):
        fb, fc, fz = b[failed], c[failed], z[failed]
        term, total = np.ones(len(fb)), np.ones(len(fb))
        for n in range(SERIES_TERMS):
            term = term * (fb + n) / (fc + n) * fz
            total += term
            if np.all(term <= 1e-17 * total):
                break
        result[failed] = total
    return result


def log_likelihood(
    params: ParetoNbdParams,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> float:
    """The log-likelihood of the summary under ``params`` (each row counted ``weights`` times)."""
    x, t_x, age = (np.asarray(column, dtype=np.float64) for column in (frequency, recency, T))
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    common, alive, died = _log_rows(params.as_array(), x, t_x, age)
    return dot_product(w, common + np.logaddexp(alive, died))


def fit_pareto_nbd(rfm: Rfm, *, initial: ParetoNbdParams | None = None) -> ParetoNbdFit:
    """Fit Pareto/NBD by maximum likelihood to ``rfm``'s frequency, recency and age.

    Refuses (``NotFittable``) what ``fit_bgnbd`` refuses, for the same reasons.
    """
    if len(rfm) < MIN_CUSTOMERS:
        raise NotFittable(f"Pareto/NBD needs at least {MIN_CUSTOMERS} customers, got {len(rfm)}")
    if not np.any(rfm.repeat_buyers):
        raise NotFittable("Pareto/NBD needs at least one repeat buyer: nobody bought twice")
    (x, t_x, age), weights = aggregate_rows(rfm.frequency.astype(np.float64), rfm.recency, rfm.T)
    total = float(weights.sum())

    def mean_ll(theta: FloatArray) -> float:
        common, alive, died = _log_rows(np.exp(theta), x, t_x, age)
        return dot_product(weights, common + np.logaddexp(alive, died)) / total

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        grad = np.empty(4)
        for i in range(4):
            up, down = theta.copy(), theta.copy()
            up[i] += STEP
            down[i] -= STEP
            grad[i] = (mean_ll(up) - mean_ll(down)) / (2 * STEP)
        return -mean_ll(theta), -grad

    scale = max(float(np.mean(rfm.T)), 1e-3)
    start = initial or ParetoNbdParams(1.0, scale, 1.0, scale)
    theta, _ = maximise(objective, np.log(start.as_array()), ("r", "alpha", "s", "beta"))
    estimate = np.exp(theta)

    def gradient(params: FloatArray) -> FloatArray:
        # d/dp = d/dtheta / p, from the same central differences
        return -objective(np.log(params))[1] * total / params

    errors = standard_errors(gradient, estimate, relative_step=1e-4)
    return ParetoNbdFit(
        params=ParetoNbdParams(*map(float, estimate)),
        standard_errors=ParetoNbdParams(*map(float, errors)),
        log_likelihood=mean_ll(theta) * total,
        customers=len(rfm),
        distinct_rows=len(x),
        unit_days=rfm.unit_days,
    )


def probability_alive(
    params: ParetoNbdParams, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(alive at T | x, t_x, T) = 1 / (1 + s/k A0 (alpha+T)^(r+x) (beta+T)^s)."""
    x, t_x, age = _history(frequency, recency, T)
    _, alive, died = _log_rows(params.as_array(), x, t_x, age)
    result: FloatArray = special.expit(alive - died)
    return result


def conditional_expected_purchases(
    params: ParetoNbdParams,
    t: npt.ArrayLike,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """E[purchases in (T, T+t] | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1))
    * (1 - ((beta+T)/(beta+T+t))^(s-1)) * P(alive); written with ``expm1`` so that s near 1
    keeps its precision (the limit at s = 1 is the logarithm)."""
    x, t_x, age = _history(frequency, recency, T)
    horizon = np.asarray(t, dtype=np.float64)
    if np.any(horizon < 0) or np.any(~np.isfinite(horizon)):
        raise ValueError("t must be a finite number of periods, not negative")
    r, alpha, s, beta = params.as_array()
    log_ratio = np.log(beta + age + horizon) - np.log(beta + age)
    survival = log_ratio if s == 1.0 else -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
    rate = (r + x) * (beta + age) / (alpha + age)
    result: FloatArray = rate * survival * probability_alive(params, x, t_x, age)
    return result


def _history(
    frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    x, t_x, age = (
        np.atleast_1d(np.asarray(column, dtype=np.float64)) for column in (frequency, recency, T)
    )
    x, t_x, age = np.broadcast_arrays(x, t_x, age)
    check_summary(x, t_x, age)
    return x, t_x, age
