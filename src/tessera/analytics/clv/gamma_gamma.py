"""The Gamma-Gamma model of spend per purchase (Fader & Hardie 2013, after Colombo & Jiang
1999), and customer lifetime value from it and BG/NBD.

A customer's purchase values are Gamma(p, nu) with a rate nu ~ Gamma(q, gamma) across
customers, so the mean of a customer's ``x`` repeat purchases ``m`` is Gamma(p x, nu x). It is
fitted on repeat buyers only (their repeat purchases, as ``rfm`` summarises them), by maximum
likelihood over log-parameters with the analytic gradient, standard errors as in ``bgnbd``.

It assumes that spend per purchase does not depend on how often a customer buys; the fit
reports the correlation of frequency and mean value among repeat buyers so a caller can see
when that is far from true (CDNOW: 0.11).

Lifetime value is the discounted sum, over months 1..n, of the expected purchases in that
month (BG/NBD's conditional expectation at the month's end minus at its start) times the
expected value of a purchase (Gamma-Gamma's conditional mean), discounted by
``(1 + monthly rate)^month`` -- a purchase counts as made at the end of its month. A month is
365.25 / 12 days in the summary's time unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from tessera.analytics.clv.bgnbd import (
    aggregate_rows,
    dot_product,
    maximise,
    standard_errors,
)
from tessera.analytics.clv.errors import InvalidHistory, NotFittable
from tessera.analytics.clv.rfm import FloatArray, PurchaseModel, Rfm

MIN_REPEAT_BUYERS = 2


@dataclass(frozen=True)
class GammaGammaParams:
    """Shape ``p`` of a customer's purchase values; Gamma(q, gamma) of their rates."""

    p: float
    q: float
    gamma: float

    def as_array(self) -> FloatArray:
        return np.array([self.p, self.q, self.gamma], dtype=np.float64)

    @property
    def mean_value(self) -> float:
        """The population's expected value of a purchase, ``p gamma / (q - 1)`` (needs q > 1)."""
        if self.q <= 1:
            raise NotFittable("q <= 1: the spend distribution has no finite mean")
        return self.p * self.gamma / (self.q - 1.0)


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    standard_errors: GammaGammaParams
    log_likelihood: float
    customers: int
    frequency_value_correlation: float

    def conditional_expected_value(self, rfm: Rfm) -> FloatArray:
        """Each customer's expected value of a future purchase given their history."""
        return conditional_expected_value(self.params, rfm.frequency, rfm.monetary)


@dataclass(frozen=True, eq=False)
class _Buyers:
    """Repeat buyers to fit, each counted ``weights`` times; the Gamma-function terms depend on
    x alone and are computed once per distinct x, with the total weight of its buyers."""

    x: FloatArray
    log_m: FloatArray
    m: FloatArray
    weights: FloatArray
    x_levels: FloatArray
    x_weights: FloatArray

    @classmethod
    def of(cls, x: FloatArray, m: FloatArray, weights: FloatArray | None = None) -> _Buyers:
        w = np.ones(len(x)) if weights is None else weights
        levels, inverse = np.unique(x, return_inverse=True)
        totals = np.bincount(inverse, weights=w, minlength=len(levels)).astype(np.float64)
        return cls(x, np.log(m), m, w, levels, totals)


def _totals(params: FloatArray, rows: _Buyers) -> tuple[float, FloatArray]:
    """The log-likelihood of the buyers' mean repeat values and its gradient in (p, q, gamma)."""
    p, q, gamma = params
    levels, level_weights, w, x = rows.x_levels, rows.x_weights, rows.weights, rows.x
    px_levels = p * levels
    psi = special.digamma(px_levels + q)
    log_levels = np.log(levels)
    by_x = (
        special.gammaln(px_levels + q)
        - special.gammaln(px_levels)
        - special.gammaln(q)
        + q * np.log(gamma)
        + px_levels * log_levels
    )
    total_value = gamma + rows.m * x
    log_total = np.log(total_value)
    px = p * x
    ll = dot_product(level_weights, by_x) + dot_product(
        w, (px - 1.0) * rows.log_m - (px + q) * log_total
    )
    grad = np.array(
        [
            dot_product(level_weights, levels * (psi - special.digamma(px_levels) + log_levels))
            + dot_product(w * x, rows.log_m - log_total),
            dot_product(level_weights, psi - special.digamma(q) + np.log(gamma))
            - dot_product(w, log_total),
            float(w.sum()) * q / gamma - dot_product(w, (px + q) / total_value),
        ]
    )
    return ll, grad


def log_likelihood(
    params: GammaGammaParams, frequency: npt.ArrayLike, monetary: npt.ArrayLike
) -> float:
    """The log-likelihood of repeat buyers' mean values (every ``frequency`` must be > 0)."""
    return _totals(params.as_array(), _Buyers.of(*_repeat_buyers(frequency, monetary)))[0]


