"""An order edited after its stock was allocated: stock follows the newest snapshot's lines.

A line that grows takes its extra units where it was allocated, a line cut or removed gives
units back (cancelled while open), a line added is routed like a new order, and the same
snapshot again moves nothing (issue 5: "a late or duplicated order never double-counts").
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tessera.inventory.service.routing import RoutingService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalLine, CanonicalOrder
from tests.inventory.stock import Shop, make_shop
from tests.inventory.test_orders import PLACED, apply, ledger_rows
from tests.inventory.test_service import counters

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SHOPS = itertools.count()  # a workspace per hypothesis example, in the one session


def edit(order: CanonicalOrder, n: int, *lines: tuple[str, str, int]) -> CanonicalOrder:
    """The order's n-th version with these (line key, SKU, quantity) lines."""
    return replace(
        order,
        version=(T0 + timedelta(minutes=n)).isoformat(),
        lines=tuple(CanonicalLine(k, q, 100, 100 * q, sku=sku) for k, sku, q in lines),
        total=sum(100 * q for _, _, q in lines),
    )


def stocked(session: Session, name: str) -> Shop:
    shop = make_shop(session, name)
    stock = StockService(session)
    stock.receive(shop.workspace_id, "SERUM", "wh", 10)
    stock.receive(shop.workspace_id, "CREAM", "wh", 10)
    stock.receive(shop.workspace_id, "SERUM", "soho", 4)
    return shop


def test_a_line_that_grows_commits_its_extra_units_once(session: Session) -> None:
    """2 SERUM, then edited to 3: 3 committed at the warehouse, and the edit again adds
    nothing (no new ledger entry)."""
    shop = stocked(session, "edit-grow")
    placed = edit(PLACED, 0, ("l1", "SERUM", 2))
    grown = edit(PLACED, 1, ("l1", "SERUM", 3))

    order_id = apply(session, shop, placed, grown)
    entries = ledger_rows(session, shop)
    apply(session, shop, grown)

    assert counters(session, shop, "SERUM", "wh") == (10, 0, 3, 0, 0, 0)
    assert ledger_rows(session, shop) == entries
    decision = RoutingService(session).routing_decision(shop.workspace_id, order_id)
    assert decision is not None
    assert [a["quantity"] for a in decision["allocations"]] == [3]
    assert "line l1: 1 more added by an edit, at the same location" in decision["reasons"]
    assert VerifyService(session).verify(shop.workspace_id).drift == []


def test_a_line_cut_or_removed_before_shipping_gives_its_units_back(session: Session) -> None:
    """SERUM 3 and CREAM 2, edited to SERUM 1 and no CREAM: 1 SERUM committed, no CREAM."""
    shop = stocked(session, "edit-cut")
    placed = edit(PLACED, 0, ("l1", "SERUM", 3), ("l2", "CREAM", 2))
    cut = edit(PLACED, 1, ("l1", "SERUM", 1))

    apply(session, shop, placed, cut, cut)

    assert counters(session, shop, "SERUM", "wh") == (10, 0, 1, 0, 0, 0)
    assert counters(session, shop, "CREAM", "wh") == (10, 0, 0, 0, 0, 0)
    assert VerifyService(session).verify(shop.workspace_id).drift == []


def test_a_line_added_by_an_edit_is_routed_and_shipped_with_the_rest(session: Session) -> None:
    """CREAM added to a SERUM order: committed where routing puts it, then both ship."""
    shop = stocked(session, "edit-add")
    placed = edit(PLACED, 0, ("l1", "SERUM", 2))
    added = edit(PLACED, 1, ("l1", "SERUM", 2), ("l2", "CREAM", 1))
    shipped = replace(edit(added, 2, ("l1", "SERUM", 2), ("l2", "CREAM", 1)))
    shipped = replace(shipped, status=OrderStatus.FULFILLED)

    order_id = apply(session, shop, placed, added)

    assert counters(session, shop, "CREAM", "wh") == (10, 0, 1, 0, 0, 0)
    decision = RoutingService(session).routing_decision(shop.workspace_id, order_id)
    assert decision is not None
    assert sorted(a["line_key"] for a in decision["allocations"]) == ["l1", "l2"]
    assert "lines added by an edit (l2)" in decision["reasons"]

    apply(session, shop, shipped)

    assert counters(session, shop, "SERUM", "wh") == (8, 0, 0, 0, 0, 0)
    assert counters(session, shop, "CREAM", "wh") == (9, 0, 0, 0, 0, 0)
    assert VerifyService(session).verify(shop.workspace_id).drift == []


def test_a_bundle_line_edited_moves_its_components(session: Session) -> None:
    """1 KIT (1 SERUM + 2 CREAM), edited to 3 then to 2: 2 SERUM and 4 CREAM committed."""
    shop = stocked(session, "edit-kit")

    apply(
        session,
        shop,
        edit(PLACED, 0, ("l1", "KIT", 1)),
        edit(PLACED, 1, ("l1", "KIT", 3)),
        edit(PLACED, 2, ("l1", "KIT", 2)),
    )

    assert counters(session, shop, "SERUM", "wh") == (10, 0, 2, 0, 0, 0)
    assert counters(session, shop, "CREAM", "wh") == (10, 0, 4, 0, 0, 0)
    assert VerifyService(session).verify(shop.workspace_id).drift == []


def test_a_store_sale_edited_up_takes_more_off_that_shelf(session: Session) -> None:
    """A POS sale of 1 SERUM at SoHo, edited to 3: SoHo's shelf 4 -> 1, the warehouse alone."""
    shop = stocked(session, "edit-pos")
    pos = replace(PLACED, channel="pos", fulfillment="in_store", location_ref="shopify-loc-1")

    apply(session, shop, edit(pos, 0, ("l1", "SERUM", 1)), edit(pos, 1, ("l1", "SERUM", 3)))

    assert counters(session, shop, "SERUM", "soho") == (1, 0, 0, 0, 0, 0)
    assert counters(session, shop, "SERUM", "wh") == (10, 0, 0, 0, 0, 0)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    versions=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 3), st.booleans()), min_size=1, max_size=6
    ),
    shipped=st.booleans(),
)
def test_whatever_the_edits_stock_ends_as_the_last_version_says(
    session: Session, versions: list[tuple[int, int, bool]], shipped: bool
) -> None:
    """Random versions of SERUM and CREAM quantities (0 drops the line), each sent once or
    twice, maybe shipped at the end: committed (or shipped) units are the last version's,
    and the ledger sums to the balances."""
    shop = stocked(session, f"edit-any-{next(SHOPS)}")
    order = PLACED
    sent: list[CanonicalOrder] = []
    for n, (serum, cream, twice) in enumerate(versions):
        lines = [("l1", "SERUM", serum)] if serum else []
        lines += [("l2", "CREAM", cream)] if cream else []
        version = edit(order, n, *lines)
        sent += [version, version] if twice else [version]
    serum, cream, _ = versions[-1]
    if shipped:
        sent.append(replace(sent[-1], status=OrderStatus.FULFILLED, version="2027-01-01"))

    apply(session, shop, *sent)

    if shipped:
        assert counters(session, shop, "SERUM", "wh")[:3] == (10 - serum, 0, 0)
        assert counters(session, shop, "CREAM", "wh")[:3] == (10 - cream, 0, 0)
    else:
        assert counters(session, shop, "SERUM", "wh")[:3] == (10, 0, serum)
        assert counters(session, shop, "CREAM", "wh")[:3] == (10, 0, cream)
    assert VerifyService(session).verify(shop.workspace_id).drift == []
