"""Measure's planning pages, linked from the scorecard: the demand forecast with its
backtest and the SKUs to reorder (``/measure/forecast``), and channel advice with the weekly
MMM table to download (``/measure/advice``). The numbers come from the same services as
``/v1/reports/forecast``, ``/v1/reports/advice`` and ``/v1/reports/mmm-export``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from tessera.analytics.advice.service import ChannelService
from tessera.analytics.forecast.schemas import ForecastReport
from tessera.analytics.forecast.service import (
    DEFAULT_LEAD_TIME,
    DEFAULT_SERVICE_LEVEL,
    DEFAULT_WEEKS,
    ForecastService,
)
from tessera.dashboard import charts
from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)
CHARTED = 5  # series drawn: the best sellers
LISTED = 40  # series in the table


def demand_chart(report: ForecastReport) -> dict[str, Any]:
    """A Vega-Lite line per best-selling series: weekly units, then the forecast (dashed)
    with its interval as a band over the next ``horizon`` weeks."""
    top = sorted(report.series, key=lambda s: -s.units)[:CHARTED]
    values: list[dict[str, Any]] = []
    for s in top:
        name = f"{s.sku} @ {s.location}"
        values += [{"series": name, "week": str(w), "units": u, "kind": "sold"}
                   for w, u in zip(report.weeks, s.history, strict=True)]  # fmt: skip
        last = report.weeks[-1] if report.weeks else date.today()
        values += [
            {"series": name, "week": str(last + timedelta(weeks=k)), "units": s.forecast,
             "lower": s.lower, "upper": s.upper, "kind": "forecast"}
            for k in range(1, report.horizon + 1)
        ]  # fmt: skip
    x = {"field": "week", "type": "temporal", "title": None}
    colour = {"field": "series", "type": "nominal", "title": None, "legend": charts.LEGEND_ON_TOP}
    return {
        "$schema": charts.SCHEMA,
        "config": charts.base_config(),
        "width": "container",
        "height": 220,
        "data": {"values": values},
        "layer": [
            {"transform": [{"filter": "datum.kind == 'forecast'"}],
             "mark": {"type": "area", "opacity": 0.15},
             "encoding": {"x": x, "y": {"field": "lower", "type": "quantitative"},
                          "y2": {"field": "upper"}, "color": colour}},
            {"mark": {"type": "line", "interpolate": "step-after"},
             "encoding": {"x": x, "color": colour,
                          "y": {"field": "units", "type": "quantitative", "title": "units a week"},
                          "strokeDash": {"field": "kind", "type": "nominal", "title": None,
                                         "sort": ["sold", "forecast"]},
                          "tooltip": [{"field": "series"}, {"field": "week", "type": "temporal"},
                                      {"field": "units", "format": ".2f"}, {"field": "kind"}]}},
        ],
    }  # fmt: skip


@pages.get("/measure/forecast")
def forecast_page(
    request: Request,
    member: SignedIn,
    session: DbSession,
    weeks: int = Query(default=DEFAULT_WEEKS),
    lead_time_weeks: float = Query(default=DEFAULT_LEAD_TIME),
    service_level: float = Query(default=DEFAULT_SERVICE_LEVEL),
    as_of: date | None = Query(default=None),
) -> Response:
    """Demand per SKU x location: the backtest against seasonal naive, what to reorder, and
    each series' forecast."""
    report = ForecastService(session).forecast(
        member.workspace.id, weeks=weeks, lead_time_weeks=lead_time_weeks,
        service_level=service_level, as_of=as_of,
    )  # fmt: skip
    context: dict[str, Any] = {
        "member": member,
        "report": report,
        "reorders": [s for s in report.series if s.reorder],
        "listed": sorted(report.series, key=lambda s: -s.units)[:LISTED],
        "chart": demand_chart(report),
    }
    return render(request, "measure_forecast.html", context)


@pages.get("/measure/advice")
def advice_page(
    request: Request,
    member: SignedIn,
    session: DbSession,
    start: date | None = Query(default=None, alias="from"),
    end: date | None = Query(default=None, alias="to"),
) -> Response:
    """Which channel to add next, each sentence with its figures; channel pairs; touches by
    medium; the weekly MMM table to download."""
    report = ChannelService(session).advice(member.workspace.id, start, end)
    return render(request, "measure_advice.html", {"member": member, "report": report})


@pages.get("/measure/mmm-weekly.csv")
def mmm_download(
    member: SignedIn,
    session: DbSession,
    start: date | None = Query(default=None, alias="from"),
    end: date | None = Query(default=None, alias="to"),
) -> Response:
    """The weekly channel table (wide CSV), as ``/v1/reports/mmm-export`` gives it."""
    body = ChannelService(session).mmm_export(member.workspace.id, start, end)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mmm-weekly.csv"'},
    )
