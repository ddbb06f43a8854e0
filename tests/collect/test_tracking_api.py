"""The Segment-compatible tracking API: shapes, auth, limits, dedupe, quarantine, CORS."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.models.collect import Event, QuarantineEntry
from tests.support.factories import Tenant, make_tenant

FIXTURES = Path(__file__).parent.parent / "fixtures" / "analytics_js"
PROBLEM = "application/problem+json"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def basic(token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


def events_of(session: Session, tenant: Tenant) -> list[Event]:
    session.expire_all()
    return list(
        session.scalars(
            select(Event).where(Event.workspace_id == tenant.workspace_id).order_by(Event.timestamp)
        )
    )


def quarantine_of(session: Session, workspace_id: str | None) -> list[QuarantineEntry]:
    session.expire_all()
    query = select(QuarantineEntry).order_by(QuarantineEntry.id)
    if workspace_id is None:
        query = query.where(QuarantineEntry.workspace_id.is_(None))
    else:
        query = query.where(QuarantineEntry.workspace_id == workspace_id)
    return list(session.scalars(query))


def test_an_analytics_js_text_plain_batch_with_the_key_in_the_body_is_stored(
    client: TestClient, session: Session
) -> None:
    """analytics.js's text/plain batch (writeKey in the body) stores every call, channel web."""
    tenant = make_tenant(session, "acme")
    body = {**fixture("batch_text_plain.json"), "writeKey": tenant.write_token}

    response = client.post(
        "/v1/b", content=json.dumps(body), headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 200
    assert response.json() == {
        "success": True, "received": 3, "accepted": 3, "duplicates": 0, "rejected": [],
    }  # fmt: skip
    stored = events_of(session, tenant)
    assert [(e.type, e.event, e.channel) for e in stored] == [
        ("page", "Home", "web"),
        ("track", "Product Added", "web"),
        ("identify", None, "web"),
    ]
    assert stored[2].user_id == "cus-1001"
    assert stored[0].payload["context"]["library"]["name"] == "analytics.js"
    assert "writeKey" not in stored[0].payload


def test_the_short_track_path_with_basic_auth_stores_the_order_event(
    client: TestClient, session: Session
) -> None:
    """/v1/t with the write key as Basic user stores one Order Completed."""
    tenant = make_tenant(session, "acme")

    response = client.post(
        "/v1/t", json=fixture("track_short_path.json"), headers=basic(tenant.write_token)
    )

    assert response.status_code == 200
    [stored] = events_of(session, tenant)
    assert (stored.type, stored.event, stored.message_id) == (
        "track", "Order Completed", "ajs-next-1732550100000-aa11bb22",
    )  # fmt: skip
    assert stored.payload["properties"]["products"][0]["sku"] == "SERUM-30"


def test_timestamps_are_corrected_for_device_clock_skew(
    client: TestClient, session: Session
) -> None:
    """timestamp = receivedAt - (sentAt - originalTimestamp), keeping the originals."""
    tenant = make_tenant(session, "acme")
    # The device clock is one hour fast: it says it sent at 11:00:05 for events made at 11:00:00.
    body = {
        "batch": [
            {"type": "track", "event": "A", "userId": "u1", "messageId": "m1",
             "timestamp": "2026-11-25T11:00:00Z"},
            {"type": "track", "event": "B", "userId": "u1", "messageId": "m2",
             "timestamp": "2026-11-25T11:00:03Z"},
        ],
        "sentAt": "2026-11-25T11:00:05Z",
    }  # fmt: skip

    client.post("/v1/batch", json=body, headers=basic(tenant.write_token))

    first, second = events_of(session, tenant)
    assert first.received_at - first.timestamp == first.sent_at - first.original_timestamp  # type: ignore[operator]
    assert (second.timestamp - first.timestamp).total_seconds() == 3
    assert first.original_timestamp == datetime(2026, 11, 25, 11, 0, 0, tzinfo=UTC)
    assert first.sent_at == datetime(2026, 11, 25, 11, 0, 5, tzinfo=UTC)


def test_a_replayed_batch_is_answered_200_and_stored_once(
    client: TestClient, session: Session
) -> None:
    """The same messageIds sent again count as duplicates; nothing is stored twice."""
    tenant = make_tenant(session, "acme")
    body = fixture("batch_text_plain.json")

    first = client.post("/v1/batch", json=body, headers=basic(tenant.write_token))
    again = client.post("/v1/batch", json=body, headers=basic(tenant.write_token))

    assert (first.json()["accepted"], first.json()["duplicates"]) == (3, 0)
    assert again.status_code == 200
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 3)
    assert len(events_of(session, tenant)) == 3


