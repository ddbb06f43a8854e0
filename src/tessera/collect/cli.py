"""``tessera quarantine``: refused records listed, replayed once fixed, or discarded."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tessera.cli_support import console, context, fail, friendly_errors, print_table
from tessera.collect.quarantine import BulkOutcome, QuarantineService, parse_group_token
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
    group: str = typer.Option(None, help="Only this group (see `tessera quarantine groups`)"),
) -> None:
    """List refused records with why and where they came from."""
    wanted = None if status == "all" else _status(status)
    with workspace_session(context(ctx), workspace) as (session, ws):
        page = QuarantineService(session).list_quarantine(
            ws.id, wanted, None, limit, parse_group_token(group) if group else None
        )
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
        print_table(table)


@quarantine_cli.command("groups")
@friendly_errors
def quarantine_groups(
    ctx: typer.Context,
    workspace: str = WORKSPACE,
    status: str = typer.Option("open", help="open, replayed, discarded or all"),
) -> None:
    """Refused records grouped by source, kind and field (or reason), largest first."""
    wanted = None if status == "all" else _status(status)
    with workspace_session(context(ctx), workspace) as (session, ws):
        groups = QuarantineService(session).groups(ws.id, wanted)
        table = Table("entries", "source", "kind", "field", "reason (one of them)")
        table.add_column("group", overflow="fold")
        for group in groups:
            table.add_row(
                str(group.entries),
                group.source_name,
                group.key.kind,
                group.key.field or "",
                group.sample_reason,
                group.token,
            )
        print_table(table)


def _status(value: str) -> QuarantineStatus:
    try:
        return QuarantineStatus(value)
    except ValueError:
        raise fail("--status must be open, replayed, discarded or all") from None


@quarantine_cli.command("replay")
@friendly_errors
def quarantine_replay(
    ctx: typer.Context,
    entry_ids: list[str] = typer.Argument(None, help="Entries to replay"),
    workspace: str = WORKSPACE,
    payload: Path = typer.Option(
        None, help="A JSON file with the fixed record ('-' reads standard input); one entry only"
    ),
    group: str = typer.Option(None, help="Replay every open entry of this group as stored"),
) -> None:
    """Apply refused records again, as stored or (one entry) as fixed in --payload."""
    fixed: Any = None
    if payload is not None:
        if group or len(entry_ids or []) != 1:
            raise fail("--payload fixes one entry: name exactly one entry id")
        text = sys.stdin.read() if str(payload) == "-" else payload.read_text()
        try:
            fixed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise fail(f"--payload is not JSON: {exc}") from None
    with workspace_session(context(ctx), workspace) as (session, ws):
        service = QuarantineService(session)
        if fixed is not None:
            entry = service.replay(ws.id, entry_ids[0], fixed, actor="cli")
            console().print(f"replayed {entry.id}: {entry.resolution}")
            return
        outcomes = service.replay_many(ws.id, _chosen(service, ws.id, entry_ids, group), "cli")
    _report(outcomes, "replayed")  # after the commit: the failures do not undo the others


@quarantine_cli.command("discard")
@friendly_errors
def quarantine_discard(
    ctx: typer.Context,
    entry_ids: list[str] = typer.Argument(None, help="Entries to discard"),
    workspace: str = WORKSPACE,
    why: str = typer.Option(..., help="Why they are dropped (kept with every record)"),
    group: str = typer.Option(None, help="Discard every open entry of this group"),
) -> None:
    """Close refused records without applying them; they stay readable."""
    with workspace_session(context(ctx), workspace) as (session, ws):
        service = QuarantineService(session)
        ids = _chosen(service, ws.id, entry_ids, group)
        outcomes = service.discard_many(ws.id, ids, why, actor="cli")
    _report(outcomes, "discarded")


def _chosen(
    service: QuarantineService, workspace_id: str, entry_ids: list[str] | None, group: str | None
) -> list[str]:
    if bool(entry_ids) == bool(group):
        raise fail("name entry ids or --group, one of the two")
    if group:
        ids = service.open_ids_in_group(workspace_id, parse_group_token(group))
        if not ids:
            raise fail("no open entry is left in that group")
        return ids
    return list(entry_ids or [])


def _report(outcomes: list[BulkOutcome], done: str) -> None:
    """One line per entry; the exit status is 1 when any was refused (after the others
    were committed: a refused entry never undoes the rest)."""
    failures = [o for o in outcomes if not o.is_done]
    if len(outcomes) == 1 and failures:
        raise fail(failures[0].detail)
    for outcome in outcomes:
        if not outcome.is_done:
            console().print(f"not {done} {outcome.entry_id}: {outcome.detail}")
        elif done == "replayed":
            console().print(f"{done} {outcome.entry_id}: {outcome.detail}")
        else:
            console().print(f"{done} {outcome.entry_id}")
    if failures:
        raise fail(f"{len(failures)} of {len(outcomes)} not {done}; the others were")
