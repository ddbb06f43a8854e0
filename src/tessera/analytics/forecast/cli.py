"""``tessera report forecast``: the demand forecast per SKU x location, reorders first, as a
Rich table that fits the terminal, CSV or JSON, from the same service as
``/v1/reports/forecast``. Attached to ``tessera report`` in ``tessera.cli``."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import typer
from rich.table import Table

from tessera.analytics.forecast import backtest as bt
from tessera.analytics.forecast.service import (
    DEFAULT_HORIZON,
    DEFAULT_INTERVAL,
    DEFAULT_LEAD_TIME,
    DEFAULT_SERVICE_LEVEL,
    DEFAULT_WEEKS,
    ForecastService,
)
from tessera.cli_support import console, context, fail, friendly_errors, print_table
from tessera.workspace.service import WorkspaceService

FORMATS = ("table", "csv", "json")
HEADER = ["sku", "location", "class", "method", "units", "forecast", "interval", "mase",
          "naive", "on hand", "reorder at", "order"]  # fmt: skip


def _text(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@friendly_errors
def report_forecast(
    ctx: typer.Context,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    weeks: int = typer.Option(DEFAULT_WEEKS, help="Weeks of history"),
    horizon: int = typer.Option(DEFAULT_HORIZON, help="Weeks ahead (also the review period)"),
    method: str = typer.Option("auto", help="auto, sba, croston, tsb or ses"),
    origins: int = typer.Option(bt.DEFAULT_ORIGINS, help="Backtest origins (last N weeks)"),
    season: int = typer.Option(bt.DEFAULT_SEASON, help="Seasonal-naive lag in weeks"),
    lead_time: float = typer.Option(DEFAULT_LEAD_TIME, "--lead-time", help="Lead time, weeks"),
    service_level: float = typer.Option(DEFAULT_SERVICE_LEVEL, help="Cycle service level"),
    interval: float = typer.Option(DEFAULT_INTERVAL, help="Prediction interval level"),
    sku: str | None = typer.Option(None, help="One SKU"),
    location: str | None = typer.Option(None, help="One location code"),
    as_of: str | None = typer.Option(None, "--as-of", help="Forecast as of (YYYY-MM-DD)"),
    reorder_only: bool = typer.Option(False, "--reorder-only", help="Only SKUs to reorder"),
    fmt: str = typer.Option("table", "--format", help="table, csv or json"),
) -> None:
    """Weekly demand forecast per SKU x location, its backtest (MASE against seasonal
    naive) and the SKUs to reorder given lead time and service level."""
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    day = None
    if as_of is not None:
        try:
            day = datetime.strptime(as_of, "%Y-%m-%d").date()
        except ValueError:
            raise fail(f"--as-of: {as_of!r} is not a day as YYYY-MM-DD") from None
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        report = ForecastService(session).forecast(
            ws.id, weeks=weeks, horizon=horizon, method=method, origins=origins,
            season=season, lead_time_weeks=lead_time, service_level=service_level,
            interval=interval, sku=sku, location=location, as_of=day,
        )  # fmt: skip
    series = [s for s in report.series if s.reorder or not reorder_only]
    if fmt == "json":
        console().print_json(report.model_dump_json())
        return
    rows = [
        [s.sku, s.location, s.demand_class, s.method, str(s.units), _text(s.forecast),
         f"{_text(s.lower)}-{_text(s.upper)}", _text(s.mase), _text(s.naive_mase),
         "" if s.on_hand is None else str(s.on_hand), _text(s.reorder_point, 1),
         str(s.order_quantity) if s.reorder else ""]
        for s in series
    ]  # fmt: skip
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
        typer.echo(buffer.getvalue(), nl=False)
        return
    summary = report.summary
    title = (
        f"Demand forecast: {summary.series} series, MASE {_text(summary.mase)} "
        f"(seasonal naive {_text(summary.naive_mase)}), {summary.to_reorder} to reorder"
    )
    caption = (f"{report.weeks[0]} to {report.weeks[-1]} (UTC weeks), {report.origins} origins, "
               f"lead time {report.lead_time_weeks:g} weeks at {report.service_level:.0%}; "
               f"as of {report.as_of:%Y-%m-%d %H:%M} UTC")  # fmt: skip
    if report.reason:
        caption += f": {report.reason}"
    table = Table(*HEADER, title=title, caption=caption)
    for row in rows:
        table.add_row(*row)
    print_table(table)
