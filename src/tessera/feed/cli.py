"""``tessera feeds``: each channel feed's status, pushing from the terminal, and sealing every
feed's credentials again under the current key after the secret key changed."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Column, Table

from tessera.cli_support import console, context, error_console, friendly_errors, print_table
from tessera.feed.errors import FeedNotFound
from tessera.feed.push import FeedPusher
from tessera.feed.service import FeedService
from tessera.workspace.service import WorkspaceService

feeds_cli = typer.Typer(help="Channel availability feeds.", no_args_is_help=True)


@feeds_cli.command("status")
@friendly_errors
def feeds_status(
    ctx: typer.Context,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
) -> None:
    """Every feed: listings, failing ones, last push, lag and the newest error."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        table = Table(Column("channel", no_wrap=True), "adapter", "on", "listings", "failing",
                      "last push (UTC)", "lag s", "last error")  # fmt: skip
        for status in FeedService(session).statuses(ws.id):
            feed = status.feed
            table.add_row(
                feed.channel,
                feed.adapter.value,
                "yes" if feed.is_enabled else "no",
                str(status.listings),
                str(status.failing),
                status.last_pushed_at.strftime("%Y-%m-%d %H:%M:%S")
                if status.last_pushed_at
                else "",
                "" if status.last_lag_ms is None else f"{status.last_lag_ms / 1000:.2f}",
                (status.last_error or "")[:60],
            )
        print_table(table)


@feeds_cli.command("push")
@friendly_errors
def feeds_push(
    ctx: typer.Context,
    channel: str = typer.Argument(..., help="The feed's channel: web, amazon, tiktok_shop..."),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    sku: list[str] = typer.Option(None, "--sku", help="Only these SKUs (repeatable)"),
    now: bool = typer.Option(False, "--now", help="Also push here, one listing at a time"),
) -> None:
    """Recompute a channel's quantities and queue a push per listing (changed ones are sent).

    With --now each listing is also pushed from this process; the queued jobs then find the
    quantities unchanged and send nothing.
    """
    cli = context(ctx)
    with cli.session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = FeedService(session)
        feed = next((f for f in service.list_feeds(ws.id) if f.channel == channel), None)
        if feed is None:
            raise FeedNotFound(f"no feed for channel {channel}", field="channel")
        queued = service.request_push(ws.id, feed.id, sku or None)
        listing_ids = service.pushable_listing_ids(ws.id, feed.id, sku or None)
        workspace_id, feed_id = ws.id, feed.id
    console().print(f"queued {queued} listing push(es) on {channel}")
    if not now:
        return
    results: dict[str, int] = {}
    errors: dict[str, int] = {}
    for listing_id in listing_ids:
        with cli.session() as session:
            outcome = FeedPusher(session).push_listing(workspace_id, feed_id, listing_id)
        results[outcome.result] = results.get(outcome.result, 0) + 1
        if outcome.error:
            errors[outcome.error] = errors.get(outcome.error, 0) + 1
    console().print(", ".join(f"{n} {result}" for result, n in sorted(results.items())) or "none")
    for error, n in sorted(errors.items()):
        error_console().print(
            f"[red]failed ({n}):[/red] {escape(error)}", highlight=False, soft_wrap=True
        )


@feeds_cli.command("reseal")
@friendly_errors
def feeds_reseal(ctx: typer.Context) -> None:
    """Seal every feed's credentials again under TESSERA_SECRET_KEY, in every workspace.

    After the secret key changed (the old one in TESSERA_PREVIOUS_SECRET_KEYS), run this and
    `tessera connectors reseal`; then the old key can be removed. Changes nothing if any
    feed's credentials cannot be opened, and says which.
    """
    with context(ctx).session() as session:
        count = FeedService(session).reseal_credentials()
    console().print(f"sealed the credentials of {count} feed(s) under the current key")