def test_gzip_bodies_are_accepted(client: TestClient, session: Session) -> None:
    """A gzip-encoded batch is decompressed and stored."""
    tenant = make_tenant(session, "acme")
    body = gzip.compress(json.dumps(fixture("batch_text_plain.json")).encode())

    response = client.post(
        "/v1/batch",
        content=body,
        headers={**basic(tenant.write_token), "Content-Encoding": "gzip",
                 "Content-Type": "application/json"},
    )  # fmt: skip

    assert response.status_code == 200
    assert response.json()["accepted"] == 3


def test_an_event_over_32_kb_is_a_400_naming_the_limit_and_is_quarantined(
    client: TestClient, session: Session
) -> None:
    """A single call over 32 KB: 400 naming the limit, the payload kept for replay."""
    tenant = make_tenant(session, "acme")
    body = {"event": "Big", "userId": "u1", "properties": {"blob": "x" * 33_000}}

    response = client.post("/v1/track", json=body, headers=basic(tenant.write_token))

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["limit"] == "32 KB per event"
    [entry] = quarantine_of(session, tenant.workspace_id)
    assert (entry.kind, entry.origin) == ("request", "POST /v1/track")
    assert events_of(session, tenant) == []


def test_an_oversize_item_in_a_batch_is_quarantined_and_the_rest_accepted(
    client: TestClient, session: Session
) -> None:
    """One item over 32 KB gets the batch a 400 naming the limit; its neighbours are stored."""
    tenant = make_tenant(session, "acme")
    body = {
        "batch": [
            {"type": "track", "event": "Small", "userId": "u1", "messageId": "ok-1"},
            {"type": "track", "event": "Big", "userId": "u1", "messageId": "big-1",
             "properties": {"blob": "x" * 33_000}},
        ]
    }  # fmt: skip

    response = client.post("/v1/batch", json=body, headers=basic(tenant.write_token))

    assert response.status_code == 400
    problem = response.json()
    assert problem["limit"] == "32 KB per event"
    assert (problem["received"], problem["accepted"], len(problem["rejected"])) == (2, 1, 1)
    assert [e.message_id for e in events_of(session, tenant)] == ["ok-1"]
    [entry] = quarantine_of(session, tenant.workspace_id)
    assert entry.origin == "POST /v1/batch item 1"
    assert json.loads(entry.raw)["messageId"] == "big-1"


def test_a_batch_over_500_kb_is_a_400_naming_the_limit(
    client: TestClient, session: Session
) -> None:
    """A batch body over 500 KB is refused whole, with a quarantine record of the refusal."""
    tenant = make_tenant(session, "acme")
    items = [{"type": "track", "event": "E", "userId": "u", "messageId": f"m{i}",
              "properties": {"pad": "y" * 20_000}} for i in range(30)]  # fmt: skip

    response = client.post("/v1/batch", json={"batch": items}, headers=basic(tenant.write_token))

    assert response.status_code == 400
    assert response.json()["limit"] == "500 KB per batch"
    assert events_of(session, tenant) == []
    assert [e.kind for e in quarantine_of(session, tenant.workspace_id)] == ["request"]


def test_an_unknown_write_key_is_401_and_the_request_is_kept(
    client: TestClient, session: Session
) -> None:
    """A request with a key nobody issued is refused and kept, unattributed, in quarantine."""
    before = len(quarantine_of(session, None))

    response = client.post(
        "/v1/track", json={"event": "E", "userId": "u"}, headers=basic("twk_" + "n" * 43)
    )

    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-write-key")
    assert len(quarantine_of(session, None)) == before + 1


