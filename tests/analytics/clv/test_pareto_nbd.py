"""Pareto/NBD: the published CDNOW estimates from the raw purchases, a finite likelihood, and
predictions that behave."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.analytics.clv import (
    NotFittable,
    ParetoNbdParams,
    Rfm,
    customer_lifetime_value,
    fit_gamma_gamma,
    fit_pareto_nbd,
    rfm_from_transactions,
    validate_holdout,
)
from tessera.analytics.clv.pareto_nbd import (
    conditional_expected_purchases,
    log_likelihood,
    probability_alive,
)
from tests.analytics.clv.conftest import Transactions

CDNOW = ParetoNbdParams(r=0.553, alpha=10.578, s=0.606, beta=11.669)


def test_cdnow_reproduces_the_published_estimates(cdnow: Transactions) -> None:
    """Calibrated to 1997-09-30 in weeks: r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67 and
    a log-likelihood of -9595.0 (Fader, Hardie & Lee 2005)."""
    rfm = rfm_from_transactions(cdnow.customer_ids, cdnow.dates, cdnow.values, "1997-09-30")

    fit = fit_pareto_nbd(rfm)

    estimate = fit.params
    assert (
        round(estimate.r, 2),
        round(estimate.alpha, 2),
        round(estimate.s, 2),
        round(estimate.beta, 2),
    ) == (0.55, 10.58, 0.61, 11.67)
    assert round(fit.log_likelihood, 1) == -9595.0
    assert np.all(np.isfinite(fit.standard_errors.as_array()))


def test_predictions_behave_at_the_edges() -> None:
    """A customer who bought at T is alive for sure, one silent since may not be; no time, no
    purchases; s exactly 1 takes the logarithmic limit, continuous with s near 1."""
    alive = probability_alive(CDNOW, [3, 3], [38.86, 5.0], [38.86, 38.86])
    nothing = conditional_expected_purchases(CDNOW, 0.0, 3, 5.0, 38.86)
    near = [
        conditional_expected_purchases(ParetoNbdParams(0.5, 10.0, s, 12.0), 39.0, 2, 30.0, 38.0)
        for s in (1.0 - 1e-9, 1.0, 1.0 + 1e-9)
    ]

    assert alive[0] == 1.0
    assert 0 < alive[1] < 1
    assert nothing.tolist() == [0.0]
    assert np.allclose(near[0], near[1], rtol=1e-7) and np.allclose(near[2], near[1], rtol=1e-7)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 100), st.floats(0.0, 1.0), st.floats(0.01, 500.0)),
        min_size=1,
        max_size=10,
    ),
    st.tuples(*[st.floats(min_value=-4.0, max_value=4.0)] * 4),
)
def test_the_log_likelihood_is_finite_for_any_valid_history(
    rows: list[tuple[int, float, float]], log_params: tuple[float, ...]
) -> None:
    """For parameters from e^-4 to e^4, on both sides of alpha = beta, the log-likelihood is a
    finite number."""
    x = np.array([row[0] for row in rows], dtype=np.float64)
    T = np.array([row[2] for row in rows])
    t_x = np.where(x > 0, np.array([row[1] for row in rows]) * T, 0.0)

    ll = log_likelihood(ParetoNbdParams(*np.exp(log_params)), x, t_x, T)

    assert np.isfinite(ll)


def test_a_history_without_repeat_buyers_is_refused() -> None:
    """No repeat buyer: refused like BG/NBD."""
    with pytest.raises(NotFittable, match="nobody bought twice"):
        fit_pareto_nbd(Rfm.from_summary([0, 0], [0.0, 0.0], [3.0, 4.0]))


def test_lifetime_value_and_holdout_take_a_pareto_nbd_fit(cdnow: Transactions) -> None:
    """Pareto/NBD stands in for BG/NBD in lifetime value and holdout validation; on CDNOW the
    two models' holdout totals differ by under 2 %."""
    rfm = rfm_from_transactions(cdnow.customer_ids, cdnow.dates, cdnow.values, "1997-09-30")
    pareto = fit_pareto_nbd(rfm)
    args = (cdnow.customer_ids, cdnow.dates, cdnow.values, "1997-09-30", "1998-06-30")

    values = customer_lifetime_value(pareto, fit_gamma_gamma(rfm), rfm, months=12)
    with_pareto = validate_holdout(*args, fit=pareto)
    with_bgnbd = validate_holdout(*args)

    assert np.all(values >= 0) and values.shape == (2357,)
    assert with_pareto.actual_total == with_bgnbd.actual_total == 1882
    gap = abs(with_pareto.predicted_total - with_bgnbd.predicted_total)
    assert gap < 0.02 * with_bgnbd.predicted_total
