"""The connector routes: Shopify webhooks (signed, deduplicated, in any order) and uploads of
Amazon reports, TikTok Shop and Square orders and retail sell-through, with bad input kept."""

from __future__ import annotations

import itertools
import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.collect.sources import SourceService
from tessera.connector.secrets import SourceSecrets
from tessera.models.collect import ChannelKind, Event, QuarantineEntry, Source, WebhookReceipt
from tessera.models.order import Order, OrderStatus
from tessera.models.workspace import Role
from tessera.order.service import OrderService
from tests.support.connectors import (
    SECRET,
    deliver,
    fixture_bytes,
    fixture_json,
    keyed_workspace,
    register_shop,
)

PROBLEM = "application/problem+json"
CREATE = fixture_json("shopify/orders_create.json")
UPDATED = fixture_json("shopify/orders_updated.json")
CANCELLED = fixture_json("shopify/orders_cancelled.json")
REFUND = fixture_json("shopify/refunds_create.json")
POS = fixture_json("shopify/orders_create_pos.json")


def quarantined(session: Session, workspace_id: str | None) -> list[QuarantineEntry]:
    session.expire_all()
    query = select(QuarantineEntry).order_by(QuarantineEntry.id)
    if workspace_id is None:
        query = query.where(QuarantineEntry.workspace_id.is_(None))
    else:
        query = query.where(QuarantineEntry.workspace_id == workspace_id)
    return list(session.scalars(query))


def orders_of(session: Session, workspace_id: str) -> list[Order]:
    session.expire_all()
    return list(
        session.scalars(
            select(Order).where(Order.workspace_id == workspace_id).order_by(Order.external_id)
        )
    )


# Registering a shop -----------------------------------------------------------------------------


def test_registering_a_shop_keeps_the_secret_and_never_returns_it(
    client: TestClient, session: Session
) -> None:
    """POST /v1/connectors/shopify makes a source; no response ever shows the secret."""
    keyed = keyed_workspace(session, "glow")

    created = client.post(
        "/v1/connectors/shopify",
        headers=keyed.headers,
        json={"shop_domain": "Glow-Lab.myshopify.com", "webhook_secret": SECRET},
    )
    rotated = client.post(
        "/v1/connectors/shopify",
        headers=keyed.headers,
        json={"shop_domain": "glow-lab.myshopify.com", "webhook_secret": SECRET + "-new"},
    )
    listed = client.get("/v1/sources", headers=keyed.headers)

    assert (created.status_code, rotated.status_code) == (201, 200)
    body = created.json()
    assert (body["kind"], body["name"], body["shop_domain"]) == (
        "shopify", "glow-lab.myshopify.com", "glow-lab.myshopify.com",
    )  # fmt: skip
    assert body["webhook_path"] == f"/v1/connectors/shopify/{body['id']}/webhooks"
    assert all(SECRET not in r.text for r in (created, rotated, listed))
    source = session.get(Source, body["id"])
    assert source is not None
    session.refresh(source)
    assert SECRET not in json.dumps(source.settings)
    assert SourceSecrets(session).secret(source, "webhook_secret") == SECRET + "-new"


def test_registering_needs_an_admin_and_a_shopify_domain(
    client: TestClient, session: Session
) -> None:
    """A marketer key is refused (403); a domain that is not myshopify.com is a 422."""
    marketer = keyed_workspace(session, "glow", Role.MARKETER)
    admin = keyed_workspace(session, "other")
    body = {"shop_domain": "glow-lab.myshopify.com", "webhook_secret": SECRET}

    forbidden = client.post("/v1/connectors/shopify", headers=marketer.headers, json=body)
    bad_domain = client.post(
        "/v1/connectors/shopify", headers=admin.headers, json={**body, "shop_domain": "glow.com"}
    )
    short = client.post(
        "/v1/connectors/shopify", headers=admin.headers, json={**body, "webhook_secret": "abc"}
    )

    assert forbidden.status_code == 403
    assert (bad_domain.status_code, bad_domain.json()["field"]) == (422, "shop_domain")
    assert (short.status_code, short.json()["field"]) == (422, "webhook_secret")
    assert session.scalar(select(func.count()).select_from(Source)) == 0


# Webhooks -------------------------------------------------------------------------------------


