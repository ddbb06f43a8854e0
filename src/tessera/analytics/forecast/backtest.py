"""Judging a forecast and turning it into stock: MASE in a rolling-origin backtest,
prediction intervals from the one-step errors, and reorder points.

MASE (Hyndman & Koehler 2006): the mean absolute error of the forecasts at the backtest's
origins divided by the in-sample mean absolute error of the seasonal-naive forecast on the
weeks before the first origin; below 1 beats seasonal naive. A series whose training weeks
never changed (all zero, say) has no scale: its MASE is NaN, reported as "none".

The backtest rolls the origin over the last ``origins`` weeks, one week ahead each time
(never one split). The methods' parameters are fixed, so the forecast made at origin ``t``
from weeks ``0..t-1`` is ``fitted[:, t]`` (see ``methods``).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from tessera.analytics.forecast.methods import (
    METHODS,
    Matrix,
    Vector,
    effective_season,
    seasonal_naive,
)

DEFAULT_ORIGINS = 8
DEFAULT_SEASON = 52
CANDIDATES = ("sba", "tsb", "ses")


@dataclass(frozen=True)
class Backtest:
    """Per series: MASE of the method and of seasonal naive (NaN without a scale), the
    method's mean absolute error, and the season length the scale used."""

    mase: Vector
    naive_mase: Vector
    mae: Vector
    season: int

    def mean(self) -> float | None:
        """The mean MASE over series that have one."""
        kept = self.mase[np.isfinite(self.mase)]
        return float(kept.mean()) if kept.size else None

    def naive_mean(self) -> float | None:
        kept = self.naive_mase[np.isfinite(self.naive_mase)]
        return float(kept.mean()) if kept.size else None


def mase_scale(y: Matrix, training: int, season: int) -> Vector:
    """In-sample mean absolute seasonal-naive error over weeks ``season..training-1`` whose
    lagged week is on or after the series' first sale; the naive (lag 1) error when the
    training weeks hold no more than one season."""
    m = effective_season(training, season)
    if training <= m:
        return np.full(y.shape[0], np.nan)
    errors = np.abs(y[:, m:training] - y[:, : training - m])
    # Weeks before a series' first sale (the SKU was not on sale yet) are not its history:
    # a year of zeros before eight weeks of sales would shrink the scale towards nothing.
    first = np.where((y > 0).any(axis=1), np.argmax(y > 0, axis=1), y.shape[1])
    kept = np.arange(training - m)[np.newaxis, :] >= first[:, np.newaxis]
    count = kept.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (errors * kept).sum(axis=1) / count
    return np.where((count > 0) & (scale > 0), scale, np.nan)


def backtest(
    y: Matrix, fitted: Matrix, origins: int = DEFAULT_ORIGINS, season: int = DEFAULT_SEASON
) -> Backtest:
    """MASE of ``fitted`` (one-step forecasts) and of seasonal naive over the last
    ``origins`` weeks of ``y``."""
    weeks = y.shape[1]
    if not 1 <= origins < weeks:
        raise ValueError(f"origins must be between 1 and {weeks - 1}")
    training = weeks - origins
    m = effective_season(training, season)
    scale = mase_scale(y, training, season)
    actual = y[:, training:]
    errors = np.abs(fitted[:, training:] - actual)
    naive, _ = seasonal_naive(y, m)
    naive_errors = np.abs(naive[:, training:] - actual)
    with np.errstate(invalid="ignore", divide="ignore"):
        return Backtest(
            mase=errors.mean(axis=1) / scale,
            naive_mase=naive_errors.mean(axis=1) / scale,
            mae=errors.mean(axis=1),
            season=m,
        )


def choose(
    y: Matrix, training: int, fits: dict[str, tuple[Matrix, Vector]] | None = None
) -> tuple[Matrix, Vector, list[str]]:
    """Per series, the candidate (SBA, TSB, SES) with the least mean absolute one-step error
    on the first ``training`` weeks only (the backtest's weeks never pick the method): the
    fitted values and next forecast of each series' pick, and the picks' names. ``fits``
    holds candidates already run, by name."""
    done = fits or {}
    ran = [done[name] if name in done else METHODS[name](y) for name in CANDIDATES]
    errors = np.stack([np.abs(f[:, 1:training] - y[:, 1:training]).mean(axis=1) for f, _ in ran])
    pick = np.argmin(np.nan_to_num(errors, nan=np.inf), axis=0)
    rows = np.arange(y.shape[0])
    fitted = np.stack([f for f, _ in ran])[pick, rows]
    next_ = np.stack([n for _, n in ran])[pick, rows]
    return fitted, next_, [CANDIDATES[i] for i in pick]


def residual_sigma(y: Matrix, fitted: Matrix) -> Vector:
    """The root mean squared one-step error per series, from the second week on (the first
    has no forecast)."""
    if y.shape[1] < 2:
        return np.zeros(y.shape[0])
    root: Vector = np.sqrt(np.mean((fitted[:, 1:] - y[:, 1:]) ** 2, axis=1))
    return root


def intervals(y: Matrix, fitted: Matrix, forecast: Vector, level: float) -> tuple[Vector, Vector]:
    """A ``level`` prediction interval around ``forecast`` from the empirical quantile of the
    absolute one-step errors (split-conformal on the history), never below zero."""
    if y.shape[1] < 2:
        return np.maximum(forecast, 0.0), forecast.copy()
    # Week 0 has no forecast (SES) and nothing else is missing, so a plain quantile of the
    # rest; ``nanquantile`` along rows is a Python loop, 100 times slower on 10,000 series.
    quantile = np.quantile(np.abs(fitted[:, 1:] - y[:, 1:]), level, axis=1)
    return np.maximum(forecast - quantile, 0.0), forecast + quantile


@dataclass(frozen=True)
class Reorder:
    """Per series: demand expected over the lead time, safety stock, reorder point, and the
    units to order (0 when the position is above the reorder point)."""

    lead_time_demand: Vector
    safety_stock: Vector
    reorder_point: Vector
    order_quantity: NDArray[np.int64]


def reorder(
    forecast: Vector,
    sigma: Vector,
    position: NDArray[np.floating] | NDArray[np.integer],
    lead_time_weeks: float,
    service_level: float,
    review_weeks: float,
) -> Reorder:
    """Reorder point = forecast x L + z x sigma x sqrt(L), with z the standard normal
    quantile of the cycle service level. When the stock position (on hand + incoming -
    reserved - committed) is at or below it, order up to the reorder point plus the demand
    of ``review_weeks``."""
    z = float(norm.ppf(service_level))
    lead_demand = forecast * lead_time_weeks
    safety = z * sigma * sqrt(lead_time_weeks)
    point = lead_demand + safety
    up_to = point + forecast * review_weeks
    position_ = np.asarray(position, dtype=np.float64)
    quantity = np.where(position_ <= point, np.ceil(up_to - position_), 0.0)
    return Reorder(lead_demand, safety, point, np.maximum(quantity, 0.0).astype(np.int64))
