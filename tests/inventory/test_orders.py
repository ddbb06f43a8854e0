"""Orders from every channel move stock once: commit on placing, off on hand when shipped,
back on cancellation or refund; POS sales take the store's shelf, FBA touches nothing."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.inventory.schemas import ChannelLocationsIn, ReservationIn, ReservationLineIn
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.routing import RoutingService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.models.inventory import ReservationStatus, StockLedgerEntry
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalCustomer, CanonicalLine, CanonicalOrder, CanonicalRefund
from tessera.order.service import OrderService
from tests.inventory.stock import Shop, make_shop
from tests.inventory.test_service import counters

PLACED = CanonicalOrder(
    platform="shopify",
    external_id="5001",
    order_number="#5001",
    channel="web",
    status=OrderStatus.PLACED,
    currency="GBP",
    placed_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    version="2026-11-20T09:00:00+00:00",
    lines=(CanonicalLine("l1", 2, 3800, 7600, sku="SERUM"),),
    total=7600,
    customer=CanonicalCustomer(email="ava@example.com", country="GB"),
)
FULFILLED = replace(PLACED, status=OrderStatus.FULFILLED, version="2026-11-21T10:00:00+00:00")
REFUND_ONE = CanonicalRefund("r1", 3800, datetime(2026, 11, 22, tzinfo=UTC), (("l1", 1),))
REFUNDED = replace(FULFILLED, version="2026-11-22T10:00:00+00:00", refunds=(REFUND_ONE,))
CANCELLED = replace(PLACED, is_cancelled=True, version="2026-11-20T12:00:00+00:00")


@pytest.fixture
def shop(session: Session) -> Shop:
    shop = make_shop(session, "orders")
    stock = StockService(session)
    stock.receive(shop.workspace_id, "SERUM", "wh", 10)
    stock.receive(shop.workspace_id, "CREAM", "wh", 10)
    stock.receive(shop.workspace_id, "SERUM", "soho", 4)
    return shop


def apply(session: Session, shop: Shop, *orders: CanonicalOrder) -> str:
    order_id = ""
    for order in orders:
        order_id = OrderService(session).apply(shop.workspace_id, order).order_id
    return order_id


def ledger_rows(session: Session, shop: Shop) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(StockLedgerEntry)
            .where(StockLedgerEntry.workspace_id == shop.workspace_id)
        )
        or 0
    )


def test_a_placed_web_order_commits_stock_once_however_often_it_arrives(
    session: Session, shop: Shop
) -> None:
    """Two SERUM committed at the warehouse; the same webhook twice commits them once."""
    apply(session, shop, PLACED, PLACED)

    assert counters(session, shop, "SERUM", "wh") == (10, 0, 2, 0, 0, 0)


def test_fulfilment_takes_committed_units_off_on_hand(session: Session, shop: Shop) -> None:
    """Shipped: on hand 8, nothing committed; an older snapshot afterwards changes nothing."""
    apply(session, shop, PLACED, FULFILLED, PLACED)

    assert counters(session, shop, "SERUM", "wh") == (8, 0, 0, 0, 0, 0)


def test_cancellation_returns_committed_units(session: Session, shop: Shop) -> None:
    """Cancelled before shipping: the two units are available again."""
    apply(session, shop, PLACED, CANCELLED, CANCELLED)

    assert counters(session, shop, "SERUM", "wh") == (10, 0, 0, 0, 0, 0)


def test_a_refund_before_shipping_cancels_and_after_shipping_returns(
    session: Session, shop: Shop
) -> None:
    """Refunded before shipping: one unit uncommitted. After shipping: one unit back on hand."""
    before_shipping = replace(PLACED, version="2026-11-20T10:00:00+00:00", refunds=(REFUND_ONE,))
    apply(session, shop, PLACED, before_shipping)
    assert counters(session, shop, "SERUM", "wh") == (10, 0, 1, 0, 0, 0)

    apply(session, shop, replace(before_shipping, external_id="5002", refunds=()))
    apply(session, shop, replace(REFUNDED, external_id="5002"))

    assert counters(session, shop, "SERUM", "wh") == (9, 0, 1, 0, 0, 0)


@pytest.mark.parametrize("arrival", list(itertools.permutations([PLACED, FULFILLED, REFUNDED])))
def test_the_final_stock_does_not_depend_on_the_order_snapshots_arrive_in(
    session: Session, shop: Shop, arrival: tuple[CanonicalOrder, ...]
) -> None:
    """Placed, shipped, one refunded: 10 - 2 + 1 = 9 on hand, nothing committed, always."""
    apply(session, shop, *arrival)

    assert counters(session, shop, "SERUM", "wh") == (9, 0, 0, 0, 0, 0)
    assert VerifyService(session).verify(shop.workspace_id).drift == []


def test_a_pos_sale_takes_units_off_that_stores_shelf(session: Session, shop: Shop) -> None:
    """A Shopify POS sale at location shopify-loc-1 (Soho) leaves the warehouse alone."""
    pos = replace(
        PLACED,
        external_id="pos-1",
        channel="store:soho",
        status=OrderStatus.FULFILLED,
        location_ref="shopify-loc-1",
        fulfillment="in_store",
        lines=(CanonicalLine("l1", 3, 3800, 11400, sku="SERUM"),),
    )

    order_id = apply(session, shop, pos, pos)

    assert counters(session, shop, "SERUM", "soho") == (1, 0, 0, 0, 0, 0)
    assert counters(session, shop, "SERUM", "wh") == (10, 0, 0, 0, 0, 0)
    decision = RoutingService(session).routing_decision(shop.workspace_id, order_id)
    assert decision is not None and decision["method"] == "pos_sale"


def test_an_fba_order_does_not_touch_our_stock(session: Session, shop: Shop) -> None:
    """Amazon ships FBA orders from its own stock: no ledger entry at all."""
    before = ledger_rows(session, shop)
    fba = replace(
        PLACED, platform="amazon", external_id="114-1", channel="amazon", fulfillment="fba"
    )

    apply(session, shop, fba)

    assert ledger_rows(session, shop) == before
    assert counters(session, shop, "SERUM", "wh") == (10, 0, 0, 0, 0, 0)


def test_a_pickup_order_commits_the_pickup_stores_stock_only(session: Session, shop: Shop) -> None:
    """Pickup at Soho: Soho's units are committed, the warehouse's are not."""
    pickup = replace(PLACED, external_id="bopis-1", fulfillment="pickup", location_ref="soho")

    order_id = apply(session, shop, pickup)

    assert counters(session, shop, "SERUM", "soho") == (4, 0, 2, 0, 0, 0)
    assert counters(session, shop, "SERUM", "wh") == (10, 0, 0, 0, 0, 0)
    decision = RoutingService(session).routing_decision(shop.workspace_id, order_id)
    assert decision is not None
    assert (decision["method"], decision["reasons"][0]) == (
        "pickup",
        "pickup at soho: that store's stock only",
    )


def test_a_bundle_order_commits_its_components(session: Session, shop: Shop) -> None:
    """Two KITs (1 SERUM + 2 CREAM each) commit 2 SERUM and 4 CREAM at the warehouse."""
    kits = replace(
        PLACED, external_id="kit-1", lines=(CanonicalLine("l1", 2, 9000, 18000, sku="KIT"),)
    )

    apply(session, shop, kits, replace(kits, status=OrderStatus.FULFILLED, version="2026-11-21"))

    assert counters(session, shop, "SERUM", "wh") == (8, 0, 0, 0, 0, 0)
    assert counters(session, shop, "CREAM", "wh") == (6, 0, 0, 0, 0, 0)


def test_an_order_takes_over_its_checkouts_hold_without_committing_twice(
    session: Session, shop: Shop
) -> None:
    """The checkout held 2 SERUM with order_ref shopify:5001; the order commits those 2."""
    reservations = ReservationService(session)
    verifier = VerifyService(session)
    held, _ = reservations.reserve(
        shop.workspace_id,
        ReservationIn(
            lines=[ReservationLineIn(sku="SERUM", quantity=2)],
            idempotency_key="checkout-1",
            order_ref="shopify:5001",
        ),
    )

    apply(session, shop, PLACED)

    assert counters(session, shop, "SERUM", "wh") == (10, 0, 2, 0, 0, 0)
    assert (
        reservations.get_reservation(shop.workspace_id, held.id)[0].status
        is ReservationStatus.ORDERED
    )
    assert verifier.verify(shop.workspace_id).drift == []


def test_an_order_short_of_stock_is_committed_as_backorder_on_the_record(
    session: Session, shop: Shop
) -> None:
    """Sold already: 12 SERUM with 10 at the warehouse and 4 in a store not shipping commits
    all 12 at the warehouse, and the decision says so."""
    big = replace(
        PLACED, external_id="big-1", lines=(CanonicalLine("l1", 12, 100, 1200, sku="SERUM"),)
    )
    LocationService(session).set_channel_locations(
        shop.workspace_id,
        "web",
        ChannelLocationsIn(locations=["wh"]),
    )

    order_id = apply(session, shop, big)

    assert counters(session, shop, "SERUM", "wh") == (10, 0, 12, 0, 0, 0)
    decision = RoutingService(session).routing_decision(shop.workspace_id, order_id)
    assert decision is not None
    assert [(a["quantity"], a["is_backorder"]) for a in decision["allocations"]] == [(12, True)]
    assert "backorder: 2 of" in " ".join(decision["reasons"])


def test_a_refund_that_arrives_before_its_order_still_returns_stock_once(
    session: Session, shop: Shop
) -> None:
    """Refund first (a placeholder), then the shipped order: one unit back, once."""
    OrderService(session).attach_refund(
        shop.workspace_id, "shopify", "5001", REFUND_ONE, "GBP", "web"
    )

    apply(session, shop, FULFILLED, FULFILLED)

    assert counters(session, shop, "SERUM", "wh") == (9, 0, 0, 0, 0, 0)
