"""Customer lifetime value: BG/NBD purchase counts, Gamma-Gamma spend, and their discounted sum.

Pure maths on NumPy arrays (no session, no clock): a service summarises orders with
``rfm_from_transactions`` (or SQL and ``Rfm.from_summary``), fits with ``fit_bgnbd`` (or
``fit_pareto_nbd``) and ``fit_gamma_gamma``, and values customers with
``customer_lifetime_value``.
"""

from tessera.analytics.clv.bgnbd import (
    BgNbdFit,
    BgNbdParams,
    conditional_expected_purchases,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
)
from tessera.analytics.clv.errors import InvalidHistory, NotFittable
from tessera.analytics.clv.gamma_gamma import (
    GammaGammaFit,
    GammaGammaParams,
    conditional_expected_value,
    customer_lifetime_value,
    fit_gamma_gamma,
)
from tessera.analytics.clv.holdout import FrequencyBucket, HoldoutValidation, validate_holdout
from tessera.analytics.clv.pareto_nbd import ParetoNbdFit, ParetoNbdParams, fit_pareto_nbd
from tessera.analytics.clv.rfm import Rfm, rfm_from_transactions
from tessera.analytics.clv.simulate import simulate_bgnbd

__all__ = [
    "BgNbdFit",
    "BgNbdParams",
    "FrequencyBucket",
    "GammaGammaFit",
    "GammaGammaParams",
    "HoldoutValidation",
    "InvalidHistory",
    "NotFittable",
    "ParetoNbdFit",
    "ParetoNbdParams",
    "Rfm",
    "conditional_expected_purchases",
    "conditional_expected_value",
    "customer_lifetime_value",
    "expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_pareto_nbd",
    "probability_alive",
    "rfm_from_transactions",
    "simulate_bgnbd",
    "validate_holdout",
]