def test_a_signed_order_webhook_creates_the_order_and_its_event(
    client: TestClient, session: Session
) -> None:
    """orders/create, correctly signed: 200, the order in minor units, Order Completed once."""
    keyed = keyed_workspace(session, "glow")
    source_id = register_shop(client, keyed)

    response = deliver(client, source_id, "orders/create", CREATE, "wh-1")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["topic"], body["outcome"]) == (
        "applied", "orders/create", "created",
    )  # fmt: skip
    [order] = orders_of(session, keyed.workspace_id)
    assert (order.id, order.order_number, order.channel, order.total, order.customer_email) == (
        body["order_id"], "#1001", "web", 8714, "ava.okafor@example.com",
    )  # fmt: skip
    events = session.scalars(select(Event).where(Event.workspace_id == keyed.workspace_id)).all()
    assert [(e.event, e.source_id) for e in events] == [("Order Completed", source_id)]


def test_a_repeated_delivery_is_answered_200_and_applied_once(
    client: TestClient, session: Session
) -> None:
    """The same X-Shopify-Webhook-Id again is a duplicate: nothing changes, even if the body
    differs (Shopify's retries resend the original)."""
    keyed = keyed_workspace(session, "glow")
    source_id = register_shop(client, keyed)
    deliver(client, source_id, "orders/create", CREATE, "wh-1")

    again = deliver(client, source_id, "orders/updated", UPDATED, "wh-1")

    assert again.status_code == 200
    assert again.json() == {
        "status": "duplicate", "topic": "orders/updated", "order_id": None, "outcome": None,
        "new_refunds": [],
    }  # fmt: skip
    [order] = orders_of(session, keyed.workspace_id)
    assert order.status is OrderStatus.PLACED
    assert session.scalar(select(func.count()).select_from(WebhookReceipt)) == 1


def test_a_bad_or_missing_signature_is_401_kept_unattributed_and_applies_nothing(
    client: TestClient, session: Session
) -> None:
    """A wrong secret or no HMAC header: 401 problem+json, a 'request' row, no order."""
    keyed = keyed_workspace(session, "glow")
    source_id = register_shop(client, keyed)
    raw = json.dumps(CREATE).encode()

    forged = deliver(client, source_id, "orders/create", raw, "wh-1", secret="guessed-secret-xx")
    unsigned = client.post(
        f"/v1/connectors/shopify/{source_id}/webhooks",
        content=raw,
        headers={"X-Shopify-Topic": "orders/create", "Content-Type": "application/json"},
    )

    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert forged.headers["content-type"] == PROBLEM
    assert forged.json()["detail"] == (
        "X-Shopify-Hmac-Sha256 does not match the body signed with the shop's secret"
    )
    assert unsigned.json()["detail"] == "the X-Shopify-Hmac-Sha256 header is missing"
    kept = quarantined(session, None)
    assert [(e.kind, e.source_id, e.field, e.raw) for e in kept] == [
        ("request", source_id, "X-Shopify-Hmac-Sha256", raw.decode()),
        ("request", source_id, "X-Shopify-Hmac-Sha256", raw.decode()),
    ]
    assert forged.json()["quarantine_id"] == kept[0].id
    assert orders_of(session, keyed.workspace_id) == []
    assert quarantined(session, keyed.workspace_id) == []


def test_an_unknown_source_is_404_and_kept(client: TestClient, session: Session) -> None:
    """A webhook for a source nobody registered: 404 naming source_id, a quarantine row."""
    response = deliver(client, "src_01JDOESNOTEXIST0000000000", "orders/create", CREATE)

    assert response.status_code == 404
    assert response.json()["field"] == "source_id"
    [entry] = quarantined(session, None)
    assert (entry.kind, entry.reason) == (
        "request", "no Shopify source src_01JDOESNOTEXIST0000000000; register the shop first",
    )  # fmt: skip


def test_a_topic_not_handled_or_another_shop_is_422_and_kept(
    client: TestClient, session: Session
) -> None:
    """inventory_levels/update, or a delivery for another shop, is refused and kept."""
    keyed = keyed_workspace(session, "glow")
    source_id = register_shop(client, keyed)

    topic = deliver(client, source_id, "inventory_levels/update", {"inventory_item_id": 1})
    shop = deliver(client, source_id, "orders/create", CREATE, shop="other.myshopify.com")

    assert (topic.status_code, topic.json()["field"]) == (422, "X-Shopify-Topic")
    assert (shop.status_code, shop.json()["field"]) == (422, "X-Shopify-Shop-Domain")
    assert [e.kind for e in quarantined(session, keyed.workspace_id)] == ["webhook:shopify"] * 2
    assert orders_of(session, keyed.workspace_id) == []


