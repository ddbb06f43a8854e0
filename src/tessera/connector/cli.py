"""``tessera import`` (events and orders from files) and ``tessera connectors``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from tessera.cli_support import (
    console,
    context,
    error_console,
    fail,
    friendly_errors,
    is_interactive,
    print_table,
)
from tessera.connector.errors import UnreadableFile
from tessera.connector.formats import OrderFormat
from tessera.connector.importer import (
    FileFormat,
    FileImporter,
    ImportProgress,
    ImportReport,
    ImportStart,
)
from tessera.connector.secrets import SourceSecrets
from tessera.connector.service import Rejected
from tessera.workspace.cli import workspace_session

import_cli = typer.Typer(
    help="Bulk import from files: streamed, committed in chunks, resumable.", no_args_is_help=True
)
SHOWN_REJECTIONS = 20
WORKSPACE = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")


@import_cli.command("events")
@friendly_errors
def import_events(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="JSONL (or one JSON document), CSV or Parquet of Segment-shaped events"
    ),
    workspace: str = WORKSPACE,
    file_format: FileFormat = typer.Option(
        None, "--file-format", help="jsonl, csv or parquet (default: from the extension)"
    ),
    chunk_size: int = typer.Option(1000, min=1, max=100_000, help="Records per transaction"),
    source: str = typer.Option(None, help="Source name the events are recorded under"),
    restart: bool = typer.Option(False, help="Read the file again from the first line"),
) -> None:
    """Import events; run the same command again to resume an interrupted import."""
    _run_import(ctx, file, workspace, "events", file_format, chunk_size, source, restart)


@import_cli.command("orders")
@friendly_errors
def import_orders(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="The platform's export: JSONL (or one JSON document), a TSV report or a CSV"
    ),
    order_format: OrderFormat = typer.Option(
        ..., "--format", help="shopify|tiktok|square (JSONL), amazon (TSV report), retail (CSV)"
    ),
    workspace: str = WORKSPACE,
    chunk_size: int = typer.Option(200, min=1, max=100_000, help="Records per transaction"),
    source: str = typer.Option(None, help="Source name, e.g. one of several Amazon accounts"),
    restart: bool = typer.Option(False, help="Read the file again from the first line"),
) -> None:
    """Import orders; run the same command again to resume an interrupted import."""
    _run_import(ctx, file, workspace, order_format, None, chunk_size, source, restart)


def _run_import(
    ctx: typer.Context,
    file: Path,
    workspace: str,
    kind: OrderFormat | str,
    file_format: FileFormat | None,
    chunk_size: int,
    source: str | None,
    restart: bool,
) -> None:
    cli = context(ctx)
    with workspace_session(cli, workspace) as (_session, found):
        workspace_id = found.id
    shown = 0
    is_parquet = file.suffix.lower() in (".parquet", ".pq")
    task: TaskID | None = None

    def on_start(start: ImportStart) -> None:
        if task is not None:  # shown once there is something to read
            size = None if is_parquet else file.stat().st_size
            progress.update(task, visible=True, total=size)
        if start.resumed_after_line is not None:
            unit = "row" if is_parquet else "line"
            console().print(
                f"resuming {file.name} after {unit} {start.resumed_after_line}: "
                f"{start.received_before} records were imported before"
            )

    def on_rejected(item: Rejected) -> None:
        nonlocal shown
        shown += 1
        if shown <= SHOWN_REJECTIONS:
            field = f" (field: {item.field})" if item.field else ""
            error_console().print(
                f"{file.name} {item.where}: {item.reason}{field}", highlight=False, soft_wrap=True
            )

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn()
        if file.suffix.lower() not in (".parquet", ".pq")
        else MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console(),
        disable=not is_interactive(),
    )

    def on_progress(state: ImportProgress) -> None:
        if task is not None:
            progress.update(task, completed=state.done, total=state.total)

    importer = FileImporter(
        cli.session,
        workspace_id,
        file,
        kind,
        file_format=file_format,
        chunk_size=chunk_size,
        source_name=source,
        on_start=on_start,
        on_progress=on_progress,
        on_rejected=on_rejected,
    )
    try:
        with progress:
            task = progress.add_task(file.name, total=None, visible=False)
            report = importer.run(restart=restart)
    except UnreadableFile as exc:
        entry = exc.extensions.get("quarantine_id")
        kept = f"; kept as {entry}" if entry else ""
        field = exc.extensions.get("field")
        raise fail(f"{exc.detail}{f' (field: {field})' if field else ''}{kept}") from None
    if shown > SHOWN_REJECTIONS:
        error_console().print(
            f"... and {shown - SHOWN_REJECTIONS} more refused; see `tessera quarantine list`"
        )
    _print_summary(report)
    if report.rejected_this_run:
        raise typer.Exit(1)


def _print_summary(report: ImportReport) -> None:
    if report.already_complete:
        console().print(
            f"{report.file_name} was imported completely before (run {report.run_id}); "
            "nothing to do. Use --restart to read it again."
        )
    table = Table("records", "count", title=f"{report.kind} from {report.file_name}")
    for name in ("received", "accepted", "duplicates", "rejected"):
        table.add_row(name, str(getattr(report, name)))
    print_table(table)
    if report.reasons:
        reasons = Table("rejected because", "records", title="top reasons")
        for reason, count in report.reasons[:5]:
            reasons.add_row(reason, str(count))
        print_table(reasons)


# Connector sources --------------------------------------------------------------------------

connectors_cli = typer.Typer(no_args_is_help=True)


@connectors_cli.callback()
def connectors() -> None:
    """Connector sources: Shopify shops, Amazon accounts, file imports."""


@connectors_cli.command("reseal")
@friendly_errors
def connectors_reseal(ctx: typer.Context) -> None:
    """Seal every source's secrets again under TESSERA_SECRET_KEY, in every workspace.

    After the secret key changed (the old one in TESSERA_PREVIOUS_SECRET_KEYS), run this and
    `tessera feeds reseal`; then the old key can be removed. Changes nothing if any source's
    secret cannot be opened, and says which.
    """
    with context(ctx).session() as session:
        count = SourceSecrets(session).reseal_secrets()
    console().print(f"sealed the secrets of {count} source(s) under the current key")
