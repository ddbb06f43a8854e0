"""Whom stock is promised to: an order sold beyond stock leaves its balance oversold with the
order named; safety stock, expired holds and orders shipped or cancelled promise nothing; a
store's pickup orders wait there until collected."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session

from tessera.inventory.schemas import ChannelLocationsIn, ReservationIn, ReservationLineIn
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.promises import ORDERS_SHOWN, PromiseService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.kit.time import utcnow
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalLine
from tessera.order.service import OrderService
from tests.inventory.stock import Shop, make_shop
from tests.inventory.test_orders import PLACED


def sell(session: Session, shop: Shop, external_id: str, units: int, **changes: object) -> str:
    """A web order for ``units`` SERUM; returns its id."""
    lines = (CanonicalLine("l1", units, 100, 100 * units, sku="SERUM"),)
    order = replace(PLACED, external_id=external_id, lines=lines, **changes)  # type: ignore[arg-type]
    return OrderService(session).apply(shop.workspace_id, order).order_id


def warehouse_only(session: Session, shop: Shop) -> None:
    LocationService(session).set_channel_locations(
        shop.workspace_id, "web", ChannelLocationsIn(locations=["wh"])
    )


def test_an_order_sold_beyond_stock_oversells_its_balance_and_is_named(session: Session) -> None:
    """5 SERUM at the warehouse, orders for 4 then 3: the second is backordered, the balance
    is 2 short, and both orders are behind it, the backordered one first."""
    shop = make_shop(session, "promised")
    warehouse_only(session, shop)
    StockService(session).receive(shop.workspace_id, "SERUM", "wh", 5)
    first = sell(session, shop, "p-1", 4)
    second = sell(session, shop, "p-2", 3)

    [position] = PromiseService(session).oversold(shop.workspace_id)

    assert (position.balance.location_id, position.balance.variant_id) == (
        shop.locations["wh"], shop.variants["SERUM"],
    )  # fmt: skip
    assert (position.short, position.open_orders, position.open_units) == (2, 2, 7)
    assert [(o.order_id, o.units, o.is_backorder) for o in position.orders] == [
        (second, 3, True),
        (first, 4, False),
    ]
    assert position.holds == []


def test_safety_stock_alone_promises_nothing(session: Session) -> None:
    """Safety stock above on hand makes available negative, but nobody was sold anything."""
    shop = make_shop(session, "safety")
    stock = StockService(session)
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    stock.set_safety(shop.workspace_id, "SERUM", "wh", 8)

    assert PromiseService(session).oversold(shop.workspace_id) == []


def test_a_hold_beyond_stock_oversells_until_it_runs_out(session: Session) -> None:
    """SERUM allows backorder: 3 held with 1 there is 2 short, the hold named; once the hold
    has run out it promises nothing, swept or not."""
    shop = make_shop(session, "holds", backorder=True)
    StockService(session).receive(shop.workspace_id, "SERUM", "wh", 1)
    hold, _ = ReservationService(session).reserve(
        shop.workspace_id,
        ReservationIn(lines=[ReservationLineIn(sku="SERUM", quantity=3)], idempotency_key="h",
                      ttl_seconds=60),
    )  # fmt: skip
    promises = PromiseService(session)

    [now] = promises.oversold(shop.workspace_id)
    later = promises.oversold(shop.workspace_id, now=utcnow() + timedelta(seconds=61))

    assert (now.short, [(h.reservation_id, h.quantity, h.is_backorder) for h in now.holds]) == (
        2, [(hold.id, 3, True)],
    )  # fmt: skip
    assert later == []


def test_orders_shipped_or_cancelled_are_not_behind_a_position(session: Session) -> None:
    """Nothing on hand: an order cancelled gives its units back and one shipped has left; only
    the open order keeps the warehouse short."""
    shop = make_shop(session, "closed")
    warehouse_only(session, shop)
    sell(session, shop, "c-1", 2)
    sell(session, shop, "c-1", 2, is_cancelled=True, version="2026-11-20T12:00:00+00:00")
    sell(session, shop, "s-1", 1)
    sell(session, shop, "s-1", 1, status=OrderStatus.FULFILLED, version="2026-11-21T10:00")
    still_open = sell(session, shop, "o-1", 3)

    [position] = PromiseService(session).oversold(shop.workspace_id)

    assert (position.short, position.open_orders) == (3, 1)
    assert [o.order_id for o in position.orders] == [still_open]


def test_a_position_names_ten_orders_and_counts_the_rest(session: Session) -> None:
    """Twelve one-unit orders with nothing there: twelve short, ten named, twelve counted."""
    shop = make_shop(session, "many")
    warehouse_only(session, shop)
    for number in range(12):
        sell(session, shop, f"m-{number}", 1)

    [position] = PromiseService(session).oversold(shop.workspace_id)

    assert (position.short, len(position.orders), position.open_orders) == (12, ORDERS_SHOWN, 12)


def test_a_pickup_order_waits_at_its_store_until_collected(session: Session) -> None:
    """A BOPIS order at Soho waits there; collected (fulfilled), it waits no more; the
    warehouse has no pickups."""
    shop = make_shop(session, "pickups")
    StockService(session).receive(shop.workspace_id, "SERUM", "soho", 4)
    pickup = {"fulfillment": "pickup", "location_ref": "soho"}
    order_id = sell(session, shop, "b-1", 2, **pickup)
    promises = PromiseService(session)

    waiting = promises.pickups_at(shop.workspace_id, shop.locations["soho"])
    at_warehouse = promises.pickups_at(shop.workspace_id, shop.locations["wh"])
    sell(session, shop, "b-1", 2, status=OrderStatus.FULFILLED, version="2026-11-21", **pickup)
    collected = promises.pickups_at(shop.workspace_id, shop.locations["soho"])

    assert [(p.order_id, p.units) for p in waiting] == [(order_id, 2)]
    assert (at_warehouse, collected) == ([], [])
