"""Vega-Lite specs for the dashboard's charts: plain data in, a JSON-ready dict out.

Pages embed the spec in a ``<script type="application/json">`` block and ``dashboard.js`` hands
it to the vendored vega-embed, so a chart is data the server computed, never code it wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tessera.job.domain import HourCount
from tessera.models.job import JobStatus

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
STATUS_COLOURS = {JobStatus.SUCCEEDED: "#2f855a", JobStatus.DEAD: "#c53030"}
INK = "#475467"
NO_CHANNEL = ""  # the one series of an empty chart: zeros, no legend
LEGEND_ON_TOP = {"orient": "top", "direction": "horizontal"}
GRID = "#eaecf0"


def base_config() -> dict[str, Any]:
    """The look every chart shares, matching the dashboard's stylesheet."""
    return {
        "font": FONT,
        "view": {"stroke": None},
        "axis": {
            "labelColor": INK,
            "titleColor": INK,
            "labelFontSize": 11,
            "titleFontSize": 11,
            "titleFontWeight": 500,
            "gridColor": GRID,
            "domainColor": GRID,
            "tickColor": GRID,
        },
        "legend": {"labelColor": INK, "labelFontSize": 12, "symbolType": "square"},
    }


def jobs_finished_per_hour(buckets: Sequence[HourCount]) -> dict[str, Any]:
    """Stacked bars of jobs that succeeded or died in each hour (UTC).

    When every count is zero the y axis is fixed at 0-5, so the empty chart still reads as a
    chart; the page says "no data yet" beside it.
    """
    total = sum(bucket.count for bucket in buckets)
    statuses = [status for status in STATUS_COLOURS if any(b.status is status for b in buckets)]
    y_scale: dict[str, Any] = {"domain": [0, 5]} if total == 0 else {"nice": True}
    return {
        "$schema": SCHEMA,
        "description": "Jobs finished per hour over the last 24 hours, by outcome",
        "width": "container",
        "height": 200,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {
            "values": [
                {
                    "hour": bucket.hour.isoformat(),
                    "status": bucket.status.value,
                    "count": bucket.count,
                }
                for bucket in buckets
            ]
        },
        "mark": {"type": "bar", "cornerRadiusTopLeft": 2, "cornerRadiusTopRight": 2},
        "encoding": {
            "x": {
                "field": "hour",
                "type": "temporal",
                "timeUnit": "utcyearmonthdatehours",
                "title": "Hour (UTC)",
                "axis": {"format": "%H:%M", "labelAngle": 0, "grid": False},
            },
            "y": {
                "field": "count",
                "type": "quantitative",
                "stack": "zero",
                "title": "Jobs",
                "scale": y_scale,
                "axis": {"tickMinStep": 1, "format": "d"},
            },
            "color": {
                "field": "status",
                "type": "nominal",
                "title": None,
                "scale": {
                    "domain": [status.value for status in statuses],
                    "range": [STATUS_COLOURS[status] for status in statuses],
                },
                "legend": {"orient": "top", "direction": "horizontal"},
            },
            "tooltip": [
                {
                    "field": "hour",
                    "type": "temporal",
                    "timeUnit": "utcyearmonthdatehours",
                    "title": "Hour (UTC)",
                    "format": "%Y-%m-%d %H:00",
                },
                {"field": "status", "type": "nominal", "title": "Outcome"},
                {"field": "count", "type": "quantitative", "title": "Jobs"},
            ],
        },
        "config": base_config(),
    }


CHANNEL_PALETTE = (
    "#2563eb", "#0f766e", "#db2777", "#ea580c", "#7c3aed", "#65a30d", "#0891b2", "#b45309",
    "#4b5563", "#be123c",
)  # fmt: skip


