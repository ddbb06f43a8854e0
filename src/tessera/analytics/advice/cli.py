"""``tessera report advice`` (which channel to add next, each sentence with its figures) and
``tessera analytics mmm-export`` (the weekly channel table for Robyn, Meridian or
PyMC-Marketing). Attached to ``tessera report`` and ``tessera analytics`` in ``tessera.cli``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tessera.analytics.advice.service import FORMATS, ChannelService
from tessera.analytics.report.cli import FromOption, ToOption, parse_day
from tessera.cli_support import console, context, fail, friendly_errors, print_table
from tessera.workspace.service import WorkspaceService

WorkspaceOption = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")


@friendly_errors
def report_advice(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    start: str | None = FromOption,
    end: str | None = ToOption,
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Which channel to add next: plain sentences, each with the figures behind it."""
    if fmt not in ("table", "json"):
        raise fail(f"--format must be table or json, not {fmt!r}")
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        report = ChannelService(session).advice(
            ws.id, parse_day(start, "--from"), parse_day(end, "--to")
        )
    if fmt == "json":
        console().print_json(report.model_dump_json())
        return
    out = console()
    window = report.window
    out.print(f"[bold]Channel advice[/bold], {window.start} to {window.end} "
              f"({window.time_zone}); as of {window.as_of:%Y-%m-%d %H:%M} UTC"
              + (f": {window.reason}" if window.reason else ""))  # fmt: skip
    for number, advice in enumerate(report.advice, 1):
        out.print(f"{number}. {advice.text}")
        out.print(f"   [dim]Would change: {advice.would_change}[/dim]")
    pairs = Table("channels", "customers", "spend each", title="Channel pairs")
    for pair in report.pairs:
        pairs.add_row(" + ".join(pair.channels), str(pair.customers),
                      f"{pair.spend_per_customer / 100:,.2f}")  # fmt: skip
    if report.pairs:
        print_table(pairs, out)


@friendly_errors
def analytics_mmm_export(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="File to write (.csv or .parquet)"),
    workspace: str = WorkspaceOption,
    start: str | None = FromOption,
    end: str | None = ToOption,
    shape: str = typer.Option("wide", help="wide (one row a week) or long (week x channel)"),
    fmt: str | None = typer.Option(None, "--format", help="csv or parquet (default: suffix)"),
) -> None:
    """Write the weekly channel table (spend, impressions, orders, revenue, new customers)
    that Robyn, Meridian and PyMC-Marketing read."""
    chosen = fmt or ("parquet" if path.suffix.lower() == ".parquet" else "csv")
    if chosen not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, not {chosen!r}")
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        body = ChannelService(session).mmm_export(
            ws.id, parse_day(start, "--from"), parse_day(end, "--to"), shape=shape, fmt=chosen
        )
    try:
        path.write_bytes(body)
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from None
    console().print(f"{path}: {len(body)} bytes ({shape}, {chosen})")
