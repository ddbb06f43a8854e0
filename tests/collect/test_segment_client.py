"""The official ``segment-analytics-python`` client, pointed at a real Tessera server.

Each test starts the app with uvicorn on a free local port and sends events with the client as a
brand would (only ``host`` changed), then reads back what was stored, field for field.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from segment.analytics import Client
from segment.analytics.version import VERSION
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.identity.graph.service import IdentityService
from tessera.models.collect import Event, QuarantineEntry
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.identity.stitching import run_stitch_jobs
from tests.support.live import live_server

WHEN = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)  # the device's clock at the first call
SECONDS_AFTER = {"m-identify": 0, "m-viewed": 1, "m-order": 2, "m-page": 3, "m-screen": 4,
                 "m-group": 5, "m-alias": 6}  # fmt: skip
ORDER = {
    "checkout_id": "chk-77",
    "order_id": "1001",
    "affiliation": "Saltwater web store",
    "total": 76.0,
    "subtotal": 70.0,
    "revenue": 70.0,
    "shipping": 6.0,
    "tax": 0.0,
    "discount": 0.0,
    "coupon": "GLOW10",
    "currency": "USD",
    "products": [
        {"product_id": "sku-serum-30", "sku": "SERUM-30", "name": "Night Serum",
         "brand": "Saltwater", "category": "Skin care", "variant": "30 ml", "price": 35.0,
         "quantity": 2, "position": 1, "url": "https://shop.example/p/serum",
         "image_url": "https://shop.example/i/serum.jpg"},
    ],
}  # fmt: skip


@dataclass
class Brand:
    workspace_id: str
    write_key: str
    engine: Engine

    def events(self) -> dict[str, Event]:
        with Session(self.engine) as session:
            rows = session.scalars(select(Event).where(Event.workspace_id == self.workspace_id))
            return {event.message_id: event for event in rows}

    def quarantined(self) -> int:
        with Session(self.engine) as session:
            return session.scalar(select(func.count()).select_from(QuarantineEntry)) or 0


@pytest.fixture
def brand(committed_database_url: str) -> Iterator[Brand]:
    """A workspace and a write key, committed so the server's process-wide view sees them."""
    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        service = WorkspaceService(session)
        workspace = service.create_workspace("Saltwater Skin", "saltwater")
        _key, token = service.create_api_key(workspace.id, ApiKeyKind.PUBLIC, "website")
    yield Brand(workspace.id, token, engine)
    engine.dispose()


class Errors:
    """What the client reports through ``on_error`` (an object that is always truthy: the
    client skips a falsy callback)."""

    def __init__(self) -> None:
        self.reported: list[tuple[Exception, list[dict[str, Any]]]] = []

    def __call__(self, error: Exception, batch: list[dict[str, Any]]) -> None:
        self.reported.append((error, batch))


def send_every_call(client: Client) -> None:
    """One call of each type, as a shop's backend would make them."""
    client.identify(
        "cus-1001", {"email": "ava@example.com", "first_name": "Ava", "plan": "vip"},
        anonymous_id="anon-7", timestamp=WHEN, message_id="m-identify",
    )  # fmt: skip
    client.track(
        "cus-1001", "Product Viewed",
        {"product_id": "sku-serum-30", "sku": "SERUM-30", "price": 35.0, "currency": "USD"},
        timestamp=WHEN + timedelta(seconds=1), message_id="m-viewed",
    )  # fmt: skip
    client.track(
        "cus-1001", "Order Completed", ORDER,
        context={"campaign": {"source": "tiktok", "medium": "creator"}},
        timestamp=WHEN + timedelta(seconds=2), message_id="m-order",
    )  # fmt: skip
    client.page(
        "cus-1001", "Shop", "Night Serum", {"path": "/p/serum", "title": "Night Serum"},
        timestamp=WHEN + timedelta(seconds=3), message_id="m-page",
    )  # fmt: skip
    client.screen(
        anonymous_id="anon-7", name="Cart", properties={"items": 2},
        context={"app": {"name": "Saltwater", "version": "4.1.0"}},
        timestamp=WHEN + timedelta(seconds=4), message_id="m-screen",
    )  # fmt: skip
    client.group(
        "cus-1001", "grp-wholesale", {"name": "Spa Partners", "employees": 12},
        timestamp=WHEN + timedelta(seconds=5), message_id="m-group",
    )  # fmt: skip
    client.alias("anon-7", "cus-1001", timestamp=WHEN + timedelta(seconds=6), message_id="m-alias")


