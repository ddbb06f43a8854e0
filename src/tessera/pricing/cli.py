"""``tessera prices``: set prices and read the parity report from the terminal."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table

from tessera.cli_support import console, context, friendly_errors, print_table
from tessera.kit.money import Money
from tessera.pricing.schemas import PriceIn
from tessera.pricing.service import PriceService
from tessera.workspace.service import WorkspaceService

prices_cli = typer.Typer(help="Prices per SKU per channel, and parity.", no_args_is_help=True)


@prices_cli.command("set")
@friendly_errors
def prices_set(
    ctx: typer.Context,
    sku: str = typer.Argument(..., help="The SKU"),
    channel: str = typer.Argument(..., help="web, amazon, tiktok_shop, store:soho..."),
    price: str = typer.Argument(..., help="In major units: 19.99"),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    currency: str = typer.Option("USD", help="ISO 4217 code"),
    effective_at: datetime = typer.Option(None, help="When it took effect (default: now)"),
) -> None:
    """Set a SKU's price on a channel; prints it with its Omnibus prior price and alerts."""
    money = Money.parse(price, currency)
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = PriceService(session)
        data = PriceIn(
            sku=sku,
            channel=channel,
            amount=money.amount,
            currency=money.currency,
            effective_at=effective_at,
        )
        current, alerts = service.set_price(ws.id, data, actor="cli")
        prior = service.lowest_prior(ws.id, sku, channel, current.effective_at)
        console().print(
            f"{sku} on {channel}: {Money(current.amount, current.currency)}"
            + (f" (lowest of the prior 30 days: {Money(prior, current.currency)})" if prior else "")
        )
        for alert in alerts:
            reference = Money(alert.reference_amount, alert.currency)
            console().print(
                f"[red]parity alert[/red] {alert.channel} {alert.breach.value}: "
                f"{Money(alert.amount, alert.currency)} vs {reference}"
            )


@prices_cli.command("report")
@friendly_errors
def prices_report(
    ctx: typer.Context,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    breaches_only: bool = typer.Option(False, "--breaches", help="Only prices that break parity"),
) -> None:
    """The parity report: every channel price against the site price and the floor."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        parity = PriceService(session).parity(ws.id)
        table = Table("sku", "channel", "price", "site", "vs site", "floor", "breaches")
        for row in parity.rows:
            if breaches_only and not row.breaches:
                continue
            table.add_row(
                row.sku,
                row.channel,
                str(Money(row.amount, row.currency)),
                str(Money(row.site_amount, row.currency)) if row.site_amount is not None else "",
                f"{row.basis_points_vs_site / 100:+.2f}%"
                if row.basis_points_vs_site is not None
                else "",
                str(Money(row.floor, row.currency)) if row.floor is not None else "",
                ", ".join(b.value for b in row.breaches),
            )
        print_table(table)
        console().print(
            f"site channel {parity.site_channel}, allowed above it "
            f"{parity.max_above_basis_points / 100:.2f}%: {parity.breaches} breach(es)"
        )