def fill_hours(
    counted: dict[tuple[int, str], int], first: datetime, hours: int
) -> list[tuple[datetime, str, int]]:
    """Every hour of the window for every channel seen, zeros included, oldest first.

    With nothing counted, one unnamed channel of zeros keeps the time axis spanning the window
    (an empty data set gives Vega an infinite extent and a console warning).
    """
    channels = sorted({channel for _, channel in counted}) or [NO_CHANNEL]
    rows: list[tuple[datetime, str, int]] = []
    for offset in range(hours):
        hour = first + timedelta(hours=offset)
        number = int(hour.timestamp()) // 3600
        rows.extend((hour, channel, counted.get((number, channel), 0)) for channel in channels)
    return rows


def per_hour_by_channel(rows: Sequence[tuple[datetime, str, int]], what: str) -> dict[str, Any]:
    """Stacked bars of ``what`` (events, orders) per hour (UTC), one colour per channel."""
    total = sum(count for _, _, count in rows)
    channels = sorted({channel for _, channel, _ in rows})
    y_scale: dict[str, Any] = {"domain": [0, 5]} if total == 0 else {"nice": True}
    return {
        "$schema": SCHEMA,
        "description": f"{what} per hour by channel",
        "width": "container",
        "height": 180,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {
            "values": [
                {"hour": hour.isoformat(), "channel": channel, "count": count}
                for hour, channel, count in rows
            ]
        },
        "mark": {"type": "bar", "cornerRadiusTopLeft": 2, "cornerRadiusTopRight": 2},
        "encoding": {
            "x": {
                "field": "hour",
                "type": "temporal",
                "timeUnit": "utcyearmonthdatehours",
                "title": "Hour (UTC)",
                "axis": {"format": "%d %b %H:00", "labelAngle": 0, "grid": False, "tickCount": 8},
            },
            "y": {
                "field": "count",
                "type": "quantitative",
                "stack": "zero",
                "title": what,
                "scale": y_scale,
                "axis": {"tickMinStep": 1, "format": "d"},
            },
            "color": {
                "field": "channel",
                "type": "nominal",
                "title": None,
                "scale": {
                    "domain": channels,
                    "range": [
                        CHANNEL_PALETTE[i % len(CHANNEL_PALETTE)] for i in range(len(channels))
                    ],
                },
                "legend": None if channels == [NO_CHANNEL] else LEGEND_ON_TOP,
            },
            "tooltip": [
                {
                    "field": "hour",
                    "type": "temporal",
                    "timeUnit": "utcyearmonthdatehours",
                    "title": "Hour (UTC)",
                    "format": "%Y-%m-%d %H:00",
                },
                {"field": "channel", "type": "nominal", "title": "Channel"},
                {"field": "count", "type": "quantitative", "title": what},
            ],
        },
        "config": base_config(),
    }


def per_day_by_channel(
    counted: dict[tuple[date, str], int], first: date, days: int, what: str, zone: str = "UTC"
) -> dict[str, Any]:
    """Stacked bars of ``what`` per local day by channel, every day of the window present.

    The days are the workspace's (``zone``): each is drawn at its date as if it were UTC
    midnight, with UTC time units, so the browser's own zone never moves a bar to another day.
    """
    channels = sorted({channel for _, channel in counted}) or [NO_CHANNEL]
    rows = [
        (
            datetime(day.year, day.month, day.day, tzinfo=UTC),
            channel,
            counted.get((day, channel), 0),
        )
        for day in (first + timedelta(days=offset) for offset in range(days))
        for channel in channels
    ]
    spec = per_hour_by_channel(rows, what)
    spec["description"] = f"{what} per day by channel"
    spec["encoding"]["x"].update(
        {"timeUnit": "utcyearmonthdate", "title": f"Day ({zone})",
         "axis": {"format": "%d %b", "labelAngle": 0, "grid": False, "tickCount": 10}}
    )  # fmt: skip
    spec["encoding"]["tooltip"][0].update(
        {"timeUnit": "utcyearmonthdate", "title": f"Day ({zone})", "format": "%Y-%m-%d"}
    )
    return spec