def test_every_call_of_the_official_client_is_stored_field_for_field(brand: Brand) -> None:
    """identify, track, page, screen, group and alias from segment-analytics-python, batched by
    its consumer thread, are each stored once with their ids, fields, library and channel, and
    with Segment's clock-skew correction applied against the batch's sentAt."""
    errors = Errors()
    sent_after = datetime.now(UTC)

    with live_server(brand.engine.url.render_as_string(hide_password=False)) as base_url:
        client = Client(brand.write_key, host=base_url, on_error=errors, upload_interval=0.1)
        send_every_call(client)
        client.flush()
        client.join()
    stored = brand.events()

    assert errors.reported == []
    assert sorted(stored) == [
        "m-alias", "m-group", "m-identify", "m-order", "m-page", "m-screen", "m-viewed",
    ]  # fmt: skip
    shape = {m: (e.type, e.event, e.user_id, e.anonymous_id, e.channel) for m, e in stored.items()}
    assert shape == {
        "m-identify": ("identify", None, "cus-1001", "anon-7", "web"),
        "m-viewed": ("track", "Product Viewed", "cus-1001", None, "web"),
        "m-order": ("track", "Order Completed", "cus-1001", None, "web"),
        "m-page": ("page", "Night Serum", "cus-1001", None, "web"),
        "m-screen": ("screen", "Cart", None, "anon-7", "app"),
        "m-group": ("group", None, "cus-1001", None, "web"),
        "m-alias": ("alias", None, "cus-1001", None, "web"),
    }
    payloads = {m: e.payload for m, e in stored.items()}
    assert payloads["m-identify"]["traits"] == {
        "email": "ava@example.com", "first_name": "Ava", "plan": "vip",
    }  # fmt: skip
    assert payloads["m-viewed"]["properties"] == {
        "product_id": "sku-serum-30", "sku": "SERUM-30", "price": 35.0, "currency": "USD",
    }  # fmt: skip
    assert payloads["m-order"]["properties"] == ORDER
    assert payloads["m-order"]["context"]["campaign"] == {"source": "tiktok", "medium": "creator"}
    assert (payloads["m-page"]["name"], payloads["m-page"]["category"]) == ("Night Serum", "Shop")
    assert payloads["m-page"]["properties"] == {"path": "/p/serum", "title": "Night Serum"}
    assert payloads["m-screen"]["properties"] == {"items": 2}
    assert payloads["m-group"]["groupId"] == "grp-wholesale"
    assert payloads["m-group"]["traits"] == {"name": "Spa Partners", "employees": 12}
    assert (payloads["m-alias"]["previousId"], payloads["m-alias"]["userId"]) == (
        "anon-7", "cus-1001",
    )  # fmt: skip
    for message_id, event in stored.items():
        payload = event.payload
        assert payload["messageId"] == message_id
        assert payload["context"]["library"] == {"name": "analytics-python", "version": VERSION}
        assert "writeKey" not in payload
        # The device's own clock, kept as sent; sentAt is the batch's; receivedAt the server's.
        assert event.original_timestamp == WHEN + timedelta(seconds=SECONDS_AFTER[message_id])
        assert event.sent_at is not None and sent_after <= event.sent_at <= event.received_at
        # timestamp = receivedAt - (sentAt - originalTimestamp)
        assert event.received_at - event.timestamp == event.sent_at - event.original_timestamp
        assert payload["timestamp"] == event.timestamp.isoformat()
        assert payload["originalTimestamp"] == event.original_timestamp.isoformat()
        assert payload["sentAt"] == event.sent_at.isoformat()
        assert payload["receivedAt"] == event.received_at.isoformat()
    assert len({event.sent_at for event in stored.values()}) == 1  # one batch, one sentAt
    # One batch is shifted by one offset: the device's order and spacing survive.
    first = stored["m-identify"].timestamp
    assert {m: e.timestamp - first for m, e in stored.items()} == {
        m: timedelta(seconds=s) for m, s in SECONDS_AFTER.items()
    }


