"""Measure's scorecard: omnichannel share with its month-by-month trend, lifetime value by
segment, retention cohorts as a shaded table, and the attribution models side by side, each
with the time it was read. The numbers come from the same ``ReportService`` as ``/v1/reports``
and ``tessera report``: over the default window from the workspace's metric snapshots (so the
page reads four rows instead of fitting the models), over a chosen window computed live.
Owners and marketers can queue a refresh of the snapshots."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from tessera.analytics.report.schemas import (
    AttributionReport,
    ClvSegmentOut,
    RetentionReport,
    TrendPoint,
)
from tessera.analytics.report.snapshots import SnapshotService
from tessera.dashboard import charts
from tessera.dashboard.session import SignedIn, flash
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.models.workspace import Role

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)
SIDE_BY_SIDE = ("last_touch", "first_touch", "linear", "time_decay", "position_based",
                "markov_1", "shapley")  # fmt: skip


def share_trend(points: list[TrendPoint]) -> dict[str, Any]:
    """A Vega-Lite line of the omnichannel share as of each month's end."""
    return {
        "$schema": charts.SCHEMA,
        "config": charts.base_config(),
        "width": "container",
        "height": 180,
        "data": {"values": [{"month": p.month, "share": p.share} for p in points]},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "month", "type": "ordinal", "title": None},
            "y": {"field": "share", "type": "quantitative", "title": "share",
                  "axis": {"format": "%"}},
            "tooltip": [{"field": "month"}, {"field": "share", "format": ".1%"}],
        },
    }  # fmt: skip


def value_bars(segments: list[ClvSegmentOut]) -> dict[str, Any]:
    """A Vega-Lite bar per segment: the average discounted value over the horizon."""
    values = [
        {"segment": s.segment.replace("_", " "), "dimension": s.dimension.replace("_", " "),
         "value": s.average_value / 100, "customers": s.customers}
        for s in segments
    ]  # fmt: skip
    return {
        "$schema": charts.SCHEMA,
        "config": charts.base_config(),
        "width": "container",
        "height": 180,
        "data": {"values": values},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "segment", "type": "nominal", "title": None, "sort": "-x"},
            "x": {"field": "value", "type": "quantitative", "title": "average value"},
            "color": {"field": "dimension", "type": "nominal", "title": None},
            "tooltip": [{"field": "segment"}, {"field": "customers"},
                        {"field": "value", "format": ",.2f"}],
        },
    }  # fmt: skip


def retention_curve(report: RetentionReport) -> dict[str, Any]:
    """A Vega-Lite line of the share ordering k months after the first order, over every
    cohort old enough to have a month k, weighted by cohort size."""
    months = max((len(c.retention) for c in report.cohorts), default=0)
    values = []
    for k in range(months):
        old_enough = [c for c in report.cohorts if len(c.retention) > k]
        size = sum(c.size for c in old_enough)
        active = sum(c.retention[k] * c.size for c in old_enough)
        values.append({"month": f"M{k}", "retention": round(active / size, 4) if size else 0.0})
    return {
        "$schema": charts.SCHEMA,
        "config": charts.base_config(),
        "width": "container",
        "height": 160,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "month", "type": "ordinal", "title": "months since the first order",
                  "sort": None},
            "y": {"field": "retention", "type": "quantitative", "title": "ordering",
                  "axis": {"format": "%"}},
            "tooltip": [{"field": "month"}, {"field": "retention", "format": ".1%"}],
        },
    }  # fmt: skip


CHARTED_MODELS = ("last_touch", "linear", "markov_1")


def attribution_bars(report: AttributionReport) -> dict[str, Any]:
    """Vega-Lite bars of the conversions each channel is credited with by three models."""
    values = [
        {"channel": c.channel, "model": name.replace("_", " "), "conversions": float(c.conversions)}
        for name in CHARTED_MODELS
        for c in report.models.get(name, [])
    ]
    return {
        "$schema": charts.SCHEMA,
        "config": charts.base_config(),
        "width": "container",
        "height": 180,
        "data": {"values": values},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "channel", "type": "nominal", "title": None},
            "yOffset": {"field": "model"},
            "x": {"field": "conversions", "type": "quantitative", "title": "conversions"},
            "color": {"field": "model", "type": "nominal", "title": None},
            "tooltip": [{"field": "channel"}, {"field": "model"},
                        {"field": "conversions", "format": ",.2f"}],
        },
    }  # fmt: skip


@pages.get("/measure")
def measure(
    request: Request,
    member: SignedIn,
    session: DbSession,
    start: date | None = Query(default=None, alias="from"),
    end: date | None = Query(default=None, alias="to"),
) -> Response:
    """The scorecard over ``from``..``to`` (the last 365 days by default, from snapshots)."""
    card = SnapshotService(session).scorecard(member.workspace.id, start, end)
    omnichannel, retention, lifetime = card.omnichannel, card.retention, card.lifetime
    attribution = card.attribution
    models = [name for name in SIDE_BY_SIDE if name in attribution.models]
    credit = {
        (name, c.channel): c.conversions for name, cs in attribution.models.items() for c in cs
    }
    channels = sorted({channel for _name, channel in credit})
    context: dict[str, Any] = {
        "member": member,
        "card": card,
        "can_refresh": member.can(Role.MARKETER),
        "omnichannel": omnichannel,
        "retention": retention,
        "attribution": attribution,
        "lifetime": lifetime,
        "value_chart": value_bars(lifetime.segments),
        "trend_chart": share_trend(omnichannel.trend),
        "retention_chart": retention_curve(retention),
        "attribution_chart": attribution_bars(attribution),
        "cohort_customers": sum(c.size for c in retention.cohorts),
        "repeat_rate": (
            sum(c.repeat_rate * c.size for c in retention.cohorts)
            / max(sum(c.size for c in retention.cohorts), 1)
        ),
        "months": max((len(c.retention) for c in retention.cohorts), default=0),
        "models": models,
        "rows": [(channel, [credit.get((m, channel)) for m in models]) for channel in channels],
    }
    return render(request, "measure.html", context)


@pages.post("/measure/refresh")
def refresh(request: Request, member: SignedIn, session: DbSession) -> Response:
    """Queue a recompute of the scorecard's snapshots; owners and marketers. Asking again
    before the worker has stored a newer snapshot queues nothing more."""
    member.require(Role.MARKETER)
    service = SnapshotService(session)
    stored = service.stored(member.workspace.id)
    as_of = min((s.as_of for s in stored.values()), default=None)
    service.request_refresh(member.workspace.id, f"asked:{as_of.isoformat() if as_of else 'none'}")
    flash(request, "Refresh queued: the scorecard shows the new numbers once the worker ran it.")
    return RedirectResponse("/measure", status_code=303)
