"""What the demand forecast answers: plain pydantic shapes, units per week."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class SeriesForecast(BaseModel):
    sku: str
    location: str
    demand_class: str  # smooth, intermittent, erratic, lumpy
    method: str  # sba, tsb or ses
    units: int  # over the history
    forecast: float  # units a week, each of the next ``horizon`` weeks
    lower: float  # the prediction interval of one week
    upper: float
    mase: float | None  # None: the history never changed, so there is no scale
    naive_mase: float | None
    stockout_weeks: int  # weeks that began with nothing on hand (sales there are censored)
    on_hand: int | None  # None: not a stock location (an order's channel or store ref)
    position: int | None  # on hand + incoming - reserved - committed
    safety_stock: float | None
    reorder_point: float | None
    order_quantity: int | None
    reorder: bool
    history: list[int]  # units per week, oldest first


class ForecastSummary(BaseModel):
    series: int
    mase: float | None  # mean over series with a scale
    naive_mase: float | None
    beats_naive: float | None  # share of series whose MASE is below seasonal naive's
    season: int  # the seasonal-naive lag the scale used (1 when the history is short)
    to_reorder: int


class ForecastReport(BaseModel):
    as_of: datetime
    weeks: list[date]  # the Monday (UTC) each history week starts
    horizon: int
    origins: int
    lead_time_weeks: float
    service_level: float
    interval: float
    method: str
    reason: str | None = None  # why the result is empty, when it is
    summary: ForecastSummary
    series: list[SeriesForecast]
