"""BG/NBD: Fader, Hardie & Lee's CDNOW estimates from the raw purchases, a likelihood that
stays finite and a gradient that is the likelihood's, and refusals of what cannot be fitted."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from tessera.analytics.clv import (
    BgNbdParams,
    NotFittable,
    Rfm,
    conditional_expected_purchases,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
    rfm_from_transactions,
)
from tessera.analytics.clv.bgnbd import log_likelihood, log_likelihood_gradient
from tests.analytics.clv.conftest import Transactions

CDNOW = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


def test_cdnow_reproduces_the_published_estimates(cdnow: Transactions) -> None:
    """Calibrated to 1997-09-30 in weeks (days / 7): r = 0.243, alpha = 4.414, a = 0.793,
    b = 2.426 and a log-likelihood of -9582.4, as in FHL 2005."""
    rfm = rfm_from_transactions(cdnow.customer_ids, cdnow.dates, cdnow.values, "1997-09-30")

    fit = fit_bgnbd(rfm)

    estimate = fit.params
    assert (
        round(estimate.r, 3),
        round(estimate.alpha, 3),
        round(estimate.a, 3),
        round(estimate.b, 3),
    ) == (0.243, 4.414, 0.793, 2.426)
    assert round(fit.log_likelihood, 1) == -9582.4
    assert (fit.customers, fit.distinct_rows) == (2357, 1016)
    errors = fit.standard_errors
    assert (round(errors.r, 4), round(errors.alpha, 3), round(errors.a, 3), round(errors.b, 3)) == (
        0.0126,
        0.378,
        0.186,
        0.705,
    )


def test_a_fit_from_a_far_start_reaches_the_same_maximum(cdnow: Transactions) -> None:
    """Started a hundredfold away from the optimum, the fit ends where it ends from the default."""
    rfm = rfm_from_transactions(cdnow.customer_ids, cdnow.dates, cdnow.values, "1997-09-30")

    far = fit_bgnbd(rfm, initial=BgNbdParams(r=20.0, alpha=0.05, a=50.0, b=0.02))

    assert np.allclose(far.params.as_array(), fit_bgnbd(rfm).params.as_array(), rtol=1e-4)


def test_the_published_conditional_expectation() -> None:
    """A customer with x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226 purchases in
    the next 39 weeks (FHL 2005, section 5)."""
    expected = conditional_expected_purchases(CDNOW, 39.0, 2, 30.43, 38.86)

    assert round(float(expected[0]), 3) == 1.226


def test_euler_transformed_expectation_equals_the_textbook_formula() -> None:
    """Where the textbook formula can be evaluated, the stable form gives the same numbers."""
    r, alpha, a, b = CDNOW.as_array()
    x = np.array([0.0, 1.0, 3.0, 10.0, 25.0])
    t_x = np.array([0.0, 5.0, 20.0, 30.0, 38.0])
    T, t = 38.86, 52.0
    z = t / (alpha + T + t)
    textbook = (
        (a + b + x - 1)
        / (a - 1)
        * (
            1
            - ((alpha + T) / (alpha + T + t)) ** (r + x)
            * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        )
        / (1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    )

    stable = conditional_expected_purchases(CDNOW, t, x, t_x, T)

    assert np.allclose(stable, textbook, rtol=1e-9)


def test_heavy_buyers_get_finite_predictions() -> None:
    """At x = 1,000,000 the textbook terms are inf and 0; a customer who bought that often
    until now is surely alive and expected to go on near their own rate (r + x) / (alpha + T),
    a little below it for the chance of dropping out."""
    horizon, x, T = 10.0, 1_000_000, 100.0

    stable = conditional_expected_purchases(CDNOW, horizon, x, T, T)

    own_rate = (CDNOW.r + x) / (CDNOW.alpha + T)
    assert 0.95 * own_rate * horizon < stable[0] < own_rate * horizon
    assert probability_alive(CDNOW, x, T, T)[0] > 0.9999


def test_expected_purchases_grow_from_zero_and_one_time_buyers_are_alive() -> None:
    """A new customer expects nothing in no time and more in more time; a one-time buyer is
    alive for sure (dropout follows a repeat purchase); a repeat buyer silent for long is not."""
    grows = expected_purchases(CDNOW, [0.0, 1.0, 39.0, 78.0])

    assert grows[0] == 0.0
    assert np.all(np.diff(grows) > 0)
    assert probability_alive(CDNOW, 0, 0.0, 38.86)[0] == 1.0
    silent = probability_alive(CDNOW, 3, 2.0, [10.0, 38.86])
    assert 0 < silent[1] < silent[0] < 1


histories = st.integers(min_value=0, max_value=300).flatmap(
    lambda x: st.tuples(
        st.just(x),
        st.floats(min_value=0.0, max_value=1.0),
        st.floats(min_value=0.0, max_value=2000.0),
    )
)
parameters = st.tuples(*[st.floats(min_value=-6.0, max_value=6.0)] * 4)


def _columns(rows: list[tuple[int, float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([row[0] for row in rows], dtype=np.float64)
    T = np.array([row[2] for row in rows])
    t_x = np.where(x > 0, np.array([row[1] for row in rows]) * T, 0.0)
    return x, t_x, T


@settings(max_examples=100, deadline=None)
@given(st.lists(histories, min_size=1, max_size=20), parameters)
def test_the_log_likelihood_is_finite_for_any_valid_history(
    rows: list[tuple[int, float, float]], log_params: tuple[float, ...]
) -> None:
    """For parameters from e^-6 to e^6 and histories up to 300 repeat purchases and ages up to
    2,000, the log-likelihood and its gradient are finite numbers."""
    x, t_x, T = _columns(rows)
    params = BgNbdParams(*np.exp(log_params))

    ll = log_likelihood(params, x, t_x, T)

    assert np.isfinite(ll)
    assert np.all(np.isfinite(log_likelihood_gradient(params, x, t_x, T)))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(histories, min_size=1, max_size=10),
    st.tuples(*[st.floats(min_value=-2.0, max_value=2.0)] * 4),
)
def test_the_gradient_is_the_derivative_of_the_log_likelihood(
    rows: list[tuple[int, float, float]], log_params: tuple[float, ...]
) -> None:
    """Each analytic partial derivative matches a central finite difference."""
    x, t_x, T = _columns(rows)
    point = np.exp(np.array(log_params))

    analytic = log_likelihood_gradient(BgNbdParams(*point), x, t_x, T)

    for i in range(4):
        step = 1e-6 * point[i]
        up, down = point.copy(), point.copy()
        up[i] += step
        down[i] -= step
        numeric = (
            log_likelihood(BgNbdParams(*up), x, t_x, T)
            - log_likelihood(BgNbdParams(*down), x, t_x, T)
        ) / (2 * step)
        assert analytic[i] == pytest.approx(numeric, rel=1e-4, abs=1e-4 * (1 + abs(numeric)))


@pytest.mark.parametrize(
    ("rfm", "message"),
    [
        (Rfm.from_summary([3], [20.0], [30.0]), "at least 2 customers, got 1"),
        (Rfm.from_summary([0, 0, 0], [0.0, 0.0, 0.0], [5.0, 9.0, 30.0]), "nobody bought twice"),
        (Rfm.from_summary([], [], []), "at least 2 customers, got 0"),
    ],
)
def test_a_history_that_cannot_identify_the_model_is_refused(rfm: Rfm, message: str) -> None:
    """One customer, or no repeat buyer, is refused with a reason rather than fitted."""
    with pytest.raises(NotFittable, match=message):
        fit_bgnbd(rfm)


def test_a_maximum_at_the_edge_is_refused_naming_the_parameter() -> None:
    """When everyone buys every week and is still buying, nobody ever drops out: the likelihood
    grows as b goes to infinity, and the fit says so instead of returning a huge b."""
    T = np.arange(10.0, 50.0)
    rfm = Rfm.from_summary(T.astype(int), T, T)

    with pytest.raises(NotFittable, match=r"at 0 or infinity"):
        fit_bgnbd(rfm)
