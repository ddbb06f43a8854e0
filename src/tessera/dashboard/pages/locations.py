"""Locations: every warehouse, store, 3PL, FBA and partner shelf, and one location's page: the
channels it feeds, what it holds (a page at a time), oversold positions there with the orders
behind them, its stock movements (a page at a time), the checkout holds live there and, at a
store, the pickup (BOPIS) orders waiting to be collected.

Everyone signed in may look; stock is changed on each SKU's page. API twins: ``GET
/v1/locations``, ``/v1/locations/{code}`` (its holds and pickups), ``/v1/stock?location=``,
``/v1/stock/ledger?location=`` and ``/v1/stock/oversold?location=``; the CLI's, ``tessera
inventory locations`` and ``tessera inventory location CODE``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request, Response

from tessera.catalog.service import CatalogService
from tessera.dashboard.pages.stock import COUNTERS, oversold_rows
from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, link, render
from tessera.http.routing import DbSession
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.promises import PromiseService
from tessera.inventory.service.stock import StockService
from tessera.kit.time import utcnow
from tessera.order.service import OrderService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

STOCK_ROWS = 50
LEDGER_ROWS = 25


@pages.get("/locations")
def locations(request: Request, member: SignedIn, session: DbSession) -> Response:
    """Every location, the channels each feeds (and at what rank), and where stock is
    oversold."""
    workspace_id = member.workspace.id
    service = LocationService(session)
    feeds: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for channel, ranked in sorted(service.channel_feeds(workspace_id).items()):
        for rank, location in ranked:
            feeds[location.id].append((channel, rank))
    short: dict[str, int] = defaultdict(int)
    for row in oversold_rows(session, workspace_id):
        short[row.location.id] += row.position.short
    context = {
        "member": member,
        "locations": service.locations(workspace_id),
        "feeds": feeds,
        "short": short,
    }
    return render(request, "locations.html", context)


@pages.get("/locations/{code}")
def location(
    request: Request,
    member: SignedIn,
    session: DbSession,
    code: str,
    stock_cursor: str | None = None,
    ledger_cursor: str | None = None,
) -> Response:
    """One location; another workspace's is not found. Its stock and its ledger page apart,
    each keeping the other's place."""
    workspace_id = member.workspace.id
    now = utcnow()
    service = LocationService(session)
    place = service.location_by_code(workspace_id, code)
    stock = StockService(session)
    balances, sellable = stock.balances_at(workspace_id, place.id, stock_cursor, STOCK_ROWS, now)
    ledger = stock.ledger(workspace_id, None, place.id, ledger_cursor, LEDGER_ROWS)
    promises = PromiseService(session)
    holds = promises.holds_at(workspace_id, place.id, now=now)
    pickups = promises.pickups_at(workspace_id, place.id)
    variant_ids = (
        {b.variant_id for b in balances.items}
        | {e.variant_id for e in ledger.items}
        | {h.variant_id for h in holds}
        | {p.variant_id for p in pickups}
    )
    skus = {
        variant_id: variant.sku
        for variant_id, variant in CatalogService(session)
        .variants_by_id(workspace_id, variant_ids)
        .items()
    }
    oversold = oversold_rows(session, workspace_id, location_ids=[place.id])

    def url(stock_at: str | None, ledger_at: str | None, anchor: str) -> str:
        return link(
            f"/locations/{place.code}", anchor, stock_cursor=stock_at, ledger_cursor=ledger_at
        )

    feeds = [
        (channel, rank)
        for channel, ranked in sorted(service.channel_feeds(workspace_id).items())
        for rank, fed in ranked
        if fed.id == place.id
    ]
    context: dict[str, Any] = {
        "member": member,
        "location": place,
        "feeds": feeds,
        "balances": balances,
        "sellable": sellable,
        "counters": COUNTERS,
        "short_of": {row.variant_id: row.position.short for row in oversold},
        "skus": skus,
        "ledger": ledger,
        "holds": holds,
        "pickups": pickups,
        "orders": OrderService(session).by_id(workspace_id, {p.order_id for p in pickups}),
        "oversold": oversold,
        "now": now,
        "first_stock_url": url(None, ledger_cursor, "stock"),
        "next_stock_url": url(balances.next_cursor, ledger_cursor, "stock")
        if balances.next_cursor
        else None,
        "first_ledger_url": url(stock_cursor, None, "movements"),
        "next_ledger_url": url(stock_cursor, ledger.next_cursor, "movements")
        if ledger.next_cursor
        else None,
        "is_first_stock_page": not stock_cursor,
        "is_first_ledger_page": not ledger_cursor,
    }
    return render(request, "location.html", context)
