"""A stocked workspace for the product, SKU and location pages, built through the services:
``tests.feed.world`` (TEE-M 10 at main and 5 at soho, CAP 3 at main, KIT = 2 TEE-M + 1 CAP,
listings and feeds), prices with one parity breach, a web order for 5 CAP that oversells CAP
at main by 2, a pickup order waiting at soho and a checkout hold at main."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.inventory.schemas import ReservationIn, ReservationLineIn
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalCustomer, CanonicalLine, CanonicalOrder
from tessera.order.service import OrderService
from tessera.pricing.schemas import PolicyIn, PriceIn
from tessera.pricing.service import PriceService
from tests.feed.world import build_world

PLACED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class StockWorld:
    workspace_id: str
    variants: dict[str, str]  # sku -> variant id
    product_id: str
    oversold_order: str  # the order that took CAP beyond main's stock
    pickup_order: str
    hold: str


def order(number: str, sku: str, units: int, **changes: object) -> CanonicalOrder:
    """A placed web order from Shopify for ``units`` of ``sku``."""
    values: dict[str, object] = {
        "platform": "shopify",
        "external_id": number,
        "order_number": f"#{number}",
        "channel": "web",
        "status": OrderStatus.PLACED,
        "currency": "USD",
        "placed_at": PLACED_AT,
        "version": PLACED_AT.isoformat(),
        "lines": (CanonicalLine("l1", units, 1000, 1000 * units, sku=sku),),
        "total": 1000 * units,
        "customer": CanonicalCustomer(email=f"buyer-{number}@example.com", country="US"),
    }
    values.update(changes)
    return CanonicalOrder(**values)  # type: ignore[arg-type]


def build_stock_world(session: Session, workspace_id: str) -> StockWorld:
    build_world(session, "http://127.0.0.1:9", workspace_id=workspace_id)
    locations = LocationService(session)
    soho = locations.location_by_code(workspace_id, "soho")
    soho.is_pickup_enabled = True
    prices = PriceService(session)
    prices.set_policy(workspace_id, PolicyIn(site_channel="web", max_above_basis_points=500))
    for channel, amount in (("web", 2000), ("amazon", 2200)):
        prices.set_price(
            workspace_id, PriceIn(sku="TEE-M", channel=channel, amount=amount, currency="USD")
        )
    orders = OrderService(session)
    oversold = orders.apply(workspace_id, order("7001", "CAP", 5))
    pickup = orders.apply(
        workspace_id, order("7002", "TEE-M", 2, fulfillment="pickup", location_ref="soho")
    )
    hold, _ = ReservationService(session).reserve(
        workspace_id,
        ReservationIn(lines=[ReservationLineIn(sku="TEE-M", quantity=1)], idempotency_key="h-1"),
    )
    catalog = CatalogService(session)
    found = catalog.variants_by_sku(workspace_id, ["TEE-M", "CAP", "KIT"])
    session.commit()
    return StockWorld(
        workspace_id=workspace_id,
        variants={sku: variant.id for sku, variant in found.items()},
        product_id=found["TEE-M"].product_id,
        oversold_order=oversold.order_id,
        pickup_order=pickup.order_id,
        hold=hold.id,
    )