def test_sync_mode_with_gzip_stores_each_call_as_sent_and_a_replay_once(brand: Brand) -> None:
    """In sync mode the client posts each call at once (here gzip-compressed); sending a call
    again with the same messageId succeeds and is stored once."""
    with live_server(brand.engine.url.render_as_string(hide_password=False)) as base_url:
        client = Client(brand.write_key, host=base_url, sync_mode=True, gzip=True)
        client.track("cus-1", "Checkout Started", {"order_id": "1002", "value": 12.5},
                     timestamp=WHEN, message_id="m-checkout")  # fmt: skip
        client.identify("cus-1", {"email": "bo@example.com"}, timestamp=WHEN, message_id="m-id")
        client.track("cus-1", "Checkout Started", {"order_id": "1002", "value": 12.5},
                     timestamp=WHEN, message_id="m-checkout")  # fmt: skip
    stored = brand.events()

    assert sorted(stored) == ["m-checkout", "m-id"]
    assert stored["m-checkout"].payload["properties"] == {"order_id": "1002", "value": 12.5}
    assert stored["m-id"].payload["traits"] == {"email": "bo@example.com"}
    assert stored["m-checkout"].sent_at != stored["m-id"].sent_at  # one request per call
    assert brand.quarantined() == 0


def test_a_429_with_retry_after_is_honoured_and_nothing_is_stored(
    brand: Brand, caplog: pytest.LogCaptureFixture
) -> None:
    """An overloaded server answers 429 with Retry-After; the client waits, tries again, and
    when its rate-limit budget is spent reports the batch through on_error, having stored
    nothing. The same batch sent later to a server with capacity is stored in full."""
    url = brand.engine.url.render_as_string(hide_password=False)
    errors = Errors()
    caplog.set_level(logging.DEBUG, logger="segment")

    with live_server(url, collect_max_inflight=0) as base_url:
        client = Client(brand.write_key, host=base_url, on_error=errors, upload_interval=0.1,
                        max_rate_limit_duration=1.5)  # fmt: skip
        client.track("cus-1", "Product Added", {"sku": "SERUM-30"}, message_id="m-added")
        client.track("cus-1", "Cart Viewed", {"cart_id": "c-1"}, message_id="m-cart")
        client.flush()
        client.join()
    refused = brand.events()
    attempts = [r for r in caplog.records if r.getMessage().startswith("Rate-limited (status 429)")]
    [(error, batch)] = errors.reported
    with live_server(url) as base_url:
        later = Client(brand.write_key, host=base_url, sync_mode=True)
        for message in batch:
            later.track(message["userId"], message["event"], message["properties"],
                        message_id=message["messageId"])  # fmt: skip
    stored = brand.events()

    assert refused == {}
    assert brand.quarantined() == 0  # overload is answered before the body is read
    assert len(attempts) >= 2  # it waited as told and tried again
    assert str(error) == "Rate limit duration exceeded, batch dropped"
    assert [m["messageId"] for m in batch] == ["m-added", "m-cart"]
    assert sorted(stored) == ["m-added", "m-cart"]


def secret_key(brand: Brand) -> dict[str, str]:
    """A viewer's secret key for reading profiles back over HTTP."""
    with session_scope(make_session_factory(brand.engine)) as session:
        _key, token = WorkspaceService(session).create_api_key(
            brand.workspace_id, ApiKeyKind.SECRET, "reader", Role.VIEWER
        )
    return {"Authorization": f"Bearer {token}"}


def stitch_what_was_sent(brand: Brand) -> None:
    """Run the stitch jobs ingest enqueued, as the worker would, and commit."""
    with session_scope(make_session_factory(brand.engine)) as session:
        run_stitch_jobs(session)


