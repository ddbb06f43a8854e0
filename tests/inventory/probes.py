"""Workspace-isolation probes for the catalog and stock routes (see tests/support/isolation.py):
workspace B gets a catalog, locations, stock, a reservation and a routed order through the
real services; A's key names them and must find nothing and change nothing."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.inventory.schemas import ReservationIn, ReservationLineIn
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.order.domain import CanonicalLine
from tessera.order.service import OrderService
from tests.inventory.stock import make_shop_in
from tests.inventory.test_orders import PLACED
from tests.support.factories import Tenant
from tests.support.isolation import Probe


def stock_probes(session: Session, b: Tenant) -> list[Probe]:
    shop = make_shop_in(session, b.workspace_id)
    reservations = ReservationService(session)
    stock = StockService(session)
    stock.receive(b.workspace_id, "SERUM", "wh", 5)
    reservation, _ = reservations.reserve(
        b.workspace_id,
        ReservationIn(lines=[ReservationLineIn(sku="SERUM", quantity=1)], idempotency_key="b-1"),
    )
    order = OrderService(session).apply(b.workspace_id, replace(PLACED, external_id="b-order"))
    big = (CanonicalLine("l1", 9, 100, 900, sku="SERUM"),)  # beyond the 5 in stock: oversold
    OrderService(session).apply(b.workspace_id, replace(PLACED, external_id="b-big", lines=big))
    product_id = (
        CatalogService(session)
        .variants_by_id(b.workspace_id, [shop.variants["SERUM"]])[shop.variants["SERUM"]]
        .product_id
    )
    held = f"/v1/reservations/{reservation.id}"
    change = {"sku": "SERUM", "location": "wh"}
    return [
        Probe("/v1/products", "GET", "/v1/products", "only_own"),
        Probe("/v1/products", "POST", "/v1/products", "only_own",
              json={"handle": "serum", "title": "A", "variants": [{"sku": "SERUM"}]}),
        Probe("/v1/products/{product_id}", "GET", f"/v1/products/{product_id}", "not_found"),
        Probe("/v1/variants", "GET", "/v1/variants?sku=SERUM", "only_own"),
        Probe("/v1/listings", "GET", "/v1/listings", "only_own"),
        Probe("/v1/listings", "POST", "/v1/listings", "only_own",
              json={"sku": "SERUM", "channel": "web", "platform": "shopify", "external_id": "1"}),
        Probe("/v1/locations", "GET", "/v1/locations", "only_own"),
        Probe("/v1/locations", "POST", "/v1/locations", "only_own",
              json={"code": "wh", "name": "A's", "kind": "warehouse"}),
        Probe("/v1/locations/{code}", "GET", "/v1/locations/soho", "not_found"),
        Probe("/v1/locations/channels/{channel}", "GET", "/v1/locations/channels/web", "only_own"),
        Probe("/v1/locations/channels/{channel}", "PUT", "/v1/locations/channels/web",
              "only_own", json={"locations": ["wh", "soho"]}),
        Probe("/v1/stock", "GET", "/v1/stock", "only_own"),
        Probe("/v1/stock/ledger", "GET", "/v1/stock/ledger", "only_own"),
        Probe("/v1/stock/oversold", "GET", "/v1/stock/oversold", "only_own"),
        Probe("/v1/stock/adjust", "POST", "/v1/stock/adjust", "only_own",
              json={**change, "delta": -1}),
        Probe("/v1/stock/incoming", "POST", "/v1/stock/incoming", "only_own",
              json={**change, "quantity": 1}),
        Probe("/v1/stock/receive", "POST", "/v1/stock/receive", "only_own",
              json={**change, "quantity": 1}),
        Probe("/v1/stock/count", "POST", "/v1/stock/count", "only_own",
              json={**change, "counted": 0}),
        Probe("/v1/stock/safety", "POST", "/v1/stock/safety", "only_own",
              json={**change, "safety": 2}),
        Probe("/v1/stock/damage", "POST", "/v1/stock/damage", "only_own",
              json={**change, "quantity": 1}),
        Probe("/v1/stock/transfer", "POST", "/v1/stock/transfer", "only_own",
              json={"sku": "SERUM", "from_location": "wh", "to_location": "soho", "quantity": 1}),
        Probe("/v1/reservations", "GET", "/v1/reservations", "only_own"),
        Probe("/v1/reservations", "POST", "/v1/reservations", "only_own",
              json={"lines": [{"sku": "SERUM", "quantity": 1}], "idempotency_key": "b-1"}),
        Probe("/v1/reservations/{reservation_id}", "GET", held, "not_found"),
        Probe("/v1/reservations/{reservation_id}/confirm", "POST", f"{held}/confirm", "not_found"),
        Probe("/v1/reservations/{reservation_id}/release", "POST", f"{held}/release", "not_found"),
        Probe("/v1/inventory/verify", "POST", "/v1/inventory/verify", "only_own",
              json={"repair": True}),
        Probe("/v1/inventory/routing/{order_id}", "GET",
              f"/v1/inventory/routing/{order.order_id}", "not_found"),
    ]  # fmt: skip
