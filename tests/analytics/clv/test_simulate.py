"""Fits find the parameters histories were drawn from, within their standard errors."""

from __future__ import annotations

import numpy as np

from tessera.analytics.clv import BgNbdParams, GammaGammaParams, fit_bgnbd, fit_gamma_gamma
from tessera.analytics.clv.simulate import simulate_bgnbd

TRUTH = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
SPEND = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def test_estimates_recover_the_simulated_parameters_within_four_standard_errors() -> None:
    """From 30,000 simulated customers, every BG/NBD and Gamma-Gamma estimate lies within
    four of its standard errors of the value it was drawn with."""
    ages = np.random.default_rng(1).integers(189, 273, 30_000) / 7.0
    rfm = simulate_bgnbd(TRUTH, ages, seed=2, spend=SPEND)

    purchases, spend = fit_bgnbd(rfm), fit_gamma_gamma(rfm)

    for fit, truth in ((purchases, TRUTH), (spend, SPEND)):
        gaps = np.abs(fit.params.as_array() - truth.as_array())
        assert np.all(gaps < 4 * fit.standard_errors.as_array()), (fit.params, truth)
    assert np.all(rfm.recency <= rfm.T)
    assert np.all(rfm.recency[rfm.frequency == 0] == 0)