def test_an_sdk_alias_joins_the_anonymous_visitors_history_to_the_customer(
    brand: Brand,
) -> None:
    """identify an anonymous visitor, identify the customer, then alias(anon, customer) from
    the official client: the two profiles become one, searched by the customer's id over HTTP,
    whose timeline holds the anonymous visit, and the merge is recorded as an alias."""
    with live_server(brand.engine.url.render_as_string(hide_password=False)) as base_url:
        client = Client(brand.write_key, host=base_url, sync_mode=True)
        client.identify(anonymous_id="anon-9", traits={"city": "Malmo"}, timestamp=WHEN,
                        message_id="m-anon")  # fmt: skip
        client.identify("cus-2001", {"email": "linnea@example.com"},
                        timestamp=WHEN + timedelta(seconds=1), message_id="m-user")  # fmt: skip
        stitch_what_was_sent(brand)
        headers = secret_key(brand)
        before = [
            httpx.get(f"{base_url}/v1/profiles", params={"q": q}, headers=headers).json()
            for q in ("anon-9", "cus-2001")
        ]
        client.alias("anon-9", "cus-2001", timestamp=WHEN + timedelta(seconds=2),
                     message_id="m-alias")  # fmt: skip
        stitch_what_was_sent(brand)
        found = httpx.get(f"{base_url}/v1/profiles", params={"q": "cus-2001"}, headers=headers)
        (hit,) = found.json()["items"]
        timeline = httpx.get(f"{base_url}/v1/profiles/{hit['id']}/timeline", headers=headers)
        merges = httpx.get(
            f"{base_url}/v1/merges", params={"profile_id": hit["id"]}, headers=headers
        )

    (anonymous,), (customer,) = (b["items"] for b in before)
    assert anonymous["id"] != customer["id"]
    assert hit["id"] in (anonymous["id"], customer["id"])
    assert profile_holding(brand, "anon-9") == hit["id"]
    events = [i["detail"]["message_id"] for i in timeline.json()["items"] if i["kind"] == "event"]
    assert sorted(events) == ["m-alias", "m-anon", "m-user"]
    (merge,) = merges.json()
    assert (merge["cause_kind"], merge["cause_ref"]) == ("alias", "m-alias")


def profile_holding(brand: Brand, anonymous_id: str) -> str:
    """The live profile now holding an anonymous id, read through the service."""
    with session_scope(make_session_factory(brand.engine)) as session:
        found = IdentityService(session).find_profile(
            brand.workspace_id, "anonymous_id", anonymous_id
        )
        assert found is not None
        return found.id


def test_a_kiosk_shared_by_three_sdk_users_is_on_nobodys_timeline(brand: Brand) -> None:
    """Three shoppers sign in on one store iPad with the official client, and it browses signed
    out between them: the first shopper's timeline over HTTP holds her sign-in only, and the
    kiosk's id finds nobody."""
    with live_server(brand.engine.url.render_as_string(hide_password=False)) as base_url:
        client = Client(brand.write_key, host=base_url, sync_mode=True)
        for n, user in enumerate(("cus-a", "cus-b", "cus-c")):
            client.identify(
                user, {"first_name": user}, anonymous_id="kiosk-7",
                timestamp=WHEN + timedelta(minutes=n), message_id=f"in-{n}",
            )  # fmt: skip
            client.page(anonymous_id="kiosk-7", name="Catalogue",
                        timestamp=WHEN + timedelta(minutes=n, seconds=30),
                        message_id=f"browse-{n}")  # fmt: skip
            stitch_what_was_sent(brand)
        headers = secret_key(brand)
        (first,) = httpx.get(
            f"{base_url}/v1/profiles", params={"q": "cus-a"}, headers=headers
        ).json()["items"]
        timeline = httpx.get(f"{base_url}/v1/profiles/{first['id']}/timeline", headers=headers)
        kiosk = httpx.get(f"{base_url}/v1/profiles", params={"q": "kiosk-7"}, headers=headers)

    events = [i["detail"]["message_id"] for i in timeline.json()["items"] if i["kind"] == "event"]
    assert events == ["in-0"]
    assert kiosk.json()["items"] == []
