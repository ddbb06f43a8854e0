"""Inventory: stock by SKU x location x channel, oversold positions with the orders behind
them, low stock, held reservations, drift between balances and the ledger, each channel feed's
pushes (last push, lag, errors) and price parity.

Everything comes from the inventory, catalog, feeds, orders and pricing services; this module
only arranges it for the page and builds the charts' Vega-Lite specs. ``oversold_rows`` is the
oversold table's data, shared by the SKU, location and overview pages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.dashboard import charts
from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, render
from tessera.feed.service import FeedService, FeedStatus
from tessera.http.routing import DbSession
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.promises import OversoldPosition, PromiseService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.kit.money import Money
from tessera.kit.time import utcnow
from tessera.models.feed import ListingFeedStatus
from tessera.models.inventory import Location, LocationKind, ReservationStatus
from tessera.order.service import OrderService
from tessera.pricing.service import PriceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

OVERSOLD_ROWS = 50
# A balance's counters, in the order the SKU and location pages show them.
COUNTERS = ("on_hand", "reserved", "committed", "incoming", "damaged", "safety")

LOW_STOCK = 5  # units available across the selling locations, at or below which a SKU is low
SKU_ROWS = 100
CHART_SKUS = 15
RESERVATION_ROWS = 20
DRIFT_ROWS = 20
SELLING_KINDS = (LocationKind.WAREHOUSE, LocationKind.STORE, LocationKind.THIRD_PARTY)


@dataclass
class SkuRow:
    """One SKU: what each location can sell and what each channel was last given."""

    sku: str
    variant_id: str
    is_bundle: bool
    by_location: dict[str, int] = field(default_factory=dict)  # location id -> sellable
    on_hand: dict[str, int] = field(default_factory=dict)
    channels: dict[str, tuple[ListingFeedStatus, int | None, int | None]] = field(
        default_factory=dict
    )

    @property
    def sellable(self) -> int:
        """Units sellable from our own locations (not FBA, not a partner's shelf)."""
        return sum(self.by_location.get(key, 0) for key in self.own_locations)

    own_locations: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderShown:
    """An order behind an oversold position, by the number its platform shows."""

    order_id: str
    number: str
    channel: str
    units: int
    is_backorder: bool


@dataclass(frozen=True)
class OversoldRow:
    sku: str
    variant_id: str
    location: Location
    position: OversoldPosition
    orders: list[OrderShown]

    @property
    def more_orders(self) -> int:
        """Orders with units open here that the row does not name."""
        return max(0, self.position.open_orders - len({o.order_id for o in self.orders}))


def oversold_rows(
    session: Session,
    workspace_id: str,
    limit: int = OVERSOLD_ROWS,
    variant_ids: Collection[str] | None = None,
    location_ids: Collection[str] | None = None,
) -> list[OversoldRow]:
    """The oversold positions (of these variants, at these locations), shortest first, with
    SKUs, locations and the orders behind them by number."""
    positions = PromiseService(session).oversold(workspace_id, limit, variant_ids, location_ids)
    if not positions:
        return []
    skus = CatalogService(session).variants_by_id(
        workspace_id, {p.balance.variant_id for p in positions}
    )
    locations = {loc.id: loc for loc in LocationService(session).locations(workspace_id)}
    orders = OrderService(session).by_id(
        workspace_id, {o.order_id for p in positions for o in p.orders}
    )
    rows = []
    for position in positions:
        shown = [
            OrderShown(
                order_id=o.order_id,
                number=orders[o.order_id].order_number if o.order_id in orders else o.order_id,
                channel=orders[o.order_id].channel if o.order_id in orders else "",
                units=o.units,
                is_backorder=o.is_backorder,
            )
            for o in position.orders
        ]
        variant = skus.get(position.balance.variant_id)
        rows.append(
            OversoldRow(
                sku=variant.sku if variant else position.balance.variant_id,
                variant_id=position.balance.variant_id,
                location=locations[position.balance.location_id],
                position=position,
                orders=shown,
            )
        )
    return rows


def stock_rows(
    variants: Sequence[tuple[str, str, bool]],
    locations: Sequence[Location],
    sellable: dict[tuple[str, str], int],
    on_hand: dict[tuple[str, str], int],
    channel_quantities: dict[tuple[str, str], tuple[ListingFeedStatus, int | None, int | None]],
) -> list[SkuRow]:
    """A row per (variant id, SKU, is bundle), SKUs in order."""
    own = tuple(loc.id for loc in locations if loc.kind in SELLING_KINDS)
    by_variant: dict[str, dict[str, tuple[ListingFeedStatus, int | None, int | None]]] = (
        defaultdict(dict)
    )
    for (variant_id, channel), value in channel_quantities.items():
        by_variant[variant_id][channel] = value
    rows = []
    for variant_id, sku, is_bundle in sorted(variants, key=lambda v: v[1]):
        rows.append(
            SkuRow(
                sku=sku,
                variant_id=variant_id,
                is_bundle=is_bundle,
                by_location={loc.id: sellable.get((variant_id, loc.id), 0) for loc in locations},
                on_hand={loc.id: on_hand.get((variant_id, loc.id), 0) for loc in locations},
                channels=dict(sorted(by_variant.get(variant_id, {}).items())),
                own_locations=own,
            )
        )
    return rows


def stock_chart(rows: Sequence[SkuRow], locations: Sequence[Location]) -> dict[str, Any]:
    """Stacked bars: sellable units of the SKUs with the most stock, one colour per location."""
    top = sorted(rows, key=lambda r: (-sum(r.by_location.values()), r.sku))[:CHART_SKUS]
    names = {loc.id: loc.name for loc in locations}
    values: list[dict[str, Any]] = [
        {"sku": row.sku, "location": names[loc_id], "units": units}
        for row in top
        for loc_id, units in row.by_location.items()
        if units > 0
    ]
    location_names = sorted({str(v["location"]) for v in values}) or [charts.NO_CHANNEL]
    return {
        "$schema": charts.SCHEMA,
        "description": "Sellable units by SKU and location",
        "width": "container",
        "height": 220,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": values or [{"sku": "", "location": charts.NO_CHANNEL, "units": 0}]},
        "mark": {"type": "bar", "cornerRadiusTopLeft": 2, "cornerRadiusTopRight": 2},
        "encoding": {
            "x": {"field": "sku", "type": "nominal", "title": "SKU", "sort": "-y",
                  "axis": {"labelAngle": -40}},
            "y": {"field": "units", "type": "quantitative", "stack": "zero", "title": "Units",
                  "axis": {"tickMinStep": 1, "format": "d"}},
            "color": {
                "field": "location", "type": "nominal", "title": None,
                "scale": {"domain": location_names, "range": [
                    charts.CHANNEL_PALETTE[i % len(charts.CHANNEL_PALETTE)]
                    for i in range(len(location_names))]},
                "legend": None if location_names == [charts.NO_CHANNEL] else charts.LEGEND_ON_TOP,
            },
            "tooltip": [
                {"field": "sku", "type": "nominal", "title": "SKU"},
                {"field": "location", "type": "nominal", "title": "Location"},
                {"field": "units", "type": "quantitative", "title": "Units"},
            ],
        },
        "config": charts.base_config(),
    }  # fmt: skip


def lag_chart(statuses: Sequence[FeedStatus]) -> dict[str, Any]:
    """Bars per channel: the lag of its newest push and the largest last lag, in seconds."""
    values = []
    for status in statuses:
        for what, lag in (("newest push", status.last_lag_ms), ("largest", status.max_lag_ms)):
            if lag is not None:
                values.append({"channel": status.feed.channel, "what": what, "seconds": lag / 1000})
    x_scale: dict[str, Any] = {"nice": True} if values else {"domain": [0, 10]}
    return {
        "$schema": charts.SCHEMA,
        "description": "Feed lag per channel, from the stock change to the channel taking it",
        "width": "container",
        "height": 160,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": values or [{"channel": "", "what": "newest push", "seconds": 0}]},
        "mark": {"type": "bar", "cornerRadiusEnd": 2},
        "encoding": {
            "y": {"field": "channel", "type": "nominal", "title": None},
            "yOffset": {"field": "what"},
            "x": {"field": "seconds", "type": "quantitative", "title": "Seconds",
                  "axis": {"format": ".1f"}, "scale": x_scale},
            "color": {"field": "what", "type": "nominal", "title": None,
                      "scale": {"domain": ["newest push", "largest"],
                                "range": ["#2563eb", "#93c5fd"]},
                      "legend": charts.LEGEND_ON_TOP},
            "tooltip": [
                {"field": "channel", "type": "nominal", "title": "Channel"},
                {"field": "what", "type": "nominal", "title": "Lag of"},
                {"field": "seconds", "type": "quantitative", "title": "Seconds", "format": ".2f"},
            ],
        },
        "config": charts.base_config(),
    }  # fmt: skip


@pages.get("/inventory")
def inventory(request: Request, member: SignedIn, session: DbSession) -> Response:
    """Stock, reservations, drift, feeds and price parity of the workspace."""
    workspace_id = member.workspace.id
    now = utcnow()
    stock = StockService(session)
    catalog = CatalogService(session)
    locations = list(LocationService(session).locations(workspace_id))
    variant_page = catalog.list_variants(workspace_id, limit=SKU_ROWS)
    variants = [(v.id, v.sku, v.is_bundle) for v in variant_page.items]
    variant_ids = [v[0] for v in variants]
    location_ids = [loc.id for loc in locations]
    sellable = (
        stock.sellable_by_location(workspace_id, variant_ids, location_ids, now)
        if variant_ids and location_ids
        else {}
    )
    on_hand = {
        (balance.variant_id, balance.location_id): balance.on_hand
        for balance, _free in stock.balances(workspace_id, variant_ids, location_ids, now)
    } if variant_ids else {}  # fmt: skip
    feeds = FeedService(session)
    rows = stock_rows(
        variants, locations, sellable, on_hand, feeds.channel_quantities(workspace_id)
    )
    channels = sorted({channel for row in rows for channel in row.channels})
    statuses = feeds.statuses(workspace_id)
    reservations, lines = ReservationService(session).list_reservations(
        workspace_id, limit=RESERVATION_ROWS, status=ReservationStatus.HELD
    )
    sku_of = {v[0]: v[1] for v in variants}
    sku_of.update(
        {vid: v.sku for vid, v in catalog.variants_by_id(
            workspace_id, {ln.variant_id for group in lines.values() for ln in group}
        ).items()}
    )  # fmt: skip
    drift = VerifyService(session).verify(workspace_id, repair=False, now=now)
    prices = PriceService(session)
    parity = prices.parity(workspace_id)
    context = {
        "member": member,
        "locations": locations,
        "location_names": {loc.id: loc.name for loc in locations},
        "rows": rows,
        "rows_truncated": variant_page.next_cursor is not None,
        "channels": channels,
        "low_stock": [row for row in rows if row.sellable <= LOW_STOCK],
        "low_stock_at": LOW_STOCK,
        "reservations": [(r, lines.get(r.id, [])) for r in reservations.items],
        "sku_of": sku_of,
        "now": now,
        "drift": drift,
        "drift_rows": drift.drift[:DRIFT_ROWS],
        "statuses": statuses,
        "parity": parity,
        "parity_rows": sorted(parity.rows, key=lambda r: (not r.breaches, r.sku, r.channel)),
        "parity_breaches": [row for row in parity.rows if row.breaches],
        "alerts": prices.alerts(workspace_id),
        "oversold": oversold_rows(session, workspace_id),
        "stock_chart": stock_chart(rows, locations),
        "lag_chart": lag_chart(statuses),
        "units_sellable": sum(row.sellable for row in rows if not row.is_bundle),
        "failing_feeds": sum(1 for s in statuses if s.failing),
        "lag_measured": any(s.last_lag_ms is not None for s in statuses),
        "money": lambda amount, currency: str(Money(amount, currency)),
    }
    return render(request, "stock.html", context)
