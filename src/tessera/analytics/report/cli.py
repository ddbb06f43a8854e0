"""``tessera report retention|omnichannel|attribution``: the reports as Rich tables, CSV or
JSON (``--format``), from the same service as ``/v1/reports``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.table import Table

from tessera.analytics.layer import export, from_session
from tessera.analytics.report.schemas import Window
from tessera.analytics.report.service import (
    DEFAULT_CHURN_DAYS,
    DEFAULT_CLV_MONTHS,
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_MONTHLY_DISCOUNT,
    ReportService,
)
from tessera.analytics.report.snapshots import SnapshotService
from tessera.cli_support import console, context, fail, friendly_errors
from tessera.workspace.service import WorkspaceService

report_cli = typer.Typer(help="Measure: lifetime value, retention, omnichannel share, attribution.")
WorkspaceOption = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")
FromOption = typer.Option(None, "--from", help="First day (YYYY-MM-DD), workspace's zone")
ToOption = typer.Option(None, "--to", help="Last day (YYYY-MM-DD), inclusive")
FormatOption = typer.Option("table", "--format", help="table, csv or json")
FORMATS = ("table", "csv", "json")


def parse_day(value: str | None, option: str) -> Any:
    """A ``--from``/``--to`` value as a day, or a one-line error naming the option."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise fail(f"{option}: {value!r} is not a day as YYYY-MM-DD") from None


def _emit(
    report: BaseModel, title: str, header: Sequence[str], rows: list[list[Any]], fmt: str
) -> None:
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "json":
        console().print_json(report.model_dump_json())
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        typer.echo(buffer.getvalue(), nl=False)
        return
    window: Window = report.window  # type: ignore[attr-defined]
    caption = f"{window.start} to {window.end} ({window.time_zone})"
    caption += f", as of {window.as_of:%Y-%m-%d %H:%M} UTC"
    if window.reason:
        caption += f": {window.reason}"
    table = Table(*header, title=title, caption=caption)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console().print(table)


@report_cli.command("retention")
@friendly_errors
def report_retention(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    start: str | None = FromOption,
    end: str | None = ToOption,
    group_by: str = typer.Option("month", help="month, or channel (acquisition channel)"),
    churn_days: int = typer.Option(DEFAULT_CHURN_DAYS, help="Churned: no order in this many days"),
    fmt: str = FormatOption,
) -> None:
    """Cohorts by first-order month: size, retention by month since, repeat and churn rates."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        report = ReportService(session).retention(
            ws.id,
            parse_day(start, "--from"),
            parse_day(end, "--to"),
            group_by=group_by,
            churn_days=churn_days,
        )
    months = max((len(c.retention) for c in report.cohorts), default=0)
    header = ["cohort", "channel", "size", "repeat", "churn", *(f"m{k}" for k in range(months))]
    rows = [
        [c.cohort, c.acquisition_channel or "", c.size, c.repeat_rate, c.churn_rate, *c.retention]
        + [""] * (months - len(c.retention))
        for c in report.cohorts
    ]
    _emit(report, "Retention", header, rows, fmt)


@report_cli.command("omnichannel")
@friendly_errors
def report_omnichannel(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    start: str | None = FromOption,
    end: str | None = ToOption,
    fmt: str = FormatOption,
) -> None:
    """Omnichannel share, and omnichannel against single-channel customers."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        report = ReportService(session).omnichannel(
            ws.id, parse_day(start, "--from"), parse_day(end, "--to")
        )
    header = [
        "segment",
        "customers",
        "orders",
        "revenue",
        "spend/customer",
        "orders/customer",
        "repeat",
    ]
    rows: list[list[Any]] = [
        [
            s.segment,
            s.customers,
            s.orders,
            s.revenue,
            s.spend_per_customer,
            s.orders_per_customer,
            s.repeat_rate,
        ]
        for s in report.segments
    ]
    rows.append(["share", report.omnichannel_customers, "", "", "", "", report.share])
    _emit(report, f"Omnichannel share {report.share:.1%}", header, rows, fmt)


