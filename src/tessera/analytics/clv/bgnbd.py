"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"):
while alive, a customer buys as a Poisson process of rate lambda ~ Gamma(r, alpha); after each
repeat purchase, they drop out for good with probability p ~ Beta(a, b).

Fitted by maximum likelihood. What makes it dependable where peers need a penalizer:

- the likelihood is computed in logs throughout (``gammaln``, ``logaddexp`` for the sum of the
  two branches "still alive" and "dropped out after the last purchase"), so large frequencies
  or ages neither overflow nor underflow;
- the gradient is analytic (digamma terms, the branch weights from the same log-sum-exp), so
  L-BFGS-B takes exact steps rather than finite-difference ones;
- parameters are optimised as logs (positive by construction) inside wide bounds, and a
  maximum found on a bound is reported as not fittable instead of returned as an estimate;
- identical ``(x, t_x, T)`` rows are fitted once with a weight: with day-resolution data a
  million customers fold into about a hundred thousand rows; and the Gamma-function terms,
  which depend on x alone, are computed once per distinct x;
- SciPy's L-BFGS-B runs with BLAS limited to one thread (``maximise``).

Standard errors come from the inverse of the observed information (the Hessian of the negative
log-likelihood in the natural parameters, by central differences of the analytic gradient).

The conditional expectation needs Gauss's hypergeometric function at arguments close to 1 with
large parameters for heavy buyers, where ``2F1(r+x, b+x; a+b+x-1; z)`` overflows while the
factor ``(1-z)^(r+x)`` in front of it underflows. Euler's transformation folds the two into
``(1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``, whose series is tame for every ``x``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from tessera.analytics.clv.errors import NotFittable
from tessera.analytics.clv.rfm import FloatArray, Rfm, check_summary

LOG_BOUND = 15.0  # parameters between e^-15 and e^15 (3e-7 to 3.3e6)
MIN_CUSTOMERS = 2
CONVERGED_GRADIENT = 1e-5  # of the mean log-likelihood per customer, per log-parameter

Objective = Callable[[FloatArray], tuple[float, FloatArray]]
Gradient = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True)
class BgNbdParams:
    """Gamma(r, alpha) purchase rates (alpha in the summary's time unit); Beta(a, b) dropout."""

    r: float
    alpha: float
    a: float
    b: float

    def as_array(self) -> FloatArray:
        return np.array([self.r, self.alpha, self.a, self.b], dtype=np.float64)


@dataclass(frozen=True)
class BgNbdFit:
    """The maximum-likelihood estimate, its standard errors (NaN when the information matrix
    is not positive definite there) and what it was fitted on."""

    params: BgNbdParams
    standard_errors: BgNbdParams
    log_likelihood: float
    customers: int
    distinct_rows: int
    iterations: int
    unit_days: float

    def expected_purchases(self, t: npt.ArrayLike) -> FloatArray:
        """Repeat purchases a new customer makes in their first ``t`` units."""
        return expected_purchases(self.params, t)

    def probability_alive(self, rfm: Rfm) -> FloatArray:
        """Each customer's probability of still being a customer at the calibration end."""
        return probability_alive(self.params, rfm.frequency, rfm.recency, rfm.T)

    def conditional_expected_purchases(self, t: npt.ArrayLike, rfm: Rfm) -> FloatArray:
        """Each customer's expected purchases in the ``t`` units after the calibration end."""
        return conditional_expected_purchases(self.params, t, rfm.frequency, rfm.recency, rfm.T)