def log_likelihood_gradient(
    params: GammaGammaParams, frequency: npt.ArrayLike, monetary: npt.ArrayLike
) -> FloatArray:
    """The gradient of ``log_likelihood`` with respect to (p, q, gamma)."""
    return _totals(params.as_array(), _Buyers.of(*_repeat_buyers(frequency, monetary)))[1]


def _repeat_buyers(
    frequency: npt.ArrayLike, monetary: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    if x.shape != m.shape or np.any(x <= 0) or np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise InvalidHistory("Gamma-Gamma reads repeat buyers: frequency > 0 and monetary > 0")
    return x, m


def fit_gamma_gamma(rfm: Rfm, *, initial: GammaGammaParams | None = None) -> GammaGammaFit:
    """Fit Gamma-Gamma by maximum likelihood to the repeat buyers of ``rfm`` whose repeat
    purchases were worth something (mean value > 0; free reorders carry no spend to model).

    Refuses (``NotFittable``) fewer than two such buyers, values that are all the same (the
    spread across customers is then not identified), and a maximum on the parameter bounds.
    """
    used = rfm.repeat_buyers & (rfm.monetary > 0)
    x = rfm.frequency[used].astype(np.float64)
    m = rfm.monetary[used]
    if len(x) < MIN_REPEAT_BUYERS:
        raise NotFittable(
            f"Gamma-Gamma needs at least {MIN_REPEAT_BUYERS} repeat buyers with a value, "
            f"got {len(x)}"
        )
    if np.all(m == m[0]):
        raise NotFittable("every repeat buyer's mean value is the same: nothing to fit")
    (x_rows, m_rows), weights = aggregate_rows(x, m)
    rows = _Buyers.of(x_rows, m_rows, weights)

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(theta)
        ll, grad = _totals(params, rows)
        return -ll / len(x), -grad * params / len(x)

    start = initial or GammaGammaParams(1.0, 1.0, float(np.mean(m)))
    theta, _ = maximise(objective, np.log(start.as_array()), ("p", "q", "gamma"))
    estimate = np.exp(theta)
    errors = standard_errors(lambda params: _totals(params, rows)[1], estimate)
    correlation = float(np.corrcoef(x, m)[0, 1]) if np.ptp(x) > 0 else float("nan")
    return GammaGammaFit(
        params=GammaGammaParams(*map(float, estimate)),
        standard_errors=GammaGammaParams(*map(float, errors)),
        log_likelihood=_totals(estimate, rows)[0],
        customers=len(x),
        frequency_value_correlation=correlation,
    )


def conditional_expected_value(
    params: GammaGammaParams, frequency: npt.ArrayLike, monetary: npt.ArrayLike
) -> FloatArray:
    """E[value of a purchase | x, m]: ``p (gamma + m x) / (p x + q - 1)``, a weighted mean of
    the population's mean and the customer's own, the weight on their own growing with ``x``.
    One-time buyers (x = 0) get the population's mean."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    if np.any(x < 0) or np.any(m < 0) or np.any(~np.isfinite(m)):
        raise InvalidHistory("frequency and monetary must not be negative")
    p, q, gamma = params.as_array()
    if q <= 1:
        raise NotFittable("q <= 1: the spend distribution has no finite mean")
    result: FloatArray = p * (gamma + m * x) / (p * x + q - 1.0)
    return result


def customer_lifetime_value(
    transactions: PurchaseModel,
    spend: GammaGammaFit,
    rfm: Rfm,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
) -> FloatArray:
    """Each customer's expected value of their purchases over the next ``months`` months after
    the calibration end, discounted at ``monthly_discount_rate`` (0.01 = 1 % a month), in the
    currency of ``rfm.monetary``; purchases come from ``transactions``, BG/NBD or Pareto/NBD.

    Refuses a negative horizon or rate, and models fitted on another time unit than ``rfm``.
    """
    if months < 0:
        raise InvalidHistory("months must not be negative")
    if not (monthly_discount_rate >= 0 and np.isfinite(monthly_discount_rate)):
        raise InvalidHistory("monthly_discount_rate must be a number, not negative")
    if transactions.unit_days != rfm.unit_days:
        raise InvalidHistory(
            f"the BG/NBD fit counts time in {transactions.unit_days}-day units, "
            f"the summary in {rfm.unit_days}-day units"
        )
    value = conditional_expected_value(spend.params, rfm.frequency, rfm.monetary)
    month_ends = np.arange(months + 1, dtype=np.float64) * rfm.periods_per_month
    cumulative = transactions.conditional_expected_purchases(month_ends[:, None], rfm)
    per_month = np.diff(cumulative, axis=0)
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, months + 1, dtype=np.float64)
    result: FloatArray = value * np.einsum("m,mi->i", discount, per_month)
    return result
