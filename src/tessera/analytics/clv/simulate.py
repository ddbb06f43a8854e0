"""Purchase histories drawn from BG/NBD and Gamma-Gamma: for benchmarks, for tests that an
estimate finds the parameters it was drawn from, and for demo data that behaves like a shop.

Exact and vectorised: K ~ Poisson(lambda T) purchase opportunities in (0, T], N ~ Geometric(p)
repeat purchases before dropping out, x = min(K, N), and the x-th of K uniform arrival times
is T Beta(x, K - x + 1). ``day_resolution`` puts the last purchase on its whole day (at least
day 1, at most T), as orders summarised by ``rfm_from_transactions`` are; two purchases on one
day are then not merged, which is rare at shop-like rates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tessera.analytics.clv.bgnbd import BgNbdParams
from tessera.analytics.clv.gamma_gamma import GammaGammaParams
from tessera.analytics.clv.rfm import Rfm


def simulate_bgnbd(
    params: BgNbdParams,
    ages: npt.ArrayLike,
    *,
    seed: int,
    spend: GammaGammaParams | None = None,
    day_resolution: bool = True,
    unit_days: float = 7.0,
) -> Rfm:
    """One customer per entry of ``ages`` (T, in units of ``unit_days``), seeded; with
    ``spend``, each repeat buyer's mean repeat value drawn from Gamma-Gamma as well."""
    T = np.asarray(ages, dtype=np.float64)
    rng = np.random.default_rng(seed)
    customers = len(T)
    rate = rng.gamma(params.r, 1.0 / params.alpha, customers)
    dropout = rng.beta(params.a, params.b, customers)
    opportunities = rng.poisson(rate * T)
    x = np.minimum(opportunities, rng.geometric(dropout))
    last = T * rng.beta(np.maximum(x, 1), np.maximum(opportunities - x + 1, 1))
    if day_resolution:
        days = np.round(T * unit_days)
        last = np.clip(np.ceil(last * unit_days), np.minimum(1.0, days), days) / unit_days
    recency = np.where(x > 0, last, 0.0)
    monetary = np.zeros(customers)
    if spend is not None:
        repeat = x > 0
        nu = rng.gamma(spend.q, 1.0 / spend.gamma, customers)
        # the mean of x Gamma(p, nu) values is Gamma(p x, nu x)
        drawn = rng.gamma(spend.p * np.maximum(x, 1), 1.0 / (nu * np.maximum(x, 1)))
        monetary = np.where(repeat, drawn, 0.0)
    return Rfm.from_summary(x, recency, T, monetary, unit_days=unit_days)
