"""``/v1/reports/forecast``: weekly demand forecast per SKU x location with its backtest and
reorder points, read-only. A bad parameter is 422 problem+json naming it; weeks without
sales give an empty report whose ``reason`` says so."""

from __future__ import annotations

from datetime import date

from fastapi import Query

from tessera.analytics.forecast import backtest as bt
from tessera.analytics.forecast.schemas import ForecastReport
from tessera.analytics.forecast.service import (
    DEFAULT_HORIZON,
    DEFAULT_INTERVAL,
    DEFAULT_LEAD_TIME,
    DEFAULT_SERVICE_LEVEL,
    DEFAULT_WEEKS,
    ForecastService,
)
from tessera.http.routing import DbSession, router
from tessera.workspace.auth import Viewer

api = router(prefix="/v1", tags=["reports"])


@api.get("/reports/forecast", response_model=ForecastReport, summary="Demand forecast")
def forecast_report(
    principal: Viewer,
    session: DbSession,
    weeks: int = Query(default=DEFAULT_WEEKS, description="Weeks of history (10-520)"),
    horizon: int = Query(default=DEFAULT_HORIZON, description="Weeks ahead (1-52)"),
    method: str = Query(default="auto", description="auto, sba, croston, tsb or ses"),
    origins: int = Query(default=bt.DEFAULT_ORIGINS, description="Backtest origins (weeks)"),
    season: int = Query(default=bt.DEFAULT_SEASON, description="Seasonal-naive lag in weeks"),
    lead_time_weeks: float = Query(default=DEFAULT_LEAD_TIME, description="Supplier lead time"),
    service_level: float = Query(default=DEFAULT_SERVICE_LEVEL, description="0.5-1 (exclusive)"),
    interval: float = Query(default=DEFAULT_INTERVAL, description="Prediction interval level"),
    sku: str | None = Query(default=None, max_length=120, description="One SKU"),
    location: str | None = Query(default=None, max_length=100, description="One location"),
    as_of: date | None = Query(default=None, description="Forecast as of this day (UTC)"),
) -> ForecastReport:
    return ForecastService(session).forecast(
        principal.workspace_id, weeks=weeks, horizon=horizon, method=method, origins=origins,
        season=season, lead_time_weeks=lead_time_weeks, service_level=service_level,
        interval=interval, sku=sku, location=location, as_of=as_of,
    )  # fmt: skip
