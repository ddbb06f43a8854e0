"""``tessera orders``: read canonical orders from the terminal."""

from __future__ import annotations

import typer
from rich.table import Table

from tessera.cli_support import console, context, friendly_errors
from tessera.kit.money import Money
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService

orders_cli = typer.Typer(help="Orders from every channel.", no_args_is_help=True)


@orders_cli.command("list")
@friendly_errors
def orders_list(
    ctx: typer.Context,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    channel: str = typer.Option(None, help="Only this channel (web, amazon, store:soho...)"),
    email: str = typer.Option(None, help="Only this customer's orders"),
    limit: int = typer.Option(50, min=1, max=200, help="How many, newest first"),
) -> None:
    """List orders, newest first."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        page = OrderService(session).list(ws.id, None, limit, channel, email)
        table = Table("placed", "platform", "number", "channel", "status", "total", "email")
        table.add_column("id", no_wrap=True)
        for order in page.items:
            table.add_row(
                order.placed_at.isoformat(timespec="minutes"),
                order.platform,
                order.order_number,
                order.channel,
                order.status.value,
                str(Money(order.total, order.currency)),
                order.customer_email or "",
                order.id,
            )
        console().print(table)
