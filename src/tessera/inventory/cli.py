"""``tessera inventory``: balances, stock changes, the ledger, oversold positions, locations
and the ledger check from the terminal: the twins of the dashboard's SKU, location and
Inventory pages (which name orders by number; here they are named by id)."""

from __future__ import annotations

import typer
from rich.table import Table

from tessera.catalog.service import CatalogService
from tessera.cli_support import console, context, friendly_errors, print_table
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.promises import PromiseService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.workspace.service import WorkspaceService

inventory_cli = typer.Typer(help="Stock per SKU and location.", no_args_is_help=True)
WORKSPACE = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")
KEY = typer.Option(None, "--key", help="Idempotency key: the same key again changes nothing")
NOTE = typer.Option(None, "--note", help="Why: kept in the ledger")
COUNTERS = ("on_hand", "reserved", "committed", "incoming", "damaged", "safety")


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
        print_table(table)


@inventory_cli.command("adjust")
@friendly_errors
def inventory_adjust(
    ctx: typer.Context,
    sku: str,
    location: str,
    delta: int,
    workspace: str = WORKSPACE,
    key: str = KEY,
    note: str = NOTE,
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
    note: str = NOTE,
) -> None:
    """Goods in: on hand grows, incoming shrinks by what was expected."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        applied = StockService(session).receive(ws.id, sku, location, quantity, key, note)
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
    note: str = NOTE,
) -> None:
    """A cycle count: on hand becomes what was counted."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        applied = StockService(session).count(ws.id, sku, location, counted, key, note)
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
    note: str = NOTE,
) -> None:
    """Move available units from one location to another."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        applied = StockService(session).transfer(
            ws.id, sku, from_location, to_location, quantity, key, note
        )
    console().print("transferred" if applied else "already applied (same key)")


@inventory_cli.command("damage")
@friendly_errors
def inventory_damage(
    ctx: typer.Context,
    sku: str,
    location: str,
    quantity: int,
    workspace: str = WORKSPACE,
    write_off: bool = typer.Option(False, "--write-off", help="Off on hand at once"),
    key: str = KEY,
    note: str = NOTE,
) -> None:
    """Take available units out of sale as damaged (or write them off)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        applied = StockService(session).damage(ws.id, sku, location, quantity, write_off, key, note)
    done = "written off" if write_off else "marked damaged"
    console().print(done if applied else "already applied (same key)")


@inventory_cli.command("ledger")
@friendly_errors
def inventory_ledger(
    ctx: typer.Context,
    sku: str = typer.Argument(None, help="One SKU (default every SKU)"),
    workspace: str = WORKSPACE,
    location: str = typer.Option(None, "--location", "-l", help="One location code"),
    limit: int = typer.Option(20, min=1, max=200),
    cursor: str = typer.Option(None, help="The cursor the previous page printed"),
) -> None:
    """Ledger entries, newest first: what changed, why and from which document."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        catalog = CatalogService(session)
        variant_id = catalog.variant_by_sku(ws.id, sku).id if sku else None
        locations = LocationService(session)
        location_id = locations.location_by_code(ws.id, location).id if location else None
        page = StockService(session).ledger(ws.id, variant_id, location_id, cursor, limit)
        skus = {
            v_id: v.sku
            for v_id, v in catalog.variants_by_id(ws.id, {e.variant_id for e in page.items}).items()
        }
        codes = {loc.id: loc.code for loc in locations.locations(ws.id)}
        table = Table("when (UTC)", "sku", "location", "reason", "change", "why")
        for entry in page.items:
            change = " ".join(
                f"{name.replace('_', ' ')} {getattr(entry, f'{name}_delta'):+d}"
                for name in COUNTERS
                if getattr(entry, f"{name}_delta")
            )
            table.add_row(
                entry.created_at.strftime("%Y-%m-%d %H:%M"),
                skus.get(entry.variant_id, entry.variant_id),
                codes.get(entry.location_id, entry.location_id),
                entry.reason.value,
                change,
                entry.note or entry.source_type,
            )
        print_table(table)
        if page.next_cursor:
            console().print(f"more: --cursor {page.next_cursor}", highlight=False)


@inventory_cli.command("oversold")
@friendly_errors
def inventory_oversold(
    ctx: typer.Context,
    workspace: str = WORKSPACE,
    sku: str = typer.Option(None, help="One SKU"),
    location: str = typer.Option(None, "--location", "-l", help="One location code"),
    limit: int = typer.Option(100, min=1, max=200),
) -> None:
    """Balances promising more than they hold, the shortest first, with the orders and holds
    behind each."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        catalog = CatalogService(session)
        locations = LocationService(session)
        variant_ids = [catalog.variant_by_sku(ws.id, sku).id] if sku else None
        location_ids = [locations.location_by_code(ws.id, location).id] if location else None
        positions = PromiseService(session).oversold(ws.id, limit, variant_ids, location_ids)
        skus = {
            v_id: v.sku
            for v_id, v in catalog.variants_by_id(
                ws.id, {p.balance.variant_id for p in positions}
            ).items()
        }
        codes = {loc.id: loc.code for loc in locations.locations(ws.id)}
        for position in positions:
            b = position.balance
            console().print(
                f"{skus[b.variant_id]} at {codes[b.location_id]}: {position.short} short "
                f"(on hand {b.on_hand}, held {b.reserved}, committed {b.committed}, "
                f"damaged {b.damaged})",
                highlight=False,
            )
            for order in position.orders:
                mark = ", backorder" if order.is_backorder else ""
                console().print(
                    f"  order {order.order_id} line {order.line_key}: {order.units} open{mark}",
                    highlight=False,
                )
            if position.open_orders > len({o.order_id for o in position.orders}):
                console().print(f"  {position.open_orders} orders in all", highlight=False)
            for hold in position.holds:
                console().print(
                    f"  hold {hold.reservation_id} ({hold.channel}): {hold.quantity}",
                    highlight=False,
                )
    if not positions:
        console().print("nothing oversold")


