"""The demand forecast as a use case: weekly units per SKU x location, a forecast per series
with its prediction interval, a rolling-origin backtest against seasonal naive (MASE), and
reorder points against the stock on hand. Reads only; never commits.

Weeks are UTC weeks starting Monday; the history is the ``weeks`` whole weeks before the
Monday on or before ``as_of`` (the current, partial week is left out).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy.orm import Session

from tessera.analytics.forecast import backtest as bt
from tessera.analytics.forecast.errors import InvalidForecastInput
from tessera.analytics.forecast.methods import METHODS, classify
from tessera.analytics.forecast.repository import ForecastRepository, Position
from tessera.analytics.forecast.schemas import ForecastReport, ForecastSummary, SeriesForecast
from tessera.kit.time import Clock, utcnow

METHOD_NAMES = ("auto", *METHODS)
DEFAULT_WEEKS = 104
DEFAULT_HORIZON = 4
DEFAULT_LEAD_TIME = 2.0
DEFAULT_SERVICE_LEVEL = 0.95
DEFAULT_INTERVAL = 0.9
NO_DEMAND = "no units sold in these weeks"


def _check(value: float, field: str, low: float, high: float, *, open_: bool = False) -> None:
    inside = low < value < high if open_ else low <= value <= high
    if not np.isfinite(value) or not inside:
        bounds = f"between {low} and {high}" + (" (exclusive)" if open_ else "")
        raise InvalidForecastInput(f"{field} must be {bounds}", field=field)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


class ForecastService:
    """The demand forecast of one workspace."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock

    def forecast(
        self,
        workspace_id: str,
        *,
        weeks: int = DEFAULT_WEEKS,
        horizon: int = DEFAULT_HORIZON,
        method: str = "auto",
        origins: int = bt.DEFAULT_ORIGINS,
        season: int = bt.DEFAULT_SEASON,
        lead_time_weeks: float = DEFAULT_LEAD_TIME,
        service_level: float = DEFAULT_SERVICE_LEVEL,
        interval: float = DEFAULT_INTERVAL,
        sku: str | None = None,
        location: str | None = None,
        as_of: date | None = None,
    ) -> ForecastReport:
        """Forecasts of every SKU x location that sold in the history (or the one ``sku``
        and ``location`` asked for), reorders first, then by units sold."""
        if method not in METHOD_NAMES:
            raise InvalidForecastInput(
                f"method must be one of {', '.join(METHOD_NAMES)}", field="method"
            )
        _check(weeks, "weeks", 10, 520)
        _check(origins, "origins", 1, weeks - 2)
        _check(horizon, "horizon", 1, 52)
        _check(season, "season", 1, 52)
        _check(lead_time_weeks, "lead_time_weeks", 0, 52)
        _check(service_level, "service_level", 0.5, 1, open_=True)
        _check(interval, "interval", 0, 1, open_=True)
        if as_of is not None and not date(1900, 1, 1) <= as_of <= date(9000, 12, 31):
            raise InvalidForecastInput("as_of must be between 1900-01-01 and 9000-12-31",
                                       field="as_of")  # fmt: skip
        now = self.clock()
        today = as_of or now.astimezone(UTC).date()
        end_day = week_start(today)
        first_day = end_day - timedelta(weeks=weeks)
        mondays = [first_day + timedelta(weeks=k) for k in range(weeks)]
        start = datetime.combine(first_day, time())
        end = datetime.combine(end_day, time())

        repository = ForecastRepository(self.session, workspace_id)
        daily = repository.daily_units(start, end)
        keys = sorted(
            k
            for k in daily
            if (sku is None or k[0] == sku) and (location is None or k[1] == location)
        )
        params = dict(horizon=horizon, origins=origins, lead_time_weeks=lead_time_weeks,
                      service_level=service_level, interval=interval, method=method)  # fmt: skip
        if not keys:
            summary = ForecastSummary(series=0, mase=None, naive_mase=None, beats_naive=None,
                                      season=season, to_reorder=0)  # fmt: skip
            return ForecastReport(as_of=now, weeks=mondays, reason=NO_DEMAND, summary=summary,
                                  series=[], **params)  # fmt: skip
        y = np.zeros((len(keys), weeks))
        for row, key in enumerate(keys):
            for day, units in daily[key].items():
                y[row, (day - first_day).days // 7] += units

        training = weeks - origins
        if method == "auto":
            fitted, next_, picks = bt.choose(y, training)
        else:
            fitted, next_ = METHODS[method](y)
            picks = [method] * len(keys)
        scores = bt.backtest(y, fitted, origins, season)
        lower, upper = bt.intervals(y, fitted, next_, interval)
        sigma = bt.residual_sigma(y, fitted)
        stock = repository.positions()
        position = np.array([stock[k].position if k in stock else np.nan for k in keys])
        plan = bt.reorder(next_, sigma, np.nan_to_num(position, nan=np.inf), lead_time_weeks,
                          service_level, horizon)  # fmt: skip
        stockouts = self._stockout_weeks(repository, keys, stock, mondays, end_day)
        classes = classify(y)

        series = []
        for i, key in enumerate(keys):
            held = key in stock
            series.append(
                SeriesForecast(
                    sku=key[0], location=key[1], demand_class=classes[i], method=picks[i],
                    units=int(y[i].sum()), forecast=_round(next_[i]), lower=_round(lower[i]),
                    upper=_round(upper[i]), mase=_maybe(scores.mase[i]),
                    naive_mase=_maybe(scores.naive_mase[i]), stockout_weeks=stockouts[i],
                    on_hand=stock[key].on_hand if held else None,
                    position=stock[key].position if held else None,
                    safety_stock=_round(plan.safety_stock[i]) if held else None,
                    reorder_point=_round(plan.reorder_point[i]) if held else None,
                    order_quantity=int(plan.order_quantity[i]) if held else None,
                    reorder=held and plan.order_quantity[i] > 0,
                    history=[int(v) for v in y[i]],
                )
            )  # fmt: skip
        series.sort(key=lambda s: (not s.reorder, -s.units, s.sku, s.location))
        finite = np.isfinite(scores.mase) & np.isfinite(scores.naive_mase)
        summary = ForecastSummary(
            series=len(series),
            mase=_maybe(scores.mean()),
            naive_mase=_maybe(scores.naive_mean()),
            beats_naive=_maybe(
                float((scores.mase[finite] < scores.naive_mase[finite]).mean())
                if finite.any() else None
            ),
            season=scores.season,
            to_reorder=sum(1 for s in series if s.reorder),
        )  # fmt: skip
        return ForecastReport(as_of=now, weeks=mondays, summary=summary, series=series,
                              **params)  # fmt: skip

    @staticmethod
    def _stockout_weeks(
        repository: ForecastRepository,
        keys: list[tuple[str, str]],
        stock: dict[tuple[str, str], Position],
        mondays: list[date],
        end_day: date,
    ) -> list[int]:
        """Per series, the history weeks that began with nothing on hand, rebuilt backwards
        from today's balance through the ledger's daily on-hand changes."""
        since = datetime.combine(mondays[0], time())
        changes = repository.on_hand_changes(since)
        counts = []
        for key in keys:
            balance = stock.get(key)
            if balance is None:
                counts.append(0)
                continue
            on_hand = float(balance.on_hand)
            days = changes.get(key, {})
            # On hand at the start of each Monday = today's - every change since that Monday.
            after = sorted(days.items(), reverse=True)
            empty = 0
            index = 0
            level = on_hand
            for monday in reversed(mondays):
                while index < len(after) and after[index][0] >= monday:
                    level -= after[index][1]
                    index += 1
                empty += level <= 0
            counts.append(empty)
        return counts


def _round(value: float) -> float:
    return round(float(value), 3)


def _maybe(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 4)
