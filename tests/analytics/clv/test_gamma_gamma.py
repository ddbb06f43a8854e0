"""Gamma-Gamma spend: Fader & Hardie's CDNOW estimates from the raw purchases, its gradient,
its refusals, and lifetime value from both models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.analytics.clv import (
    GammaGammaParams,
    InvalidHistory,
    NotFittable,
    Rfm,
    conditional_expected_value,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
    rfm_from_transactions,
)
from tessera.analytics.clv.gamma_gamma import log_likelihood, log_likelihood_gradient
from tests.analytics.clv.conftest import Transactions


@pytest.fixture(scope="module")
def cdnow_rfm(cdnow: Transactions) -> Rfm:
    return rfm_from_transactions(cdnow.customer_ids, cdnow.dates, cdnow.values, "1997-09-30")


def test_cdnow_reproduces_the_published_estimates(cdnow_rfm: Rfm) -> None:
    """On CDNOW's 946 repeat buyers: p = 6.25, q = 3.74, gamma = 15.44 (Fader & Hardie 2013)."""
    fit = fit_gamma_gamma(cdnow_rfm)

    assert fit.customers == 946
    assert (round(fit.params.p, 2), round(fit.params.q, 2), round(fit.params.gamma, 2)) == (
        6.25,
        3.74,
        15.44,
    )
    assert round(fit.frequency_value_correlation, 2) == 0.11
    assert np.all(np.isfinite(fit.standard_errors.as_array()))


def test_the_expected_value_weighs_the_population_against_the_customer() -> None:
    """With p = 6, q = 4, gamma = 15 the population's mean is 30; one-time buyers get it, a
    customer with 3 repeats of mean 60 gets 6 (15 + 180) / (18 + 3) = 55.71."""
    params = GammaGammaParams(p=6.0, q=4.0, gamma=15.0)

    value = conditional_expected_value(params, [0, 3], [0.0, 60.0])

    assert params.mean_value == 30.0
    assert value.round(2).tolist() == [30.0, 55.71]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 200), st.floats(0.01, 10_000.0)), min_size=1, max_size=10),
    st.tuples(*[st.floats(min_value=-2.0, max_value=2.0)] * 3),
)
def test_the_gradient_is_the_derivative_of_the_log_likelihood(
    rows: list[tuple[int, float]], log_params: tuple[float, float, float]
) -> None:
    """Each analytic partial derivative matches a central finite difference, and both are finite."""
    x = np.array([row[0] for row in rows], dtype=np.float64)
    m = np.array([row[1] for row in rows])
    point = np.exp(np.array(log_params))

    analytic = log_likelihood_gradient(GammaGammaParams(*point), x, m)

    assert np.isfinite(log_likelihood(GammaGammaParams(*point), x, m))
    for i in range(3):
        step = 1e-6 * point[i]
        up, down = point.copy(), point.copy()
        up[i] += step
        down[i] -= step
        numeric = (
            log_likelihood(GammaGammaParams(*up), x, m)
            - log_likelihood(GammaGammaParams(*down), x, m)
        ) / (2 * step)
        assert analytic[i] == pytest.approx(numeric, rel=1e-4, abs=1e-4 * (1 + abs(numeric)))


@pytest.mark.parametrize(
    ("rfm", "message"),
    [
        (Rfm.from_summary([0, 0], [0.0, 0.0], [5.0, 9.0], [0.0, 0.0]), "got 0"),
        (Rfm.from_summary([2, 0], [3.0, 0.0], [5.0, 9.0], [20.0, 0.0]), "got 1"),
        (Rfm.from_summary([2, 1], [3.0, 1.0], [5.0, 9.0], [0.0, 0.0]), "got 0"),
        (Rfm.from_summary([2, 1, 4], [3.0, 1.0, 4.0], [5.0, 9.0, 9.0], [8.0] * 3), "the same"),
    ],
)
def test_spend_that_cannot_identify_the_model_is_refused(rfm: Rfm, message: str) -> None:
    """No repeat buyers, one, only free repeat purchases, or one value for all: refused."""
    with pytest.raises(NotFittable, match=message):
        fit_gamma_gamma(rfm)


def test_a_negative_value_is_refused() -> None:
    """A negative mean value is not a history: refused naming the column and the row."""
    with pytest.raises(InvalidHistory, match=r"monetary must not be negative \(row 1\)"):
        Rfm.from_summary([1, 1], [1.0, 1.0], [2.0, 2.0], [5.0, -5.0])


def test_lifetime_value_is_the_discounted_sum_of_monthly_purchases_times_value(
    cdnow_rfm: Rfm,
) -> None:
    """Undiscounted, a year's value is the expected value per purchase times the purchases
    expected in the next 365.25 days; discounting lowers it; no months, no value."""
    purchases, spend = fit_bgnbd(cdnow_rfm), fit_gamma_gamma(cdnow_rfm)
    year = 365.25 / 7

    undiscounted = customer_lifetime_value(
        purchases, spend, cdnow_rfm, months=12, monthly_discount_rate=0.0
    )
    discounted = customer_lifetime_value(purchases, spend, cdnow_rfm, months=12)
    nothing = customer_lifetime_value(purchases, spend, cdnow_rfm, months=0)

    expected = spend.conditional_expected_value(
        cdnow_rfm
    ) * purchases.conditional_expected_purchases(year, cdnow_rfm)
    assert np.allclose(undiscounted, expected, rtol=1e-12)
    assert np.all(discounted < undiscounted)
    assert round(float(discounted.sum()), 0) == 71550
    assert nothing.tolist() == [0.0] * len(cdnow_rfm)


def test_lifetime_value_refuses_a_negative_rate_and_mixed_time_units(cdnow_rfm: Rfm) -> None:
    """A negative discount rate, or a summary in days for a model fitted in weeks, is refused."""
    purchases, spend = fit_bgnbd(cdnow_rfm), fit_gamma_gamma(cdnow_rfm)
    in_days = Rfm.from_summary(
        cdnow_rfm.frequency, cdnow_rfm.recency * 7, cdnow_rfm.T * 7, cdnow_rfm.monetary, unit_days=1
    )

    with pytest.raises(InvalidHistory, match="monthly_discount_rate"):
        customer_lifetime_value(purchases, spend, cdnow_rfm, monthly_discount_rate=-0.1)
    with pytest.raises(InvalidHistory, match=r"7\.0-day units, the summary in 1"):
        customer_lifetime_value(purchases, spend, in_days)
