"""BG/NBD fitting: ``tessera.analytics.clv.fit_bgnbd`` next to lifetimes' ``BetaGeoFitter`` on
the same simulated customers, in the same run (issue 19, item 2).

Customers are drawn from BG/NBD itself with CDNOW's estimates (r = 0.243, alpha = 4.414,
a = 0.793, b = 2.426, per week), seeded: a first purchase on one of 84 days (CDNOW's 12-week
cohort), a calibration end on day 272 (39 weeks), purchase rates lambda ~ Gamma(r, alpha),
dropout p ~ Beta(a, b) (``tessera.analytics.clv.simulate``, exact). The last purchase is put
on its whole day (recency in days / 7, as ``rfm_from_transactions`` counts real orders), and
lifetimes and Tessera read the very same columns.

Tessera's fit folds identical (x, t_x, T) rows into one with a weight, which day-resolution
data allows; ``--continuous`` keeps the exact arrival times instead (no two rows alike: the
likelihood is evaluated on every customer) to show what the folding is worth.

Both fits run with BLAS limited to one thread, as ``fit_bgnbd`` limits it itself: with
OpenBLAS's threads waking for every small product, either is several times slower on a busy
2-core machine, and the comparison would measure that.

Printed: seconds for each fit, their ratio, each estimate, the largest relative difference
between the two estimates and between each and the truth. Without lifetimes (the ``bench``
extra) the peer is skipped, saying so, and the figures are Tessera's against the truth.

Pareto/NBD (``fit_pareto_nbd``, gradient by central differences) is fitted to the same
BG/NBD-drawn customers (``--pareto-customers``, 100,000 by default) next to lifetimes'
``ParetoNBDFitter``: there is no truth to compare with, only the peer.

``python -m bench.bench_clv [--customers 100000,1000000] [--pareto-customers 100000]
[--seed 7] [--continuous]``;
``python -m bench`` calls ``main()``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from tessera.analytics.clv import BgNbdParams, Rfm, fit_bgnbd, fit_pareto_nbd
from tessera.analytics.clv.simulate import simulate_bgnbd

console = Console(width=140)
TRUTH = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
COHORT_DAYS = 84
CALIBRATION_DAYS = 272


@dataclass(frozen=True)
class Row:
    model: str
    customers: int
    distinct_rows: int
    ours_seconds: float
    ours: np.ndarray
    peer_seconds: float | None
    peer: np.ndarray | None


def simulate(customers: int, seed: int, *, continuous: bool = False) -> Rfm:
    """``customers`` histories drawn from BG/NBD with ``TRUTH`` (see the module notes)."""
    first_days = np.random.default_rng(seed + 1).integers(0, COHORT_DAYS, customers)
    ages = (CALIBRATION_DAYS - first_days) / 7.0
    return simulate_bgnbd(TRUTH, ages, seed=seed, day_resolution=not continuous)


def lifetimes_fitter(
    fitter_name: str, names: tuple[str, ...]
) -> Callable[[Rfm], np.ndarray] | None:
    """lifetimes' ``fitter_name`` (no penalizer, its defaults), or None when it is not
    installed or does not import with this NumPy/pandas."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lifetimes  # type: ignore[import-untyped]
    except Exception as error:  # an old package failing on new NumPy raises anything
        console.print(f"[yellow]lifetimes unavailable ({error!r}): Tessera against the truth only")
        return None

    def fit(rfm: Rfm) -> np.ndarray:
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore")
            fitter = getattr(lifetimes, fitter_name)().fit(rfm.frequency, rfm.recency, rfm.T)
        return np.array([fitter.params_[name] for name in names])

    return fit


def relative_gap(left: np.ndarray, right: np.ndarray) -> float:
    return float(np.max(np.abs(left - right) / np.abs(right)))


def measure(
    model: str,
    rfm: Rfm,
    ours: Callable[[Rfm], tuple[int, np.ndarray]],
    peer: Callable[[Rfm], np.ndarray] | None,
) -> Row:
    started = time.perf_counter()
    distinct_rows, estimate = ours(rfm)
    ours_seconds = time.perf_counter() - started
    peer_seconds = peer_params = None
    if peer is not None:
        started = time.perf_counter()
        peer_params = peer(rfm)
        peer_seconds = time.perf_counter() - started
    return Row(model, len(rfm), distinct_rows, ours_seconds, estimate, peer_seconds, peer_params)


def bgnbd(rfm: Rfm) -> tuple[int, np.ndarray]:
    fit = fit_bgnbd(rfm)
    return fit.distinct_rows, fit.params.as_array()


def pareto_nbd(rfm: Rfm) -> tuple[int, np.ndarray]:
    fit = fit_pareto_nbd(rfm)
    return fit.distinct_rows, fit.params.as_array()


def run(sizes: list[int], pareto_sizes: list[int], seed: int, continuous: bool) -> list[Row]:
    bgnbd_peer = lifetimes_fitter("BetaGeoFitter", ("r", "alpha", "a", "b"))
    pareto_peer = lifetimes_fitter("ParetoNBDFitter", ("r", "alpha", "s", "beta"))
    warm_up = simulate(1000, seed)  # imports and first calls out of the timing
    fit_bgnbd(warm_up)
    fit_pareto_nbd(warm_up)
    rows = []
    for customers in sizes:
        rfm = simulate(customers, seed, continuous=continuous)
        rows.append(measure("BG/NBD", rfm, bgnbd, bgnbd_peer))
    for customers in pareto_sizes:
        rfm = simulate(customers, seed, continuous=continuous)
        rows.append(measure("Pareto/NBD", rfm, pareto_nbd, pareto_peer))
    return rows


def show(rows: list[Row], continuous: bool) -> None:
    def fmt(params: np.ndarray | None) -> str:
        return "-" if params is None else " ".join(f"{value:.4f}" for value in params)

    table = Table(title=f"Fits, {'exact' if continuous else 'day-resolution'} recency")
    for column in ("model", "customers", "distinct rows", "Tessera s", "lifetimes s", "ratio",
                   "Tessera estimate", "lifetimes estimate", "max rel. gap",
                   "Tessera vs truth"):  # fmt: skip
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.model,
            f"{row.customers:,}",
            f"{row.distinct_rows:,}",
            f"{row.ours_seconds:.3f}",
            "-" if row.peer_seconds is None else f"{row.peer_seconds:.3f}",
            "-" if row.peer_seconds is None else f"{row.peer_seconds / row.ours_seconds:.1f}x",
            fmt(row.ours),
            fmt(row.peer),
            "-" if row.peer is None else f"{relative_gap(row.ours, row.peer):.2e}",
            f"{relative_gap(row.ours, TRUTH.as_array()):.3f}" if row.model == "BG/NBD" else "-",
        )
    console.print(table)
    console.print(f"BG/NBD truth (r alpha a b): {fmt(TRUTH.as_array())}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", default="100000,1000000")
    parser.add_argument("--pareto-customers", default="100000", help="0 to skip Pareto/NBD")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--continuous", action="store_true")
    options = parser.parse_args()
    sizes = [int(size) for size in options.customers.split(",")]
    pareto_sizes = [int(size) for size in options.pareto_customers.split(",") if int(size)]
    show(run(sizes, pareto_sizes, options.seed, options.continuous), options.continuous)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