def test_a_secret_key_cannot_send_events(client: TestClient, session: Session) -> None:
    """Collection takes public write keys only; secret keys must never sit in a web page."""
    tenant = make_tenant(session, "acme")

    response = client.post("/v1/track", json={"event": "E", "userId": "u"}, headers=tenant.auth)

    assert response.status_code == 401
    assert events_of(session, tenant) == []


def test_malformed_json_is_a_400_and_kept_with_its_workspace(
    client: TestClient, session: Session
) -> None:
    """A body that is not JSON: 400 problem+json, and the raw text kept for a fix."""
    tenant = make_tenant(session, "acme")

    response = client.post("/v1/batch", content=b'{"batch": [', headers=basic(tenant.write_token))

    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-payload")
    [entry] = quarantine_of(session, tenant.workspace_id)
    assert (entry.raw, entry.field) == ('{"batch": [', "body")


def test_a_bad_ecommerce_event_is_quarantined_naming_the_field(
    client: TestClient, session: Session
) -> None:
    """Order Completed without order_id, or with a price as words, is quarantined; the rest is
    accepted."""
    tenant = make_tenant(session, "acme")
    body = {
        "batch": [
            {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "a",
             "properties": {"total": 10}},
            {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "b",
             "properties": {"order_id": "7", "products": [{"sku": "S", "price": "twelve"}]}},
            {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "c",
             "properties": {"order_id": "8", "products": [{"sku": "S", "price": 12.0}]}},
        ]
    }  # fmt: skip

    response = client.post("/v1/batch", json=body, headers=basic(tenant.write_token))

    assert response.status_code == 200
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [
        (0, "properties.order_id"),
        (1, "properties.products[0].price"),
    ]
    assert [e.message_id for e in events_of(session, tenant)] == ["c"]


def test_money_sent_as_numeric_text_is_stored_as_numbers_and_the_change_noted(
    client: TestClient, session: Session
) -> None:
    """Order Completed with "64.50" revenue and a "32.25" product price, as Segment accepts
    them: stored as numbers, the text each arrived as kept in context.tessera.coerced, the
    client's own context untouched."""
    tenant = make_tenant(session, "acme")
    message = {
        "userId": "u1", "event": "Order Completed", "messageId": "m-1",
        "context": {"library": {"name": "analytics-python", "version": "2.3.3"}},
        "properties": {"order_id": "W-1001", "revenue": "64.50", "total": " 70.1 ",
                       "shipping": "0", "currency": "USD", "coupon": "10",
                       "products": [{"sku": "S", "price": "32.25", "quantity": 2}]},
    }  # fmt: skip

    response = client.post("/v1/track", json=message, headers=basic(tenant.write_token))

    assert response.status_code == 200
    [event] = events_of(session, tenant)
    properties = event.payload["properties"]
    assert (properties["revenue"], properties["total"], properties["shipping"]) == (64.5, 70.1, 0)
    assert properties["products"] == [{"sku": "S", "price": 32.25, "quantity": 2}]
    assert properties["coupon"] == "10"  # not a money field: as sent
    assert event.payload["context"] == {
        "library": {"name": "analytics-python", "version": "2.3.3"},
        "tessera": {"coerced": {
            "properties.revenue": "64.50", "properties.total": " 70.1 ",
            "properties.shipping": "0", "properties.products[0].price": "32.25",
        }},
    }  # fmt: skip
    assert quarantine_of(session, tenant.workspace_id) == []


