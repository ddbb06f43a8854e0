"""Forecasting methods for many weekly demand series at once, as NumPy over a matrix.

``Y`` is an ``(N, T)`` array: one row per SKU x location, one column per week, oldest first.
Every method returns ``(fitted, next_)``: ``fitted[:, t]`` is the one-step forecast of week
``t`` made from weeks ``0..t-1`` only, and ``next_`` the forecast of the week after the last.
The loop runs over weeks, never over series, so 10,000 series cost what one does times a
vector operation.

Parameters are fixed (smoothing constant 0.1 by default, the value Croston-type methods are
usually run with on retail data), so the one-step forecast made at origin ``t`` is exactly
``fitted[:, t]``: a rolling-origin backtest reads it instead of refitting.

- Croston (1972): smooth the non-zero demand sizes ``z`` and the intervals between them
  ``p`` separately, updated only in weeks with demand; forecast ``z / p``.
- SBA (Syntetos & Boylan 2005): Croston times ``1 - alpha / 2``, which removes its bias.
- TSB (Teunter, Syntetos & Babai 2011): smooth the probability of demand every week (so an
  item that stops selling decays towards zero) and the size on demand; forecast ``pi * z``.
- SES: simple exponential smoothing, for smooth series.
- Seasonal naive: the value one season ago (the MASE baseline).

Before a series' first demand the intermittent methods forecast 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]
Vector = NDArray[np.float64]
Method = Callable[[Matrix], tuple[Matrix, Vector]]

DEFAULT_ALPHA = 0.1


def _matrix(values: NDArray[np.floating] | list[list[float]]) -> Matrix:
    y = np.asarray(values, dtype=np.float64)
    if y.ndim == 1:
        y = y[np.newaxis, :]
    if y.ndim != 2:
        raise ValueError("demand must be a matrix of series x weeks")
    if not np.isfinite(y).all() or (y < 0).any():
        raise ValueError("demand must be finite and not negative")
    return y


def croston(
    values: NDArray[np.floating] | list[list[float]],
    alpha: float = DEFAULT_ALPHA,
    debias: float = 1.0,
) -> tuple[Matrix, Vector]:
    """Croston's method; ``debias`` multiplies the forecast (SBA passes ``1 - alpha / 2``)."""
    y = _matrix(values)
    n, weeks = y.shape
    size = np.zeros(n)
    interval = np.ones(n)
    seen = np.zeros(n, dtype=bool)
    since = np.ones(n)  # weeks since the last demand, counting this one
    fitted = np.zeros((n, weeks))
    for t in range(weeks):
        fitted[:, t] = np.where(seen, debias * size / interval, 0.0)
        demand = y[:, t] > 0
        first = demand & ~seen
        later = demand & seen
        size = np.where(first, y[:, t], np.where(later, size + alpha * (y[:, t] - size), size))
        interval = np.where(
            first, since, np.where(later, interval + alpha * (since - interval), interval)
        )
        seen |= demand
        since = np.where(demand, 1.0, since + 1.0)
    return fitted, np.where(seen, debias * size / interval, 0.0)


def sba(
    values: NDArray[np.floating] | list[list[float]], alpha: float = DEFAULT_ALPHA
) -> tuple[Matrix, Vector]:
    """Syntetos-Boylan approximation: Croston without its upward bias."""
    return croston(values, alpha, debias=1.0 - alpha / 2.0)


def tsb(
    values: NDArray[np.floating] | list[list[float]],
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_ALPHA,
) -> tuple[Matrix, Vector]:
    """Teunter-Syntetos-Babai: probability of demand (``beta``) and size (``alpha``)."""
    y = _matrix(values)
    n, weeks = y.shape
    size = np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    probability = np.zeros(n)
    fitted = np.zeros((n, weeks))
    for t in range(weeks):
        fitted[:, t] = probability * size
        demand = y[:, t] > 0
        if t == 0:
            probability = demand.astype(np.float64)
        else:
            probability = probability + beta * (demand - probability)
        size = np.where(
            demand & ~seen, y[:, t], np.where(demand, size + alpha * (y[:, t] - size), size)
        )
        seen |= demand
    return fitted, probability * size


def ses(
    values: NDArray[np.floating] | list[list[float]], alpha: float = DEFAULT_ALPHA
) -> tuple[Matrix, Vector]:
    """Simple exponential smoothing started at the first week's value."""
    y = _matrix(values)
    n, weeks = y.shape
    fitted = np.zeros((n, weeks))
    level = y[:, 0].copy() if weeks else np.zeros(n)
    for t in range(weeks):
        fitted[:, t] = level
        level = level + alpha * (y[:, t] - level)
    if weeks:
        fitted[:, 0] = np.nan  # nothing was known before the first week
    return fitted, level


def seasonal_naive(
    values: NDArray[np.floating] | list[list[float]], season: int = 52
) -> tuple[Matrix, Vector]:
    """The value ``season`` weeks earlier (NaN for the first ``season`` weeks); with a
    history shorter than a season, the previous week (naive)."""
    y = _matrix(values)
    n, weeks = y.shape
    m = effective_season(weeks, season)
    fitted = np.full((n, weeks), np.nan)
    if weeks > m:
        fitted[:, m:] = y[:, :-m]
    next_ = y[:, weeks - m] if weeks >= m else np.full(n, np.nan)
    return fitted, next_


def effective_season(weeks: int, season: int) -> int:
    """``season`` when the history holds more than one season, else 1 (naive)."""
    return season if weeks > season else 1


METHODS: dict[str, Method] = {
    "sba": sba,
    "croston": croston,
    "tsb": tsb,
    "ses": ses,
}


def classify(values: NDArray[np.floating] | list[list[float]]) -> list[str]:
    """Syntetos-Boylan-Croston demand classes per series: ``smooth``, ``intermittent``,
    ``erratic`` or ``lumpy`` from the average inter-demand interval (ADI, cut-off 1.32) and
    the squared coefficient of variation of the non-zero sizes (CV², cut-off 0.49);
    ``none`` for a series without demand."""
    y = _matrix(values)
    weeks = y.shape[1]
    demand = y > 0
    count = demand.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = y.sum(axis=1) / count
        cv2 = ((y**2).sum(axis=1) / count - mean**2) / mean**2
        adi = weeks / count
    classes = np.where(
        adi < 1.32,
        np.where(cv2 < 0.49, "smooth", "erratic"),
        np.where(cv2 < 0.49, "intermittent", "lumpy"),
    )
    return [str(c) if n else "none" for c, n in zip(classes, count, strict=True)]