# -- likelihood -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Summary:
    """Rows to fit, each counted ``weights`` times, and the distinct frequencies with their
    total weight: the Gamma-function terms depend on x alone, so they are computed once per
    distinct x (a few hundred) instead of once per row."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weights: FloatArray
    x_levels: FloatArray
    x_weights: FloatArray

    @classmethod
    def of(
        cls, x: FloatArray, t_x: FloatArray, T: FloatArray, weights: FloatArray | None = None
    ) -> _Summary:
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        levels, inverse = np.unique(x, return_inverse=True)
        totals = np.bincount(inverse, weights=w, minlength=len(levels)).astype(np.float64)
        return cls(x, t_x, T, w, levels, totals)


def _totals(params: FloatArray, rows: _Summary) -> tuple[float, FloatArray]:
    """The log-likelihood of ``rows`` and its gradient in the natural parameters."""
    r, alpha, a, b = params
    x, t_x, T, w = rows.x, rows.t_x, rows.T, rows.weights
    levels, level_weights = rows.x_levels, rows.x_weights
    by_x = (
        special.gammaln(r + levels)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.gammaln(a + b)
        + special.gammaln(b + levels)
        - special.gammaln(b)
        - special.gammaln(a + b + levels)
    )
    repeat = x > 0
    b_x1 = np.where(repeat, b + x - 1.0, 1.0)  # b + x - 1 > 0 whenever it is used
    log_alpha_T = np.log(alpha + T)
    log_alpha_tx = np.log(alpha + t_x)
    alive = -(r + x) * log_alpha_T
    dropped = np.where(repeat, np.log(a) - np.log(b_x1) - (r + x) * log_alpha_tx, -np.inf)
    branches = np.logaddexp(alive, dropped)
    w_alive = w * np.exp(alive - branches)
    w_dropped = w * np.exp(dropped - branches)

    psi_ab_x = special.digamma(a + b) - special.digamma(a + b + levels)
    grad = np.array(
        [
            dot_product(
                level_weights, special.digamma(r + levels) - special.digamma(r) + np.log(alpha)
            )
            - dot_product(w_alive, log_alpha_T)
            - dot_product(w_dropped, log_alpha_tx),
            float(w.sum()) * r / alpha
            - dot_product(r + x, w_alive / (alpha + T) + w_dropped / (alpha + t_x)),
            dot_product(level_weights, psi_ab_x) + float(w_dropped.sum()) / a,
            dot_product(level_weights, psi_ab_x + special.digamma(b + levels) - special.digamma(b))
            - dot_product(w_dropped, 1.0 / b_x1),
        ]
    )
    return dot_product(level_weights, by_x) + dot_product(w, branches), grad


def dot_product(left: FloatArray, right: FloatArray) -> float:
    """A dot product without BLAS (see ``maximise``)."""
    return float(np.einsum("i,i->", left, right))


def _columns(
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None,
) -> _Summary:
    x, t_x, age = (np.asarray(column, dtype=np.float64) for column in (frequency, recency, T))
    return _Summary.of(x, t_x, age, None if weights is None else np.asarray(weights, np.float64))


def log_likelihood(
    params: BgNbdParams,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> float:
    """The log-likelihood of the summary under ``params`` (each row counted ``weights`` times)."""
    return _totals(params.as_array(), _columns(frequency, recency, T, weights))[0]


def log_likelihood_gradient(
    params: BgNbdParams,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> FloatArray:
    """The gradient of ``log_likelihood`` with respect to (r, alpha, a, b)."""
    return _totals(params.as_array(), _columns(frequency, recency, T, weights))[1]


# -- fitting --------------------------------------------------------------------------------


def distinct_rows(*columns: FloatArray) -> tuple[tuple[FloatArray, ...], npt.NDArray[np.intp]]:
    """The distinct rows of ``columns`` (sorted) and, for every row, the index of its distinct
    row: one sort, for columns of at least one row."""
    order = np.lexsort(columns[::-1])
    sorted_columns = [column[order] for column in columns]
    new = np.zeros(len(order), dtype=bool)
    new[0] = True
    for column in sorted_columns:
        new[1:] |= column[1:] != column[:-1]
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    return tuple(column[starts] for column in sorted_columns), inverse


def aggregate_rows(*columns: FloatArray) -> tuple[tuple[FloatArray, ...], FloatArray]:
    """The distinct rows of ``columns`` and how many times each occurs."""
    distinct, inverse = distinct_rows(*columns)
    counts = np.bincount(inverse, minlength=len(distinct[0])).astype(np.float64)
    return distinct, counts


def fit_bgnbd(rfm: Rfm, *, initial: BgNbdParams | None = None) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood to ``rfm``'s frequency, recency and age.

    Refuses (``NotFittable``) fewer than two customers, a history without a single repeat
    buyer (the dropout process is then not identified), and a maximum on the parameter bounds
    (the data push a parameter to 0 or infinity: say so rather than return it).
    """
    if len(rfm) < MIN_CUSTOMERS:
        raise NotFittable(f"BG/NBD needs at least {MIN_CUSTOMERS} customers, got {len(rfm)}")
    if not np.any(rfm.repeat_buyers):
        raise NotFittable("BG/NBD needs at least one repeat buyer: nobody bought twice")
    (x, t_x, age), weights = aggregate_rows(rfm.frequency.astype(np.float64), rfm.recency, rfm.T)
    rows = _Summary.of(x, t_x, age, weights)
    total = float(weights.sum())

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(theta)
        ll, grad = _totals(params, rows)
        return -ll / total, -grad * params / total

    start = initial or BgNbdParams(1.0, max(float(np.mean(rfm.T)), 1e-3), 1.0, 1.0)
    theta, iterations = maximise(objective, np.log(start.as_array()), ("r", "alpha", "a", "b"))
    estimate = np.exp(theta)
    errors = standard_errors(lambda params: _totals(params, rows)[1], estimate)
    ll_total = _totals(estimate, rows)[0]
    return BgNbdFit(
        params=BgNbdParams(*map(float, estimate)),
        standard_errors=BgNbdParams(*map(float, errors)),
        log_likelihood=ll_total,
        customers=len(rfm),
        distinct_rows=len(x),
        iterations=iterations,
        unit_days=rfm.unit_days,
    )