def test_money_as_words_is_still_quarantined_naming_the_field(
    client: TestClient, session: Session
) -> None:
    """ "sixty", "64,50" and "$64.50" are no numbers: each message is kept in the quarantine
    with the field named, its neighbours stored."""
    tenant = make_tenant(session, "acme")

    def order(message_id: str, revenue: str) -> dict[str, Any]:
        return {"type": "track", "userId": "u1", "event": "Order Completed",
                "messageId": message_id, "properties": {"order_id": message_id,
                                                        "revenue": revenue}}  # fmt: skip

    body = {"batch": [order("a", "sixty"), order("b", "64,50"), order("c", "$64.50"),
                      order("d", "64.50")]}  # fmt: skip

    response = client.post("/v1/batch", json=body, headers=basic(tenant.write_token))

    assert response.status_code == 200
    assert [(r["index"], r["field"], r["reason"]) for r in response.json()["rejected"]] == [
        (index, "properties.revenue", "properties.revenue must be a number") for index in range(3)
    ]
    assert [e.message_id for e in events_of(session, tenant)] == ["d"]
    kept = quarantine_of(session, tenant.workspace_id)
    assert [(entry.field, json.loads(entry.raw)["properties"]["revenue"]) for entry in kept] == [
        ("properties.revenue", "sixty"), ("properties.revenue", "64,50"),
        ("properties.revenue", "$64.50"),
    ]  # fmt: skip


def test_missing_ids_and_wrong_types_are_rejected_per_message(
    client: TestClient, session: Session
) -> None:
    """Each bad message is quarantined with its reason; counts always balance."""
    tenant = make_tenant(session, "acme")
    body = {"batch": [
        {"type": "track", "event": "E"},
        {"type": "teleport", "userId": "u"},
        {"type": "track", "userId": "u", "event": "E", "properties": [1, 2]},
        {"type": "track", "userId": "u", "event": "E", "timestamp": "yesterday"},
        "not an object",
        {"type": "alias", "userId": "u"},
        {"type": "group", "userId": "u"},
        {"type": "track", "userId": 42, "event": "E", "messageId": "fine"},
    ]}  # fmt: skip

    result = client.post("/v1/batch", json=body, headers=basic(tenant.write_token)).json()

    assert [r["field"] for r in result["rejected"]] == [
        "userId", "type", "properties", "timestamp", None, "previousId", "groupId",
    ]  # fmt: skip
    assert (result["received"], result["accepted"], result["duplicates"]) == (8, 1, 0)
    assert events_of(session, tenant)[0].user_id == "42"


def test_overload_answers_429_with_retry_after(client: TestClient, session: Session) -> None:
    """With no capacity left the API says so with 429 and Retry-After, storing nothing."""
    tenant = make_tenant(session, "acme")
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"collect_max_inflight": 0}
    )

    response = client.post(
        "/v1/track", json={"event": "E", "userId": "u"}, headers=basic(tenant.write_token)
    )

    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert events_of(session, tenant) == []