@inventory_cli.command("locations")
@friendly_errors
def inventory_locations(ctx: typer.Context, workspace: str = WORKSPACE) -> None:
    """Every location, and the channels each one feeds."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = LocationService(session)
        feeds: dict[str, list[str]] = {}
        for channel, ranked in sorted(service.channel_feeds(ws.id).items()):
            for rank, fed in ranked:
                feeds.setdefault(fed.id, []).append(f"{channel} #{rank}")
        table = Table("code", "name", "kind", "pickup", "feeds")
        for loc in service.locations(ws.id):
            table.add_row(
                loc.code,
                loc.name,
                loc.kind.value,
                "yes" if loc.is_pickup_enabled else "",
                ", ".join(feeds.get(loc.id, [])),
            )
        print_table(table)


@inventory_cli.command("location")
@friendly_errors
def inventory_location(ctx: typer.Context, code: str, workspace: str = WORKSPACE) -> None:
    """One location: its stock, the checkout holds live there and the pickups waiting."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        place = LocationService(session).location_by_code(ws.id, code)
        stock = StockService(session).balances(ws.id, None, [place.id])
        promises = PromiseService(session)
        holds = promises.holds_at(ws.id, place.id)
        pickups = promises.pickups_at(ws.id, place.id)
        ids = {b.variant_id for b, _ in stock} | {h.variant_id for h in holds}
        ids |= {p.variant_id for p in pickups}
        skus = {
            v_id: v.sku for v_id, v in CatalogService(session).variants_by_id(ws.id, ids).items()
        }
        console().print(f"{place.name} ({place.code}, {place.kind.value})", highlight=False)
        table = Table("sku", "on hand", "held", "committed", "incoming", "damaged", "sellable")
        for balance, sellable in sorted(stock, key=lambda row: skus.get(row[0].variant_id, "")):
            table.add_row(
                skus.get(balance.variant_id, balance.variant_id),
                *(str(getattr(balance, n)) for n in COUNTERS if n != "safety"),
                str(sellable),
            )
        print_table(table)
        for hold in holds:
            console().print(
                f"hold {hold.reservation_id} ({hold.channel}): {hold.quantity} "
                f"{skus.get(hold.variant_id, hold.variant_id)}, expires "
                f"{hold.expires_at:%Y-%m-%d %H:%M} UTC",
                highlight=False,
            )
        for pickup in pickups:
            console().print(
                f"pickup waiting: order {pickup.order_id}, {pickup.units} "
                f"{skus.get(pickup.variant_id, pickup.variant_id)}",
                highlight=False,
            )
