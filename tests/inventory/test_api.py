"""The stock API: locations, balances and changes, reservations, verify. Bad input gets a clear
4xx problem and changes nothing; viewers read, marketers change stock, admins configure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import ApiKeyKind, Role
from tessera.order.domain import CanonicalLine
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService
from tests.inventory.test_orders import PLACED
from tests.support.connectors import Keyed, keyed_workspace

PROBLEM = "https://tessera.dev/problems/"


@pytest.fixture
def admin(client: TestClient, session: Session) -> Keyed:
    """A workspace with SERUM, CREAM, a KIT of both, a warehouse and a pickup store, stocked."""
    keyed = keyed_workspace(session, "stockapi")
    product = {
        "handle": "serum",
        "title": "Serum",
        "variants": [{"sku": "SERUM", "gtin": "05012345678900"}, {"sku": "CREAM"}],
    }
    kit = {
        "handle": "kit",
        "title": "Kit",
        "variants": [
            {
                "sku": "KIT",
                "components": [{"sku": "SERUM", "quantity": 1}, {"sku": "CREAM", "quantity": 2}],
            }
        ],
    }
    for body in (product, kit):
        assert client.post("/v1/products", headers=keyed.headers, json=body).status_code == 201
    for body in (
        {"code": "wh", "name": "Warehouse", "kind": "warehouse", "country": "GB"},
        {"code": "soho", "name": "Soho", "kind": "store", "is_pickup_enabled": True,
         "latitude": 51.51, "longitude": -0.13, "opening_hours": {"mon": ["10:00", "19:00"]}},
    ):  # fmt: skip
        assert client.post("/v1/locations", headers=keyed.headers, json=body).status_code == 201
    response = client.put(
        "/v1/locations/channels/web", headers=keyed.headers, json={"locations": ["wh", "soho"]}
    )
    assert response.status_code == 200, response.text
    for sku, units in (("SERUM", 5), ("CREAM", 10)):
        response = client.post(
            "/v1/stock/receive",
            headers=keyed.headers,
            json={"sku": sku, "location": "wh", "quantity": units, "idempotency_key": f"grn-{sku}"},
        )
        assert response.status_code == 200, response.text
    return keyed


def viewer(session: Session, keyed: Keyed) -> dict[str, str]:
    _key, token = WorkspaceService(session).create_api_key(
        keyed.workspace_id, ApiKeyKind.SECRET, "viewer", Role.VIEWER
    )
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def stock(client: TestClient, keyed: Keyed, sku: str) -> list[tuple[str, int, int, int, int]]:
    items = client.get(f"/v1/stock?sku={sku}", headers=keyed.headers).json()["items"]
    return sorted(
        (i["location_code"], i["on_hand"], i["reserved"], i["committed"], i["sellable"])
        for i in items
    )


def ledger_size(client: TestClient, keyed: Keyed) -> int:
    return len(client.get("/v1/stock/ledger?limit=200", headers=keyed.headers).json()["items"])


def test_the_channel_lists_its_ranked_locations(client: TestClient, admin: Keyed) -> None:
    """web is fed by wh (rank 1) and soho (rank 2), with the default routing rules."""
    body = client.get("/v1/locations/channels/web", headers=admin.headers).json()

    assert [(x["rank"], x["location"]["code"]) for x in body["locations"]] == [
        (1, "wh"),
        (2, "soho"),
    ]
    assert body["rules"] == ["fewest_shipments", "ranked"]


def test_a_reservation_holds_confirms_and_shows_in_the_balances(
    client: TestClient, admin: Keyed
) -> None:
    """Two KITs hold 2 SERUM and 4 CREAM; confirming moves them to committed."""
    created = client.post(
        "/v1/reservations",
        headers=admin.headers,
        json={
            "lines": [{"sku": "KIT", "quantity": 2}],
            "idempotency_key": "cart-1",
            "ttl_seconds": 600,
        },
    )
    assert created.status_code == 201, created.text
    reservation = created.json()
    assert reservation["status"] == "held"
    assert sorted(line["quantity"] for line in reservation["lines"]) == [2, 4]
    assert stock(client, admin, "SERUM") == [("wh", 5, 2, 0, 3)]

    confirmed = client.post(f"/v1/reservations/{reservation['id']}/confirm", headers=admin.headers)

    assert confirmed.json()["status"] == "confirmed"
    assert stock(client, admin, "SERUM") == [("wh", 5, 0, 2, 3)]
    released = client.post(f"/v1/reservations/{reservation['id']}/release", headers=admin.headers)
    assert (released.status_code, released.json()["type"]) == (
        409,
        PROBLEM + "reservation-not-held",
    )


def test_reserving_more_than_exists_is_a_409_with_what_is_short_and_holds_nothing(
    client: TestClient, admin: Keyed
) -> None:
    """Six SERUM asked, five there: 409 insufficient-stock naming SERUM; nothing held."""
    before = ledger_size(client, admin)

    response = client.post(
        "/v1/reservations",
        headers=admin.headers,
        json={"lines": [{"sku": "SERUM", "quantity": 6}], "idempotency_key": "cart-2"},
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEM + "insufficient-stock"
    assert body["shortages"] == [{"sku": "SERUM", "missing": 1, "available": 5}]
    assert stock(client, admin, "SERUM") == [("wh", 5, 0, 0, 5)]
    assert ledger_size(client, admin) == before
    assert client.get("/v1/reservations", headers=admin.headers).json()["items"] == []


BAD_INPUT: list[tuple[str, dict[str, Any], int, str | None]] = [
        ("/v1/stock/adjust", {"sku": "NOPE", "location": "wh", "delta": 1}, 404, "unknown-sku"),
        ("/v1/stock/receive", {"sku": "SERUM", "location": "wh", "quantity": -2}, 422, None),
        ("/v1/stock/transfer", {"sku": "SERUM", "from_location": "wh", "to_location": "mars",
                                "quantity": 1}, 404, "location-not-found"),
        ("/v1/stock/transfer", {"sku": "SERUM", "from_location": "wh", "to_location": "soho",
                                "quantity": 6}, 409, "insufficient-stock"),
        ("/v1/stock/adjust", {"sku": "SERUM", "location": "wh", "delta": -9}, 409,
         "insufficient-stock"),
        ("/v1/stock/count", {"sku": "KIT", "location": "wh", "counted": 3}, 422,
         "invalid-stock-input"),
        ("/v1/reservations", {"lines": [{"sku": "NOPE", "quantity": 1}], "idempotency_key": "x"},
         404, "unknown-sku"),
        ("/v1/reservations", {"lines": [{"sku": "SERUM", "quantity": 0}], "idempotency_key": "x"},
         422, None),
        ("/v1/reservations", {"lines": [{"sku": "SERUM", "quantity": 1}], "idempotency_key": "x",
                              "pickup_location": "wh"}, 422, "invalid-stock-input"),
    ]  # fmt: skip


def test_bad_input_gets_a_clear_4xx_and_changes_nothing(client: TestClient, admin: Keyed) -> None:
    """Unknown SKU or location, negative or zero quantities, more than there is, a bundle
    counted, pickup from a warehouse: refused with a problem, stock and ledger untouched."""
    before = (ledger_size(client, admin), stock(client, admin, "SERUM"))

    outcomes = []
    for path, body, _status, _slug in BAD_INPUT:
        response = client.post(path, headers=admin.headers, json=body)
        slug = response.json()["type"].removeprefix(PROBLEM)
        outcomes.append((response.status_code, response.headers["content-type"], slug))

    assert outcomes == [
        (status, "application/problem+json", slug or outcome[2])
        for (_, _, status, slug), outcome in zip(BAD_INPUT, outcomes, strict=True)
    ]
    assert (ledger_size(client, admin), stock(client, admin, "SERUM")) == before


def test_a_transfer_and_a_count_change_both_ends_and_a_repeated_key_changes_nothing(
    client: TestClient, admin: Keyed
) -> None:
    """Two SERUM to Soho (sent twice with one key), then Soho counted at 1."""
    body = {"sku": "SERUM", "from_location": "wh", "to_location": "soho", "quantity": 2,
            "idempotency_key": "t-1"}  # fmt: skip

    first = client.post("/v1/stock/transfer", headers=admin.headers, json=body).json()
    again = client.post("/v1/stock/transfer", headers=admin.headers, json=body).json()
    client.post(
        "/v1/stock/count",
        headers=admin.headers,
        json={"sku": "SERUM", "location": "soho", "counted": 1},
    )

    assert (first["applied"], again["applied"]) == (True, False)
    assert stock(client, admin, "SERUM") == [("soho", 1, 0, 0, 1), ("wh", 3, 0, 0, 3)]


def test_viewers_read_but_cannot_change_stock_or_repair(
    client: TestClient, session: Session, admin: Keyed
) -> None:
    """A viewer key: 200 on reads and verify, 403 on receive, reserve and repair."""
    headers = viewer(session, admin)

    reads = [client.get(p, headers=headers).status_code for p in ("/v1/stock", "/v1/locations",
             "/v1/reservations", "/v1/products", "/v1/variants", "/v1/listings")]  # fmt: skip
    receive = client.post(
        "/v1/stock/receive", headers=headers, json={"sku": "SERUM", "location": "wh", "quantity": 1}
    )
    reserve = client.post(
        "/v1/reservations", headers=headers,
        json={"lines": [{"sku": "SERUM", "quantity": 1}], "idempotency_key": "v"},
    )  # fmt: skip
    verify = client.post("/v1/inventory/verify", headers=headers)
    repair = client.post("/v1/inventory/verify", headers=headers, json={"repair": True})

    assert reads == [200] * 6
    assert (receive.status_code, reserve.status_code) == (403, 403)
    assert (verify.status_code, verify.json()["drift"]) == (200, [])
    assert repair.status_code == 403
    assert stock(client, admin, "SERUM") == [("wh", 5, 0, 0, 5)]


def test_the_stock_routes_are_documented(client: TestClient) -> None:
    """OpenAPI names every stock route."""
    paths = client.get("/openapi.json").json()["paths"]

    assert {
        "/v1/locations", "/v1/locations/channels/{channel}", "/v1/stock", "/v1/stock/ledger",
        "/v1/stock/adjust", "/v1/stock/receive", "/v1/stock/count", "/v1/stock/transfer",
        "/v1/stock/damage", "/v1/stock/incoming", "/v1/stock/safety", "/v1/reservations",
        "/v1/reservations/{reservation_id}", "/v1/reservations/{reservation_id}/confirm",
        "/v1/reservations/{reservation_id}/release", "/v1/inventory/verify",
        "/v1/inventory/routing/{order_id}", "/v1/products", "/v1/products/{product_id}",
        "/v1/variants", "/v1/listings", "/v1/stock/oversold", "/v1/locations/{code}",
    } <= set(paths)  # fmt: skip


def test_oversold_names_the_short_balance_and_the_order_behind_it(
    client: TestClient, session: Session, admin: Keyed
) -> None:
    """A web order for 7 SERUM with 5 at the warehouse is committed as backorder: the
    warehouse is 2 short, and the order is named; the SKU and location narrow the list."""
    seven = (CanonicalLine("l1", 7, 100, 700, sku="SERUM"),)
    order_id = (
        OrderService(session).apply(admin.workspace_id, replace(PLACED, lines=seven)).order_id
    )
    session.commit()

    everything = client.get("/v1/stock/oversold", headers=admin.headers)
    of_cream = client.get("/v1/stock/oversold?sku=CREAM", headers=admin.headers)
    at_soho = client.get("/v1/stock/oversold?location=soho", headers=admin.headers)
    unknown = client.get("/v1/stock/oversold?location=nowhere", headers=admin.headers)

    assert everything.status_code == 200
    [item] = everything.json()["items"]
    created = item["orders"][0].pop("created_at")
    assert created
    assert {k: v for k, v in item.items() if k not in ("variant_id", "location_id")} == {
        "sku": "SERUM", "location_code": "wh", "on_hand": 5, "reserved": 0, "committed": 7,
        "damaged": 0, "short": 2, "open_orders": 1, "open_units": 7,
        "orders": [{"order_id": order_id, "line_key": "l1", "sku": "SERUM", "units": 7,
                    "is_backorder": True}],
        "holds": [],
    }  # fmt: skip
    assert (of_cream.json()["items"], at_soho.json()["items"]) == ([], [])
    assert (unknown.status_code, unknown.json()["type"]) == (404, PROBLEM + "location-not-found")


def test_a_location_names_its_live_holds_and_the_pickups_waiting_there(
    client: TestClient, session: Session, admin: Keyed
) -> None:
    """A BOPIS checkout at Soho becomes a pickup order waiting there; a web checkout holds a
    SERUM at the warehouse; an unknown location is a 404."""
    headers = admin.headers
    client.post("/v1/stock/receive", headers=headers,
                json={"sku": "SERUM", "location": "soho", "quantity": 3})  # fmt: skip
    bopis = {"lines": [{"sku": "SERUM", "quantity": 1}], "idempotency_key": "bopis",
             "pickup_location": "soho", "order_ref": "shopify:bopis-1"}  # fmt: skip
    web = {"lines": [{"sku": "SERUM", "quantity": 1}], "idempotency_key": "cart"}
    collect = client.post("/v1/reservations", headers=headers, json=bopis).json()
    held = client.post("/v1/reservations", headers=headers, json=web).json()
    pickup = replace(PLACED, external_id="bopis-1", fulfillment="pickup", location_ref="soho",
                     lines=(CanonicalLine("l1", 1, 100, 100, sku="SERUM"),))  # fmt: skip
    order_id = OrderService(session).apply(admin.workspace_id, pickup).order_id
    session.commit()

    soho = client.get("/v1/locations/soho", headers=headers)
    warehouse = client.get("/v1/locations/wh", headers=headers)
    unknown = client.get("/v1/locations/nowhere", headers=headers)
    routing = client.get(f"/v1/inventory/routing/{order_id}", headers=headers).json()

    assert (routing["method"], routing["reasons"][0]) == (
        "pickup", f"the checkout's hold {collect['id']} became this order's",
    )  # fmt: skip
    assert soho.status_code == 200
    assert (soho.json()["code"], soho.json()["is_pickup_enabled"], soho.json()["holds"]) == (
        "soho", True, [],
    )  # fmt: skip
    assert [(p["order_id"], p["sku"], p["units"]) for p in soho.json()["pickups"]] == [
        (order_id, "SERUM", 1)
    ]
    assert [
        (h["reservation_id"], h["channel"], h["sku"], h["location_code"], h["quantity"])
        for h in warehouse.json()["holds"]
    ] == [(held["id"], "web", "SERUM", "wh", 1)]
    assert warehouse.json()["pickups"] == []
    assert (unknown.status_code, unknown.json()["type"]) == (404, PROBLEM + "location-not-found")