def maximise(
    objective: Objective, theta0: FloatArray, names: tuple[str, ...]
) -> tuple[FloatArray, int]:
    """Minimise ``objective`` (a mean negative log-likelihood and its gradient, over
    log-parameters) inside the bounds; return the minimiser and the iterations taken.

    A line search that stops for want of floating-point progress at a point whose gradient is
    already negligible is a converged fit, not a failure."""
    # SciPy's L-BFGS-B makes a few tiny BLAS calls per iteration; OpenBLAS wakes its threads
    # for each, which made the fit 5-6x slower on a busy 2-core machine. One thread is
    # faster for problems of four parameters (the limit is restored on exit).
    with threadpool_limits(limits=1, user_api="blas"):
        result = optimize.minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(theta0),
            options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
        )
    theta = np.asarray(result.x, dtype=np.float64)
    if not np.all(np.isfinite(theta)) or not np.isfinite(result.fun):
        raise NotFittable(f"the likelihood could not be evaluated: {result.message}")
    on_bound = [
        name for name, value in zip(names, theta, strict=True) if abs(value) > 0.999 * LOG_BOUND
    ]
    if on_bound:
        raise NotFittable(
            f"the likelihood is largest with {', '.join(on_bound)} at 0 or infinity: "
            "the history does not identify the model (too few customers or repeat buyers?)"
        )
    if not result.success and np.max(np.abs(result.jac)) > CONVERGED_GRADIENT:
        raise NotFittable(f"the fit did not converge: {result.message}")
    return theta, int(result.nit)


def standard_errors(
    gradient: Gradient, estimate: FloatArray, relative_step: float = 1e-5
) -> FloatArray:
    """Square roots of the diagonal of the inverse observed information at ``estimate``; the
    information is minus the Jacobian of the log-likelihood's ``gradient`` (central
    differences). NaN when it is not positive definite (not a strict maximum)."""
    size = len(estimate)
    hessian = np.empty((size, size))
    for i in range(size):
        step = relative_step * estimate[i]
        up, down = estimate.copy(), estimate.copy()
        up[i] += step
        down[i] -= step
        hessian[:, i] = (gradient(up) - gradient(down)) / (2 * step)
    information = -(hessian + hessian.T) / 2
    try:
        np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        return np.full(size, np.nan)
    return np.sqrt(np.diag(np.linalg.inv(information)))


# -- predictions ----------------------------------------------------------------------------


def probability_alive(
    params: BgNbdParams, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(still alive at T | x, t_x, T): 1 for one-time buyers (BG/NBD lets a customer drop out
    only after a repeat purchase), else ``1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``."""
    x, t_x, age = _history(frequency, recency, T)
    r, alpha, a, b = params.as_array()
    repeat = x > 0
    log_odds_dead = (
        np.log(a)
        - np.log(np.where(repeat, b + x - 1.0, 1.0))
        + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    )
    result: FloatArray = np.where(repeat, special.expit(-log_odds_dead), 1.0)
    return result


def conditional_expected_purchases(
    params: BgNbdParams,
    t: npt.ArrayLike,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005, eq. 10), broadcast over ``t`` and the
    history; with Euler's transformation of the hypergeometric term (see the module notes)."""
    x, t_x, age = _history(frequency, recency, T)
    horizon = np.asarray(t, dtype=np.float64)
    if np.any(horizon < 0) or np.any(~np.isfinite(horizon)):
        raise ValueError("t must be a finite number of periods, not negative")
    if x.ndim == 1 and x.size > 1 and horizon.ndim <= 2 and horizon.shape[-1:] in ((), (1,)):
        # one hypergeometric per distinct (x, T) and horizon, not per customer: with
        # day-resolution ages a million customers have a few thousand distinct pairs
        (x_rows, age_rows), inverse = distinct_rows(x, age)
        scaled = _scaled_bracket(params, horizon, x_rows, age_rows)[..., inverse]
    else:
        scaled = _scaled_bracket(params, horizon, x, age)
    result: FloatArray = scaled * probability_alive(params, x, t_x, age)
    return result


def _scaled_bracket(
    params: BgNbdParams, horizon: FloatArray, x: FloatArray, age: FloatArray
) -> FloatArray:
    """``(a+b+x-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)]``, z = t/(alpha+T+t)."""
    r, alpha, a, b = params.as_array()
    log_survive = np.log(alpha + age) - np.log(alpha + age + horizon)  # log(1 - z)
    z = -np.expm1(log_survive)
    c = a + b + x - 1.0
    hyper = special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
    # 1 - (1-z)^(a-1) F, written so that a close to 1 loses no precision
    bracket = -np.expm1((a - 1.0) * log_survive) - np.exp((a - 1.0) * log_survive) * (hyper - 1.0)
    result: FloatArray = c / (a - 1.0) * bracket
    return result


def expected_purchases(params: BgNbdParams, t: npt.ArrayLike) -> FloatArray:
    """E[X(t)]: repeat purchases of a customer in the ``t`` units after their first purchase
    (FHL 2005, eq. 9); the conditional expectation of a history with x = t_x = T = 0."""
    return conditional_expected_purchases(params, t, 0.0, 0.0, 0.0)


def _history(
    frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    x, t_x, age = (
        np.atleast_1d(np.asarray(column, dtype=np.float64)) for column in (frequency, recency, T)
    )
    x, t_x, age = np.broadcast_arrays(x, t_x, age)
    check_summary(x, t_x, age)
    return x, t_x, age