@report_cli.command("attribution")
@friendly_errors
def report_attribution(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    start: str | None = FromOption,
    end: str | None = ToOption,
    model: str | None = typer.Option(None, help="One model; every model when absent"),
    group_by: str = typer.Option("channel", help="channel or campaign"),
    lookback_days: int = typer.Option(DEFAULT_LOOKBACK_DAYS, help="Touches this many days back"),
    conversion_event: list[str] = typer.Option(
        [], "--conversion-event", help="An event name that also counts as a conversion"
    ),
    fmt: str = FormatOption,
) -> None:
    """Conversions credited per channel by every attribution model, side by side."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        report = ReportService(session).attribution(
            ws.id, parse_day(start, "--from"), parse_day(end, "--to"),
            model=model, group_by=group_by, lookback_days=lookback_days,
            conversion_events=tuple(conversion_event),
        )  # fmt: skip
    models = list(report.models)
    channels = sorted({c.channel for credits in report.models.values() for c in credits})
    credit = {(name, c.channel): c.conversions for name, cs in report.models.items() for c in cs}
    rows = [
        [channel, *(credit.get((name, channel), "") for name in models)] for channel in channels
    ]
    _emit(
        report, f"Attribution of {report.conversions} conversions", [group_by, *models], rows, fmt
    )


@report_cli.command("clv")
@friendly_errors
def report_clv(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    end: str | None = typer.Option(None, "--to", help="Value as of this day (YYYY-MM-DD)"),
    months: int = typer.Option(DEFAULT_CLV_MONTHS, help="Horizon in months"),
    monthly_discount_rate: float = typer.Option(DEFAULT_MONTHLY_DISCOUNT, help="0.01 = 1 %/month"),
    fmt: str = FormatOption,
) -> None:
    """Lifetime value (BG/NBD and Gamma-Gamma) per segment, with the fitted parameters."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        report = ReportService(session).lifetime_value(
            ws.id,
            parse_day(end, "--to"),
            months=months,
            monthly_discount_rate=monthly_discount_rate,
        )
    header = ["dimension", "segment", "customers", "average value", "total value", "alive"]
    rows: list[list[Any]] = [
        [s.dimension, s.segment, s.customers, s.average_value, s.total_value, s.share_alive]
        for s in report.segments
    ]
    rows += [
        [f"{p.model} {p.name}", f"{p.estimate} ± {p.standard_error}", "", "", "", ""]
        for p in report.parameters
    ]
    title = f"Lifetime value over {report.months} months: {report.average_value} per customer"
    _emit(report, title, header, rows, fmt)


@report_cli.command("refresh")
@friendly_errors
def report_refresh(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    queue: bool = typer.Option(False, "--queue", help="Queue it for the worker instead"),
) -> None:
    """Compute the scorecard's snapshots now (lifetime value, retention, omnichannel share,
    attribution over the default window) and store them for the dashboard and the API."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = SnapshotService(session)
        if queue:
            job = service.request_refresh(ws.id, f"cli:{service.clock().isoformat()}")
            console().print(f"Queued {job.id}: the worker refreshes {ws.slug}'s snapshots.")
            return
        took = service.refresh(ws.id)
        stored = service.stored(ws.id)
    table = Table("report", "as of (UTC)", "computed in", title=f"Snapshots of {ws.slug}")
    for kind, ms in took.items():
        table.add_row(kind, f"{stored[kind].as_of:%Y-%m-%d %H:%M:%S}", f"{ms / 1000:.2f} s")
    console().print(table)


analytics_cli = typer.Typer(help="The analytics layer's canonical tables.")


@analytics_cli.command("export")
@friendly_errors
def analytics_export(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="Folder to write <table>.parquet files into"),
    workspace: str = WorkspaceOption,
) -> None:
    """Write the canonical tables (orders, order lines, events, profiles) to Parquet, for
    DuckDB, Spark or any reader; the same metrics run on them unchanged."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        try:
            written = export(from_session(session, ws.id), directory)
        except OSError as exc:
            raise fail(f"{directory}: {exc.strerror or exc}") from None
    for name, count in written.items():
        console().print(f"{directory / (name + '.parquet')}: {count} rows")