def test_browsers_get_cors_headers(client: TestClient) -> None:
    """A preflight from a brand's page is allowed for the tracking paths."""
    response = client.options(
        "/v1/t",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def test_context_channel_assigns_a_registered_channel(client: TestClient, session: Session) -> None:
    """context.channel naming a registered store wins; app libraries mean the app channel."""
    tenant = make_tenant(session, "acme")
    created = client.post(
        "/v1/channels", headers=tenant.auth,
        json={"kind": "store", "name": "SoHo", "external_refs": ["loc-77"]},
    )  # fmt: skip
    body = {"batch": [
        {"type": "track", "event": "In store", "userId": "u", "messageId": "s1",
         "context": {"channel": "store:soho"}},
        {"type": "screen", "name": "Home", "userId": "u", "messageId": "s2",
         "context": {"library": {"name": "analytics-ios", "version": "4.1"}}},
        {"type": "track", "event": "Unknown", "userId": "u", "messageId": "s3",
         "context": {"channel": "moon-base"}},
    ]}  # fmt: skip

    client.post("/v1/batch", json=body, headers=basic(tenant.write_token))

    assert created.status_code == 201 and created.json()["key"] == "store:soho"
    channels = {e.message_id: e.channel for e in events_of(session, tenant)}
    assert channels == {"s1": "store:soho", "s2": "app", "s3": "web"}


def test_quarantined_events_can_be_fixed_and_replayed(client: TestClient, session: Session) -> None:
    """A refused event is listed, replayed with a fix, stored once, and the entry closed."""
    tenant = make_tenant(session, "acme")
    client.post(
        "/v1/batch", headers=basic(tenant.write_token),
        json={"batch": [{"type": "track", "event": "Order Completed", "userId": "u",
                         "messageId": "fix-me", "properties": {"total": 5}}]},
    )  # fmt: skip
    [listed] = client.get("/v1/quarantine", headers=tenant.auth).json()["items"]
    fixed = {**json.loads(listed["raw"]), "properties": {"order_id": "9", "total": 5}}

    still_bad = client.post(f"/v1/quarantine/{listed['id']}/replay", headers=tenant.auth, json={})
    replayed = client.post(
        f"/v1/quarantine/{listed['id']}/replay", headers=tenant.auth, json={"payload": fixed}
    )
    twice = client.post(
        f"/v1/quarantine/{listed['id']}/replay", headers=tenant.auth, json={"payload": fixed}
    )

    assert still_bad.status_code == 422
    assert still_bad.json()["field"] == "properties.order_id"
    assert replayed.status_code == 200
    assert replayed.json()["status"] == "replayed"
    assert twice.status_code == 409
    assert [e.message_id for e in events_of(session, tenant)] == ["fix-me"]
    assert client.get("/v1/quarantine", headers=tenant.auth).json()["items"] == []


def test_stored_events_are_listed_newest_first(client: TestClient, session: Session) -> None:
    """GET /v1/events pages through what was stored, filtered by channel."""
    tenant = make_tenant(session, "acme")
    client.post(
        "/v1/batch", json=fixture("batch_text_plain.json"), headers=basic(tenant.write_token)
    )

    page = client.get("/v1/events?limit=2", headers=tenant.auth).json()
    rest = client.get(f"/v1/events?cursor={page['next_cursor']}", headers=tenant.auth).json()
    none = client.get("/v1/events?channel=app", headers=tenant.auth).json()

    assert len(page["items"]) == 2 and len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    assert none["items"] == []


def test_a_body_said_to_be_gzip_that_is_not_is_a_400_and_kept(
    client: TestClient, session: Session
) -> None:
    """Content-Encoding: gzip on a plain body: 400 naming gzip, the bytes kept for a fix."""
    tenant = make_tenant(session, "acme")

    response = client.post(
        "/v1/batch",
        content=b'{"batch": []}',
        headers={**basic(tenant.write_token), "Content-Encoding": "gzip"},
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "the body is not valid gzip"
    [entry] = quarantine_of(session, tenant.workspace_id)
    assert (entry.kind, entry.field, entry.raw) == ("request", "body", '{"batch": []}')


def test_nul_characters_and_uncorrectable_times_are_refused_with_reasons(
    client: TestClient, session: Session
) -> None:
    """PostgreSQL cannot store NUL, and a correction past year 1 cannot be made: such messages
    are quarantined on every backend alike, their neighbours stored, the books balanced."""
    tenant = make_tenant(session, "acme")
    body = {"batch": [
        {"type": "track", "event": "Signed\u0000Up", "userId": "u", "messageId": "nul"},
        {"type": "track", "event": "E", "userId": "u", "messageId": "far",
         "timestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T00:00:00Z"},
        {"type": "track", "event": "E", "userId": "u" * 300, "messageId": "ok"},
    ]}  # fmt: skip

    result = client.post("/v1/batch", json=body, headers=basic(tenant.write_token)).json()

    assert [(r["message_id"], r["field"]) for r in result["rejected"]] == [
        ("nul", None), ("far", "sentAt"),
    ]  # fmt: skip
    assert "NUL" in result["rejected"][0]["reason"]
    assert (result["received"], result["accepted"], result["duplicates"]) == (3, 1, 0)
    [stored] = events_of(session, tenant)
    assert stored.user_id == "u" * 200  # ids are cut at the column's 200 characters


def test_a_refused_single_event_answers_with_the_tally(
    client: TestClient, session: Session
) -> None:
    """A single call that is refused says why and carries the same tally as a batch."""
    tenant = make_tenant(session, "acme")

    response = client.post(
        "/v1/track", json={"userId": "u", "messageId": "m"}, headers=basic(tenant.write_token)
    )

    problem = response.json()
    assert response.status_code == 400
    assert (problem["field"], problem["received"], problem["accepted"]) == ("event", 1, 0)
    assert [r["quarantine_id"] for r in problem["rejected"]] == [problem["quarantine_id"]]