def test_malformed_json_and_wrong_types_are_4xx_kept_with_the_field(
    client: TestClient, session: Session
) -> None:
    """A signed body that is not JSON is a 400; a negative quantity a 422 naming the field."""
    keyed = keyed_workspace(session, "glow")
    source_id = register_shop(client, keyed)
    negative = json.loads(json.dumps(CREATE))
    negative["line_items"][1]["quantity"] = -1

    broken = deliver(client, source_id, "orders/create", b'{"id": 59023456', "wh-1")
    refused = deliver(client, source_id, "orders/create", negative, "wh-2")

    assert (broken.status_code, broken.json()["field"]) == (400, "body")
    assert refused.status_code == 422
    assert (refused.json()["detail"], refused.json()["field"]) == (
        "line_items[1].quantity must not be negative", "line_items[1].quantity",
    )  # fmt: skip
    kept = quarantined(session, keyed.workspace_id)
    assert [(e.kind, e.field) for e in kept] == [
        ("order:shopify", "body"), ("order:shopify", "line_items[1].quantity"),
    ]  # fmt: skip
    assert orders_of(session, keyed.workspace_id) == []


def test_a_refused_order_can_be_fixed_and_replayed(client: TestClient, session: Session) -> None:
    """Replaying the quarantined order as stored fails again; the fixed one is applied."""
    keyed = keyed_workspace(session, "glow")
    source_id = register_shop(client, keyed)
    negative = json.loads(json.dumps(CREATE))
    negative["line_items"][1]["quantity"] = -1
    entry_id = deliver(client, source_id, "orders/create", negative, "wh-1").json()["quarantine_id"]

    still_bad = client.post(f"/v1/quarantine/{entry_id}/replay", headers=keyed.headers, json={})
    fixed = client.post(
        f"/v1/quarantine/{entry_id}/replay", headers=keyed.headers, json={"payload": CREATE}
    )

    assert still_bad.status_code == 422
    assert (
        still_bad.json()["detail"] == "still refused: line_items[1].quantity must not be negative"
    )
    assert fixed.status_code == 200
    assert fixed.json()["status"] == "replayed"
    [order] = orders_of(session, keyed.workspace_id)
    assert fixed.json()["resolution"] == f"applied to order {order.id} (created)"
    assert order.source_id == source_id


def test_a_refund_before_its_order_waits_on_a_placeholder(
    client: TestClient, session: Session
) -> None:
    """refunds/create first: a placeholder holds the refund; the order then fills it in."""
    keyed = keyed_workspace(session, "glow")
    source_id = register_shop(client, keyed)

    early = deliver(client, source_id, "refunds/create", REFUND, "wh-r")
    placeholder = client.get(f"/v1/orders/{early.json()['order_id']}", headers=keyed.headers)
    deliver(client, source_id, "orders/create", CREATE, "wh-1")
    final = client.get(f"/v1/orders/{early.json()['order_id']}", headers=keyed.headers).json()

    assert early.status_code == 200
    assert early.json()["new_refunds"] == ["930112233445"]
    assert (placeholder.json()["is_placeholder"], placeholder.json()["refunded_total"]) == (
        True, 815,
    )  # fmt: skip
    assert (final["is_placeholder"], final["order_number"], final["total"]) == (
        False, "#1001", 8714,
    )  # fmt: skip
    assert (final["status"], final["refunded_total"]) == ("partially_refunded", 815)
    assert [r["external_id"] for r in final["refunds"]] == ["930112233445"]
    events = session.scalars(
        select(Event.event).where(Event.workspace_id == keyed.workspace_id).order_by(Event.event)
    ).all()
    assert list(events) == ["Order Completed", "Order Refunded"]


def test_a_pos_order_lands_on_the_registered_store(client: TestClient, session: Session) -> None:
    """source_name pos with the store's location id → the store channel."""
    keyed = keyed_workspace(session, "glow")
    SourceService(session).add_channel(
        keyed.workspace_id, ChannelKind.STORE, "SoHo", external_refs=["69012345"]
    )
    session.commit()
    source_id = register_shop(client, keyed)

    response = deliver(client, source_id, "orders/create", POS, "wh-pos")

    [order] = orders_of(session, keyed.workspace_id)
    assert response.status_code == 200
    assert (order.channel, order.location_ref, order.fulfillment, order.customer_email) == (
        "store:soho", "69012345", "in_store", None,
    )  # fmt: skip


# Arrival order ----------------------------------------------------------------------------------

