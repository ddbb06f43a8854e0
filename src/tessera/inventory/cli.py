"""``tessera inventory``: balances, stock changes and the ledger check from the terminal."""

from __future__ import annotations

import typer
from rich.table import Table

from tessera.catalog.service import CatalogService
from tessera.cli_support import console, context, friendly_errors
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.workspace.service import WorkspaceService

inventory_cli = typer.Typer(help="Stock per SKU and location.", no_args_is_help=True)
WORKSPACE = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")
KEY = typer.Option(None, "--key", help="Idempotency key: the same key again changes nothing")


@inventory_cli.command("verify")
@friendly_errors
def inventory_verify(
    ctx: typer.Context,
    workspace: str = typer.Option(None, "--workspace", "-w", help="One workspace (default all)"),
    repair: bool = typer.Option(False, "--repair", help="Set drifted balances to the ledger"),
) -> None:
    """Recompute every balance from the ledger and report drift; exit 1 if any is left."""
    left = 0
    with context(ctx).session() as session:
        verifier = VerifyService(session)
        if workspace:
            ids = [WorkspaceService(session).find_workspace(workspace).id]
        else:
            ids = verifier.workspaces_with_stock()
        for workspace_id in ids:
            report = verifier.verify(workspace_id, repair=repair)
            console().print(
                f"{workspace_id}: {report.balances_checked} balances checked, "
                f"{len(report.drift)} drifted, {report.repaired} repaired"
            )
            for d in report.drift:
                console().print(
                    f"  {d.variant_id} @ {d.location_id} {d.counter}: balance {d.balance}, "
                    f"{d.source} says {d.expected}",
                    highlight=False,
                )
            repaired = sum(1 for d in report.drift if d.source == "ledger") if repair else 0
            left += len(report.drift) - repaired
    if left:
        raise typer.Exit(1)


@inventory_cli.command("show")
@friendly_errors
def inventory_show(ctx: typer.Context, sku: str, workspace: str = WORKSPACE) -> None:
    """A SKU's counters at every location."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        variant = CatalogService(session).variant_by_sku(ws.id, sku)
        stock = StockService(session)
        codes = {loc.id: loc.code for loc in LocationService(session).locations(ws.id)}
        table = Table(
            "location",
            "on hand",
            "reserved",
            "committed",
            "incoming",
            "damaged",
            "safety",
            "available",
            "sellable",
        )
        ids = [variant.id]
        components = CatalogService(session).components(ids)
        if components:
            console().print(f"{sku} is a bundle; sellable from its components:")
            sellable = stock.sellable_by_location(ws.id, ids, list(codes))
            for location_id, code in sorted(codes.items(), key=lambda x: x[1]):
                console().print(f"  {code}: {sellable[(variant.id, location_id)]}")
            return
        for balance, free in stock.balances(ws.id, ids):
            table.add_row(
                codes.get(balance.location_id, balance.location_id),
                *(
                    str(getattr(balance, n))
                    for n in ("on_hand", "reserved", "committed", "incoming", "damaged", "safety")
                ),
                str(
                    balance.on_hand
                    - balance.reserved
                    - balance.committed
                    - balance.damaged
                    - balance.safety
                ),
                str(free),
            )
        console().print(table)


@inventory_cli.command("adjust")
@friendly_errors
def inventory_adjust(
    ctx: typer.Context,
    sku: str,
    location: str,
    delta: int,
    workspace: str = WORKSPACE,
    key: str = KEY,
    note: str = typer.Option(None, help="Why"),
) -> None:
    """Add (or, negative, remove) units on hand."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        applied = StockService(session).adjust(ws.id, sku, location, delta, key, note)
    console().print("adjusted" if applied else "already applied (same key)")


@inventory_cli.command("receive")
@friendly_errors
def inventory_receive(
    ctx: typer.Context,
    sku: str,
    location: str,
    quantity: int,
    workspace: str = WORKSPACE,
    key: str = KEY,
) -> None:
    """Goods in: on hand grows, incoming shrinks by what was expected."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        applied = StockService(session).receive(ws.id, sku, location, quantity, key)
    console().print("received" if applied else "already applied (same key)")


@inventory_cli.command("count")
@friendly_errors
def inventory_count(
    ctx: typer.Context,
    sku: str,
    location: str,
    counted: int,
    workspace: str = WORKSPACE,
    key: str = KEY,
) -> None:
    """A cycle count: on hand becomes what was counted."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        applied = StockService(session).count(ws.id, sku, location, counted, key)
    console().print("counted" if applied else "already applied (same key)")


@inventory_cli.command("transfer")
@friendly_errors
def inventory_transfer(
    ctx: typer.Context,
    sku: str,
    from_location: str,
    to_location: str,
    quantity: int,
    workspace: str = WORKSPACE,
    key: str = KEY,
) -> None:
    """Move available units from one location to another."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        applied = StockService(session).transfer(
            ws.id, sku, from_location, to_location, quantity, key
        )
    console().print("transferred" if applied else "already applied (same key)")
