"""``tessera quarantine``: refused records listed, replayed once fixed, or discarded."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tessera.cli_support import console, context, fail, friendly_errors
from tessera.collect.quarantine import QuarantineService
from tessera.models.collect import QuarantineStatus
from tessera.workspace.cli import workspace_session

quarantine_cli = typer.Typer(
    help="Refused records: list them, replay them once fixed, or discard them.",
    no_args_is_help=True,
)
WORKSPACE = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")


@quarantine_cli.command("list")
@friendly_errors
def quarantine_list(
    ctx: typer.Context,
    workspace: str = WORKSPACE,
    status: str = typer.Option("open", help="open, replayed, discarded or all"),
    limit: int = typer.Option(50, min=1, max=200, help="How many, newest first"),
) -> None:
    """List refused records with why and where they came from."""
    wanted = None if status == "all" else _status(status)
    with workspace_session(context(ctx), workspace) as (session, ws):
        page = QuarantineService(session).list_quarantine(ws.id, wanted, None, limit)
        table = Table("when", "kind", "origin", "reason", "field", "status")
        table.add_column("id", no_wrap=True)
        for entry in page.items:
            table.add_row(
                entry.created_at.isoformat(timespec="seconds"),
                entry.kind,
                entry.origin,
                entry.reason,
                entry.field or "",
                entry.status.value,
                entry.id,
            )
        console().print(table)


def _status(value: str) -> QuarantineStatus:
    try:
        return QuarantineStatus(value)
    except ValueError:
        raise fail("--status must be open, replayed, discarded or all") from None


@quarantine_cli.command("replay")
@friendly_errors
def quarantine_replay(
    ctx: typer.Context,
    entry_id: str = typer.Argument(...),
    workspace: str = WORKSPACE,
    payload: Path = typer.Option(
        None, help="A JSON file with the fixed record ('-' reads standard input)"
    ),
) -> None:
    """Apply a refused record again, as stored or as fixed in --payload."""
    fixed: Any = None
    if payload is not None:
        text = sys.stdin.read() if str(payload) == "-" else payload.read_text()
        try:
            fixed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise fail(f"--payload is not JSON: {exc}") from None
    with workspace_session(context(ctx), workspace) as (session, ws):
        entry = QuarantineService(session).replay(ws.id, entry_id, fixed, actor="cli")
        console().print(f"replayed {entry.id}: {entry.resolution}")


@quarantine_cli.command("discard")
@friendly_errors
def quarantine_discard(
    ctx: typer.Context,
    entry_id: str = typer.Argument(...),
    workspace: str = WORKSPACE,
    why: str = typer.Option(..., help="Why it is dropped (kept with the record)"),
) -> None:
    """Close a refused record without applying it; it stays readable."""
    with workspace_session(context(ctx), workspace) as (session, ws):
        entry = QuarantineService(session).discard(ws.id, entry_id, why, actor="cli")
        console().print(f"discarded {entry.id}")