DELIVERIES = [
    ("orders/create", CREATE),
    ("orders/updated", UPDATED),
    ("orders/cancelled", CANCELLED),
    ("refunds/create", REFUND),
]
_SLUGS = itertools.count()


def final_state(session: Session, workspace_id: str) -> tuple[Any, ...]:
    session.expire_all()
    order = session.scalar(select(Order).where(Order.workspace_id == workspace_id))
    assert order is not None
    _, lines, refunds = OrderService(session).get(workspace_id, order.id)
    events = session.execute(
        select(Event.event, func.count())
        .where(Event.workspace_id == workspace_id)
        .group_by(Event.event)
        .order_by(Event.event)
    ).all()
    return (
        order.status, order.snapshot_status, order.is_cancelled, order.total,
        order.refunded_total, order.version_key, order.channel, order.customer_email,
        order.placed_at, tuple((line.line_key, line.quantity, line.total) for line in lines),
        tuple((r.external_id, r.amount) for r in refunds), tuple(tuple(e) for e in events),
    )  # fmt: skip


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from(range(len(DELIVERIES))), st.booleans()), min_size=1, max_size=8
    )
)
def test_webhooks_in_any_order_with_repeats_end_in_one_state(
    client: TestClient, session: Session, picks: list[tuple[int, bool]]
) -> None:
    """Any arrival order of create/updated/cancelled/refund webhooks, with retried deliveries
    (same webhook id) and re-sent ones (new id), ends where in-order delivery ends."""
    shuffled = keyed_workspace(session, f"s{next(_SLUGS)}")
    in_order = keyed_workspace(session, f"o{next(_SLUGS)}")
    shuffled_source = register_shop(client, shuffled)
    in_order_source = register_shop(client, in_order)

    for number, (index, is_retry) in enumerate(picks):
        topic, body = DELIVERIES[index]
        webhook_id = f"wh-{index}" if is_retry else f"wh-{index}-{number}"
        assert deliver(client, shuffled_source, topic, body, webhook_id).status_code == 200
    for index in sorted({index for index, _ in picks}):
        topic, body = DELIVERIES[index]
        assert deliver(client, in_order_source, topic, body, f"wh-{index}").status_code == 200

    assert final_state(session, shuffled.workspace_id) == final_state(
        session, in_order.workspace_id
    )


def test_all_four_deliveries_in_every_order_agree(client: TestClient, session: Session) -> None:
    """All 24 orders of the four webhooks give one state: cancelled, one refund of $8.15."""
    finals = set()
    for permutation in itertools.permutations(DELIVERIES):
        keyed = keyed_workspace(session, f"p{next(_SLUGS)}")
        source_id = register_shop(client, keyed)
        for number, (topic, body) in enumerate(permutation):
            deliver(client, source_id, topic, body, f"wh-{number}")
        finals.add(final_state(session, keyed.workspace_id))

    assert len(finals) == 1
    state = next(iter(finals))
    assert (state[0], state[2], state[4]) == (OrderStatus.CANCELLED, True, 815)


# Uploads --------------------------------------------------------------------------------------


def test_an_amazon_report_upload_applies_each_order_once(
    client: TestClient, session: Session
) -> None:
    """Four rows, three orders: all accepted; the same report again: all duplicates."""
    keyed = keyed_workspace(session, "glow", Role.MARKETER)
    report = fixture_bytes("amazon/orders.tsv")
    headers = {**keyed.headers, "Content-Type": "text/tab-separated-values"}

    first = client.post("/v1/connectors/amazon/orders", content=report, headers=headers)
    again = client.post("/v1/connectors/amazon/orders", content=report, headers=headers)

    assert first.status_code == 200
    assert {k: first.json()[k] for k in ("received", "accepted", "duplicates", "rejected")} == {
        "received": 4, "accepted": 4, "duplicates": 0, "rejected": 0,
    }  # fmt: skip
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 4)
    found = orders_of(session, keyed.workspace_id)
    assert [(o.external_id, o.fulfillment, o.total) for o in found] == [
        ("112-7712093-5523310", "mfn", 2358),
        ("113-0042231-9981123", "fba", 0),
        ("114-3941689-8772232", "fba", 9072),
    ]


