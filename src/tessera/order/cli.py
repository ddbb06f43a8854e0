"""``tessera orders``: list (filtered, paged, or as CSV) and show canonical orders."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from tessera.cli_support import console, context, friendly_errors, print_table
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
    status: str = typer.Option(None, help="Only this status (placed, fulfilled, refunded...)"),
    placed_from: datetime = typer.Option(
        None, "--from", formats=["%Y-%m-%d"], help="First UTC day"
    ),
    placed_to: datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"], help="Last UTC day"),
    store: str = typer.Option(None, help="Only this store (location reference)"),
    email: str = typer.Option(None, help="Only this customer's orders"),
    number: str = typer.Option(None, help="The order number, with or without #"),
    cursor: str = typer.Option(None, help="Where the previous page ended"),
    limit: int = typer.Option(50, min=1, max=200, help="How many, newest first"),
    csv_path: Path = typer.Option(
        None, "--csv", help="Write every matching order to this CSV file instead"
    ),
) -> None:
    """List orders, newest first, as a table or a CSV file."""
    service_filter = OrderService.make_filter(
        channel,
        status,
        placed_from.date() if placed_from else None,
        placed_to.date() if placed_to else None,
        store,
        email,
        number,
    )
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = OrderService(session)
        if csv_path is not None:
            text, truncated = service.export_csv(ws.id, service_filter)
            csv_path.write_text(text, encoding="utf-8")
            rows = text.count("\n") - 1
            more = " (stopped at the limit: narrow the filter for the rest)" if truncated else ""
            console().print(f"Wrote {rows} orders to {csv_path}{more}")
            return
        page = service.list(ws.id, cursor, limit, service_filter)
        table = Table("placed (UTC)", "number", "channel", "status", "total", "customer")
        table.add_column("id", no_wrap=True)
        for order in page.items:
            table.add_row(
                order.placed_at.strftime("%Y-%m-%d %H:%M"),
                order.order_number,
                order.channel,
                order.status.value,
                str(Money(order.total, order.currency)),
                order.customer_email or "",
                order.id,
            )
        print_table(table)
        if page.next_cursor:
            console().print(f"More: --cursor {page.next_cursor}")


@orders_cli.command("show")
@friendly_errors
def orders_show(
    ctx: typer.Context,
    order_id: str = typer.Argument(..., help="The order's id (ord_...)"),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
) -> None:
    """One order: lines, money, refunds, history, customer, holds and routing."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        record = OrderService(session).record(ws.id, order_id)
        order = record.order
        out = console()

        def money(amount: int) -> str:
            return str(Money(amount, order.currency))

        out.print(
            f"[bold]{order.order_number}[/bold] {order.platform} · {order.channel}"
            f"{' · ' + order.location_ref if order.location_ref else ''} · {order.status.value}"
        )
        out.print(f"id {order.id} · placed {order.placed_at.strftime('%Y-%m-%d %H:%M')} UTC")
        out.print(f"customer {order.customer_email or '—'} · profile {record.profile_id or '—'}")
        lines = Table("sku", "title", "qty", "unit", "total")
        for line in record.lines:
            lines.add_row(
                line.sku or "",
                line.title,
                str(line.quantity),
                money(line.unit_price),
                money(line.total),
            )
        print_table(lines, out)
        out.print(
            f"subtotal {money(order.subtotal)} · discount {money(order.discount)} · "
            f"shipping {money(order.shipping)} · tax {money(order.tax)} · "
            f"total {money(order.total)} · refunded {money(order.refunded_total)}"
        )
        history = Table("when (UTC)", "what", "detail")
        for entry in record.history:
            history.add_row(entry.at.strftime("%Y-%m-%d %H:%M"), entry.what, entry.detail)
        print_table(history, out)
        for held in record.reservations:
            units = sum(q for _, _, q in held.lines)
            out.print(f"hold {held.id} · {held.status} · {units} units")
        if record.routing:
            out.print(
                f"routing: {record.routing['method']} · " + "; ".join(record.routing["reasons"])
            )
