"""Orders counted once, end to end through the CLI and the HTTP API: an Amazon report whose
item was cancelled, a retail partner's week that is nobody, and orders a shop reports only
through Segment's ``Order Completed``, with and without a connector order of the same id."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.models.collect import Event
from tessera.models.identity import Identifier, Profile
from tessera.models.job import Job
from tessera.models.order import Order
from tessera.models.workspace import ApiKeyKind
from tessera.workspace.service import WorkspaceService
from tests.connector.test_cli import summary_rows
from tests.identity.stitching import run_stitch_jobs
from tests.support.cli import invoke
from tests.support.connectors import (
    Keyed,
    deliver,
    fixture_json,
    fixture_path,
    keyed_workspace,
    register_shop,
)

AMOUNTS = ("subtotal", "discount", "shipping", "tax", "total")


def write_key(session: Session, keyed: Keyed) -> dict[str, str]:
    """The Basic header of a new public write key of the workspace (what an SDK sends)."""
    _key, token = WorkspaceService(session).create_api_key(
        keyed.workspace_id, ApiKeyKind.PUBLIC, "storefront"
    )
    session.commit()
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


def count(session: Session, model: type, workspace_id: str, *where: Any) -> int:
    session.expire_all()
    query = select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
    return int(session.scalar(query.where(*where)) or 0)


def profile_of(client: TestClient, keyed: Keyed, email: str) -> dict[str, Any]:
    found = client.get("/v1/profiles", params={"q": email}, headers=keyed.headers)
    [hit] = found.json()["items"]
    profile: dict[str, Any] = client.get(f"/v1/profiles/{hit['id']}", headers=keyed.headers).json()
    return profile


def test_an_amazon_report_with_a_cancelled_item_counts_the_order_once(
    client: TestClient,
    session: Session,
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    """Pending and Cancelled rows of the serum, Pending and Unshipped rows of the balm, imported
    by the CLI, uploaded over HTTP, then imported again: one order, placed, of the balm's money
    only, the serum a cancelled line; nothing counted twice."""
    keyed = keyed_workspace(session, "glow")
    report = fixture_path("amazon/orders_cancelled_item.tsv")
    headers = {**keyed.headers, "Content-Type": "text/tab-separated-values"}

    code, imported = invoke(
        settings, session_factory, "import", "orders", str(report), "--format", "amazon",
        "-w", "glow",
    )  # fmt: skip
    uploaded = client.post(
        "/v1/connectors/amazon/orders", content=report.read_bytes(), headers=headers
    )
    again_code, again = invoke(
        settings, session_factory, "import", "orders", str(report), "--format", "amazon",
        "-w", "glow", "--restart",
    )  # fmt: skip
    [order_id] = set(uploaded.json()["order_ids"])
    order = client.get(f"/v1/orders/{order_id}", headers=keyed.headers).json()

    assert (code, summary_rows(imported)) == (
        0, {"received": 4, "accepted": 4, "duplicates": 0, "rejected": 0},
    )  # fmt: skip
    assert uploaded.status_code == 200
    assert [uploaded.json()[k] for k in ("received", "accepted", "duplicates")] == [4, 0, 4]
    assert (again_code, summary_rows(again)["duplicates"]) == (0, 4)
    assert (order["status"], order["is_cancelled"], order["currency"]) == ("placed", False, "USD")
    assert [order[k] for k in AMOUNTS] == [1600, 499, 499, 128, 1728]
    assert [(line["sku"], line["quantity"], line["total"], line["is_cancelled"])
            for line in order["lines"]] == [
        ("BALM-FIG", 2, 1600, False), ("SERUM-30", 1, 0, True),
    ]  # fmt: skip
    assert count(session, Order, keyed.workspace_id) == 1
    session.expire_all()
    events = session.scalars(
        select(Event.payload).where(Event.workspace_id == keyed.workspace_id)
    ).all()
    assert [
        (e["event"], e["properties"]["total"], [p["sku"] for p in e["properties"]["products"]])
        for e in events
    ] == [("Order Completed", 17.28, ["BALM-FIG"])]


def test_a_retail_sell_through_file_makes_no_profile(
    client: TestClient,
    session: Session,
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    """A partner's weeks imported by the CLI and uploaded over HTTP: their orders and order
    events are stored, and once the identity jobs have run there is still nobody."""
    keyed = keyed_workspace(session, "glow")
    sell_through = fixture_path("retail/sell_through.csv")

    code, output = invoke(
        settings, session_factory, "import", "orders", str(sell_through), "--format", "retail",
        "-w", "glow",
    )  # fmt: skip
    uploaded = client.post(
        "/v1/connectors/retail/sell-through",
        content=sell_through.read_bytes(),
        headers={**keyed.headers, "Content-Type": "text/csv"},
    )
    run_stitch_jobs(session)
    session.commit()

    assert (code, summary_rows(output)["accepted"], uploaded.json()["duplicates"]) == (0, 6, 6)
    assert count(session, Order, keyed.workspace_id) == 3
    assert count(session, Event, keyed.workspace_id, Event.event == "Order Completed") == 3
    assert count(session, Profile, keyed.workspace_id) == 0
    assert count(session, Identifier, keyed.workspace_id) == 0
    assert count(session, Job, keyed.workspace_id, Job.kind == "identity.stitch") == 0


def order_completed(message_id: str, order_id: str, **money: Any) -> dict[str, Any]:
    return {"type": "track", "userId": "u-ava", "event": "Order Completed",
            "messageId": message_id, "properties": {"order_id": order_id, **money}}  # fmt: skip


SIGN_IN = {"type": "identify", "userId": "u-ava", "messageId": "id-1",
           "traits": {"email": "ava.okafor@example.com", "first_name": "Ava"}}  # fmt: skip


def test_orders_an_sdk_reports_count_in_the_360_once_each(
    client: TestClient, session: Session
) -> None:
    """No connector: W-1001 sent twice (a reloaded confirmation page), its total as text, and
    W-1002 with only a revenue: two orders, 64.50 + 20.00."""
    keyed = keyed_workspace(session, "glow")
    batch = [
        SIGN_IN,
        order_completed("oc-1", "W-1001", total="64.50", revenue=58.0, currency="USD"),
        order_completed("oc-2", "W-1001", total=64.5, revenue=58.0, currency="USD"),
        order_completed("oc-3", "W-1002", revenue=20),
    ]

    sent = client.post("/v1/batch", json={"batch": batch}, headers=write_key(session, keyed))
    run_stitch_jobs(session)
    session.commit()
    computed = profile_of(client, keyed, "ava.okafor@example.com")["computed"]

    assert (sent.status_code, sent.json()["accepted"]) == (200, 4)
    assert computed["order_count"] == 2
    assert computed["revenue"] == [{"currency": "USD", "amount": 8450}]
    assert computed["average_order_value"] == [{"currency": "USD", "amount": 4225}]


def test_an_sdk_order_a_connector_also_sent_is_counted_once(
    client: TestClient, session: Session
) -> None:
    """Shopify's webhook brings #1001 (87.14) and the storefront's SDK reports order 1001 as
    well: one order, the connector's; W-2002, which no connector holds, counts beside it."""
    keyed = keyed_workspace(session, "glow")
    source_id = register_shop(client, keyed)

    delivered = deliver(
        client, source_id, "orders/create", fixture_json("shopify/orders_create.json")
    )
    sent = client.post(
        "/v1/batch",
        json={"batch": [
            SIGN_IN,
            order_completed("oc-1", "1001", total=87.14, currency="USD"),
            order_completed("oc-2", "W-2002", total=10, currency="USD"),
        ]},
        headers=write_key(session, keyed),
    )  # fmt: skip
    run_stitch_jobs(session)
    session.commit()
    computed = profile_of(client, keyed, "ava.okafor@example.com")["computed"]

    assert (delivered.status_code, sent.json()["accepted"]) == (200, 3)
    assert computed["order_count"] == 2
    assert computed["revenue"] == [{"currency": "USD", "amount": 8714 + 1000}]