def test_a_truncated_amazon_report_keeps_the_good_orders_and_the_cut_row(
    client: TestClient, session: Session
) -> None:
    """The cut last row is refused naming its line and the column after the cut."""
    keyed = keyed_workspace(session, "glow", Role.MARKETER)

    response = client.post(
        "/v1/connectors/amazon/orders",
        content=fixture_bytes("amazon/orders_truncated.tsv"),
        headers=keyed.headers,
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["received"], body["accepted"], body["rejected"]) == (3, 2, 1)
    [rejection] = body["rejections"]
    assert (rejection["where"], rejection["field"], rejection["reason"]) == (
        "line 4", "quantity", "the row has 14 of 32 columns; the file may be truncated",
    )  # fmt: skip
    [entry] = quarantined(session, keyed.workspace_id)
    assert (entry.kind, entry.origin, entry.id) == (
        "row:amazon", "POST /v1/connectors/amazon/orders line 4", rejection["quarantine_id"],
    )  # fmt: skip


def test_an_upload_where_nothing_is_taken_is_422(client: TestClient, session: Session) -> None:
    """A report whose only order has a negative quantity: 422, the rows kept for a fix."""
    keyed = keyed_workspace(session, "glow", Role.MARKETER)
    lines = fixture_bytes("amazon/orders.tsv").decode().splitlines()
    bad = lines[3].replace("\t1\tUSD\t24.00", "\t-1\tUSD\t24.00")

    response = client.post(
        "/v1/connectors/amazon/orders",
        content=("\n".join([lines[0], bad]) + "\n").encode(),
        headers=keyed.headers,
    )

    assert response.status_code == 422
    assert (response.json()["detail"], response.json()["field"]) == (
        "quantity must not be negative", "quantity",
    )  # fmt: skip
    [entry] = quarantined(session, keyed.workspace_id)
    assert json.loads(entry.raw)[0]["quantity"] == "-1"
    assert orders_of(session, keyed.workspace_id) == []


def test_a_fixed_amazon_row_replays_into_its_order(client: TestClient, session: Session) -> None:
    """The quarantined rows of an order, fixed, apply as the whole order."""
    keyed = keyed_workspace(session, "glow", Role.MARKETER)
    lines = fixture_bytes("amazon/orders.tsv").decode().splitlines()
    bad = lines[3].replace("\t1\tUSD\t24.00", "\t-1\tUSD\t24.00")
    client.post(
        "/v1/connectors/amazon/orders",
        content=("\n".join([lines[0], bad]) + "\n").encode(),
        headers=keyed.headers,
    )
    [entry] = quarantined(session, keyed.workspace_id)
    rows = json.loads(entry.raw)
    rows[0]["quantity"] = "1"

    replayed = client.post(
        f"/v1/quarantine/{entry.id}/replay", headers=keyed.headers, json={"payload": rows}
    )

    assert replayed.status_code == 200
    [order] = orders_of(session, keyed.workspace_id)
    assert (order.external_id, order.total, order.source_id) == (
        "112-7712093-5523310", 2358, entry.source_id,
    )  # fmt: skip


def test_tiktok_orders_upload_one_or_many(client: TestClient, session: Session) -> None:
    """One order as JSON, or TikTok's {data: {orders: [...]}} page; the SKU lines add up."""
    keyed = keyed_workspace(session, "glow", Role.MARKETER)
    order = fixture_json("tiktok/order.json")
    newer = {**order, "status": "IN_TRANSIT", "update_time": order["update_time"] + 60}

    single = client.post("/v1/connectors/tiktok/orders", headers=keyed.headers, json=order)
    page = client.post(
        "/v1/connectors/tiktok/orders",
        headers=keyed.headers,
        json={"code": 0, "data": {"orders": [order, newer]}},
    )

    assert (single.json()["accepted"], page.json()["duplicates"], page.json()["accepted"]) == (
        1, 1, 1,
    )  # fmt: skip
    [stored] = orders_of(session, keyed.workspace_id)
    detail = client.get(f"/v1/orders/{stored.id}", headers=keyed.headers).json()
    assert (detail["channel"], detail["status"]) == ("tiktok_shop", "fulfilled")
    assert [(line["sku"], line["quantity"], line["total"]) for line in detail["lines"]] == [
        ("SERUM-30", 2, 7600), ("BALM-FIG", 1, 800),
    ]  # fmt: skip


