"""GET /v1/orders and /v1/orders/{id}: newest first, by channel or email, with lines and
refunds; a viewer may read, another workspace's order is not found."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import Role
from tessera.order.domain import CanonicalRefund
from tessera.order.service import OrderService
from tests.order.test_service import PLACED
from tests.support.connectors import keyed_workspace


def test_orders_are_listed_newest_first_by_page_channel_and_email(
    client: TestClient, session: Session
) -> None:
    """Three orders: pages of two, a channel filter, and an email filter in any case."""
    keyed = keyed_workspace(session, "glow", Role.VIEWER)
    service = OrderService(session)
    web = service.apply(keyed.workspace_id, PLACED)
    store = service.apply(
        keyed.workspace_id, replace(PLACED, external_id="2", channel="store:soho", customer=replace(
            PLACED.customer, email="noor@example.com"))
    )  # fmt: skip
    amazon = service.apply(
        keyed.workspace_id, replace(PLACED, platform="amazon", external_id="3", channel="amazon")
    )
    session.commit()

    first = client.get("/v1/orders?limit=2", headers=keyed.headers).json()
    second = client.get(
        f"/v1/orders?limit=2&cursor={first['next_cursor']}", headers=keyed.headers
    ).json()
    by_channel = client.get("/v1/orders?channel=store:soho", headers=keyed.headers).json()
    by_email = client.get("/v1/orders?email=AVA.OKAFOR@example.com", headers=keyed.headers).json()

    assert [o["id"] for o in first["items"]] == [amazon.order_id, store.order_id]
    assert [o["id"] for o in second["items"]] == [web.order_id]
    assert second["next_cursor"] is None
    assert [o["id"] for o in by_channel["items"]] == [store.order_id]
    assert [o["id"] for o in by_email["items"]] == [amazon.order_id, web.order_id]
    assert first["items"][0]["total"] == 7600
    assert first["items"][0]["is_placeholder"] is False


def test_one_order_comes_with_its_lines_refunds_and_customer(
    client: TestClient, session: Session
) -> None:
    """GET /v1/orders/{id}: lines, refunds and every identifier the platform sent."""
    keyed = keyed_workspace(session, "glow", Role.VIEWER)
    refund = CanonicalRefund("r1", 3800, datetime(2026, 11, 22, tzinfo=UTC), (("l1", 1),))
    result = OrderService(session).apply(keyed.workspace_id, replace(PLACED, refunds=(refund,)))
    session.commit()

    response = client.get(f"/v1/orders/{result.order_id}", headers=keyed.headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["refunded_total"], body["currency"]) == (
        "partially_refunded", 3800, "USD",
    )  # fmt: skip
    assert body["lines"] == [
        {"line_key": "l1", "sku": "SERUM-30", "gtin": None, "product_ref": None,
         "title": "Night Serum", "quantity": 2, "unit_price": 3800, "total": 7600,
         "is_cancelled": False},
    ]  # fmt: skip
    assert body["refunds"] == [
        {"external_id": "r1", "amount": 3800, "currency": "USD",
         "refunded_at": "2026-11-22T00:00:00Z", "lines": [{"line_key": "l1", "quantity": 1}]},
    ]  # fmt: skip
    assert body["customer"] == {"email": "Ava.Okafor@example.com", "external_id": "c-77"}


def test_another_workspaces_order_is_not_found_and_keys_are_needed(
    client: TestClient, session: Session
) -> None:
    """B's order id asked with A's key is a 404; no key is a 401."""
    a = keyed_workspace(session, "alpha", Role.VIEWER)
    b = keyed_workspace(session, "bravo", Role.VIEWER)
    theirs = OrderService(session).apply(b.workspace_id, PLACED)
    session.commit()

    hidden = client.get(f"/v1/orders/{theirs.order_id}", headers=a.headers)
    listed = client.get("/v1/orders", headers=a.headers)
    anonymous = client.get("/v1/orders")

    assert (hidden.status_code, hidden.json()["type"]) == (
        404, "https://tessera.dev/problems/order-not-found",
    )  # fmt: skip
    assert listed.json() == {"items": [], "next_cursor": None}
    assert anonymous.status_code == 401


def test_a_filter_day_out_of_range_or_backwards_is_refused_naming_it(
    client: TestClient, session: Session
) -> None:
    """9999-12-31 as the last day would overflow the day after it; 0001-01-01 is no order
    date either; a range ending before it starts names ``placed_to``. Each is 422."""
    keyed = keyed_workspace(session, "glow", Role.VIEWER)
    session.commit()
    for query, field in (
        ("placed_to=9999-12-31", "placed_to"),
        ("placed_from=0001-01-01", "placed_from"),
        ("placed_from=2026-03-02&placed_to=2026-03-01", "placed_to"),
    ):
        response = client.get(f"/v1/orders?{query}", headers=keyed.headers)
        assert response.status_code == 422, query
        assert response.json()["field"] == field
