"""Demand forecast: SBA, TSB and SES with the MASE backtest for N SKUs x locations, next to
statsforecast (Nixtla, Apache-2.0, the ``dev`` extra) on the same series.

Synthetic, seeded weekly demand of ``--skus`` SKUs at ``--locations`` locations over
``--weeks`` weeks: each series sells in a week with its own probability (0.05-0.9, so smooth,
intermittent and lumpy series all occur) a Poisson-gamma quantity. Ours: the three methods
over the whole matrix (``methods``), then the per-series pick, the rolling-origin backtest
against seasonal naive, intervals and reorder points (``backtest``), the work
``/v1/reports/forecast`` does after its query. The peer: ``StatsForecast(models=[CrostonSBA(),
TSB(0.1, 0.1), SimpleExponentialSmoothing(0.1)], freq="W", n_jobs=1).forecast(h=1)`` on the
same series as a long DataFrame (built before its clock starts): forecasts only, no backtest.
The next week's forecasts must agree to 1e-6; the ratio printed is peer time / ours.

``python -m bench.bench_forecast [--skus 2000] [--locations 5] [--weeks 104] [--seed 3]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from tessera.analytics.forecast import backtest as bt
from tessera.analytics.forecast import methods as m

console = Console(width=None if sys.stdout.isatty() else 120)


def demand(series: int, weeks: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    probability = rng.uniform(0.05, 0.9, size=(series, 1))
    size = rng.gamma(2.0, rng.uniform(1, 6, size=(series, 1)), size=(series, weeks))
    sold = rng.random((series, weeks)) < probability
    return np.where(sold, 1 + rng.poisson(size), 0).astype(np.float64)


def ours(y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    start = time.perf_counter()
    fits = {name: m.METHODS[name](y) for name in bt.CANDIDATES}
    fitted, next_, _ = bt.choose(y, y.shape[1] - bt.DEFAULT_ORIGINS, fits)
    bt.backtest(y, fitted, bt.DEFAULT_ORIGINS, bt.DEFAULT_SEASON)
    bt.intervals(y, fitted, next_, 0.9)
    sigma = bt.residual_sigma(y, fitted)
    bt.reorder(next_, sigma, np.zeros(y.shape[0]), 2.0, 0.95, 4)
    m.classify(y)
    return time.perf_counter() - start, {name: fit[1] for name, fit in fits.items()}


def peer(y: np.ndarray) -> tuple[float, dict[str, np.ndarray]] | None:
    try:
        import pandas as pd
        from statsforecast import StatsForecast
        from statsforecast.models import TSB, CrostonSBA, SimpleExponentialSmoothing
    except ImportError:
        return None
    series, weeks = y.shape
    frame = pd.DataFrame({
        "unique_id": np.repeat(np.arange(series), weeks),
        "ds": np.tile(pd.date_range("2024-01-01", periods=weeks, freq="W-MON"), series),
        "y": y.ravel(),
    })  # fmt: skip
    models = [CrostonSBA(), TSB(0.1, 0.1), SimpleExponentialSmoothing(0.1)]
    start = time.perf_counter()
    out = StatsForecast(models=models, freq="W-MON", n_jobs=1).forecast(df=frame, h=1)
    elapsed = time.perf_counter() - start
    out = out.sort_values("unique_id")
    return elapsed, {
        "sba": out["CrostonSBA"].to_numpy(),
        "tsb": out["TSB"].to_numpy(),
        "ses": out["SES"].to_numpy(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--locations", type=int, default=5)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    y = demand(args.skus * args.locations, args.weeks, args.seed)
    ours(y[:10])  # warm imports
    our_time, our_forecasts = ours(y)
    table = Table("side", "series", "weeks", "seconds", "series/s", title="Demand forecast")
    table.add_row("tessera 3 methods + pick, backtest, reorder", str(len(y)),
                  str(args.weeks), f"{our_time:.3f}", f"{len(y) / our_time:,.0f}")  # fmt: skip
    other = peer(y)
    if other is None:
        table.add_row("statsforecast", "not installed (pip install -e '.[dev]')", "", "", "")
        console.print(table)
        return 0
    peer_time, peer_forecasts = other
    table.add_row("statsforecast 3 models, forecast only", str(len(y)), str(args.weeks),
                  f"{peer_time:.3f}", f"{len(y) / peer_time:,.0f}")  # fmt: skip
    console.print(table)
    worst = max(float(np.max(np.abs(our_forecasts[k] - peer_forecasts[k]))) for k in our_forecasts)
    console.print(f"ratio (statsforecast / tessera): {peer_time / our_time:.1f}x; largest "
                  f"forecast difference {worst:.2e}")  # fmt: skip
    classes = m.classify(y)
    console.print("series by class: " + ", ".join(
        f"{c} {classes.count(c)}" for c in ("smooth", "intermittent", "erratic", "lumpy")
    ))  # fmt: skip
    return 0 if worst < 1e-6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