def test_a_tiktok_order_with_wrong_types_is_422_and_replayable(
    client: TestClient, session: Session
) -> None:
    """Money sent as a number: 422 naming payment.total_amount; the fixed order replays."""
    keyed = keyed_workspace(session, "glow", Role.MARKETER)
    order = fixture_json("tiktok/order.json")
    wrong = {**order, "payment": {**order["payment"], "total_amount": 88.01}}

    refused = client.post("/v1/connectors/tiktok/orders", headers=keyed.headers, json=wrong)
    entry_id = refused.json()["quarantine_id"]
    replayed = client.post(
        f"/v1/quarantine/{entry_id}/replay", headers=keyed.headers, json={"payload": order}
    )

    assert refused.status_code == 422
    assert refused.json()["field"] == "payment.total_amount"
    assert [e.kind for e in quarantined(session, keyed.workspace_id)] == ["order:tiktok"]
    assert replayed.status_code == 200
    assert len(orders_of(session, keyed.workspace_id)) == 1


def test_square_orders_land_on_the_store_of_their_location(
    client: TestClient, session: Session
) -> None:
    """A late offline sale: placed at the till's time, on the store that claims the location."""
    keyed = keyed_workspace(session, "glow", Role.MARKETER)
    SourceService(session).add_channel(
        keyed.workspace_id, ChannelKind.STORE, "Mission", external_refs=["L88917AVBK2S5"]
    )
    session.commit()

    response = client.post(
        "/v1/connectors/square/orders",
        headers=keyed.headers,
        json=fixture_json("square/order.json"),
    )

    assert response.status_code == 200
    [order] = orders_of(session, keyed.workspace_id)
    assert (order.channel, order.placed_at.isoformat(), order.total) == (
        "store:mission", "2026-11-22T17:58:13.402000+00:00", 8993,
    )  # fmt: skip


def test_retail_sell_through_becomes_orders_per_store_week(
    client: TestClient, session: Session
) -> None:
    """Six rows, three store-weeks, on the partner's registered channel."""
    keyed = keyed_workspace(session, "glow", Role.MARKETER)
    SourceService(session).add_channel(
        keyed.workspace_id, ChannelKind.RETAIL, "Ulta", external_refs=["Ulta Beauty"]
    )
    session.commit()

    response = client.post(
        "/v1/connectors/retail/sell-through",
        content=fixture_bytes("retail/sell_through.csv"),
        headers={**keyed.headers, "Content-Type": "text/csv"},
    )

    assert (response.status_code, response.json()["accepted"]) == (200, 6)
    found = orders_of(session, keyed.workspace_id)
    assert [(o.external_id, o.channel) for o in found] == [
        ("ulta-beauty:ULTA-0412:2026-W46", "retail:ulta"),
        ("ulta-beauty:ULTA-0412:2026-W47", "retail:ulta"),
        ("ulta-beauty:ULTA-1187:2026-W46", "retail:ulta"),
    ]


def test_scattered_rows_of_one_store_week_are_refused_not_merged_wrongly(
    client: TestClient, session: Session
) -> None:
    """A store-week split in two places: the second part is kept, saying to sort the file."""
    keyed = keyed_workspace(session, "glow", Role.MARKETER)
    rows = fixture_bytes("retail/sell_through.csv").decode().splitlines()
    scattered = "\n".join([rows[0], rows[1], rows[4], rows[2]]) + "\n"

    response = client.post(
        "/v1/connectors/retail/sell-through", content=scattered.encode(), headers=keyed.headers
    )

    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["rejections"][0]["reason"].startswith("the rows of this order are not next")


def test_uploads_need_a_marketer_and_refuse_unreadable_bodies(
    client: TestClient, session: Session
) -> None:
    """A viewer is refused; a CSV without the partner column and an empty body are 422s."""
    viewer = keyed_workspace(session, "viewer", Role.VIEWER)
    keyed = keyed_workspace(session, "glow", Role.MARKETER)

    forbidden = client.post(
        "/v1/connectors/retail/sell-through", headers=viewer.headers, content=b"x"
    )
    no_column = client.post(
        "/v1/connectors/retail/sell-through", headers=keyed.headers, content=b"store,week\n1,2\n"
    )
    empty = client.post("/v1/connectors/amazon/orders", headers=keyed.headers, content=b"")
    not_json = client.post("/v1/connectors/square/orders", headers=keyed.headers, content=b"{")

    assert forbidden.status_code == 403
    assert (no_column.status_code, no_column.json()["field"]) == (422, "partner")
    assert (empty.status_code, empty.json()["field"]) == (422, "header")
    assert (not_json.status_code, not_json.json()["field"]) == (400, "body")
    assert [e.kind for e in quarantined(session, keyed.workspace_id)] == [
        "row:retail", "row:amazon", "order:square",
    ]  # fmt: skip
