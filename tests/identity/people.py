"""Test people for the customer 360 and privacy tests, made through the real services.

Messages go through Collect's ingest and orders through the orders service, exactly as the API
sends them; the stitch jobs they enqueue are then run as a worker would run them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService, IngestResult
from tessera.identity.graph.service import IdentityService
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalCustomer, CanonicalLine, CanonicalOrder
from tessera.order.service import OrderService
from tests.identity.stitching import run_stitch_jobs
from tests.support.factories import Tenant
from tests.support.isolation import Probe

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ANA_EMAIL = "Ana.Silva@Example.com"
ANA_PHONE = "(415) 555-0134"
ANA_PHONE_E164 = "+14155550134"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def send(session: Session, workspace_id: str, messages: Sequence[dict[str, Any]]) -> IngestResult:
    """Ingest as the API does, then stitch."""
    result = CollectService(session).ingest(Sender(workspace_id, None), messages, "test")
    run_stitch_jobs(session)
    return result


def message(
    kind: str,
    message_id: str,
    minute: int,
    *,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    channel: str = "web",
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind,
        "messageId": message_id,
        "timestamp": at(minute).isoformat(),
        "context": {"channel": channel},
        **fields,
    }
    if anonymous_id:
        body["anonymousId"] = anonymous_id
    if user_id:
        body["userId"] = user_id
    return body


def order(
    number: str, minute: int, total: int, *, channel: str = "web", email: str = ANA_EMAIL,
    cancelled: bool = False, currency: str = "USD", platform: str = "shopify",
) -> CanonicalOrder:  # fmt: skip
    return CanonicalOrder(
        platform=platform,
        external_id=f"ext-{number}",
        order_number=number,
        channel=channel,
        status=OrderStatus.PLACED,
        currency=currency,
        placed_at=at(minute),
        version=at(minute).isoformat(),
        lines=(CanonicalLine("l1", 1, total, total, sku="SERUM-30", title="Night Serum"),),
        subtotal=total,
        total=total,
        is_cancelled=cancelled,
        customer=CanonicalCustomer(
            email=email, first_name="Ana", last_name="Silva", postal_code="94110"
        ),
    )


@dataclass(frozen=True)
class Story:
    workspace_id: str
    ana: str  # Ana's profile id (the survivor)
    absorbed: str  # her other profile, merged into it when she logged in on the app
    ben: str
    order_ids: tuple[str, ...]  # Ana's orders, oldest first


def ana_and_ben(session: Session, workspace_id: str) -> Story:
    """Ana: a web visit, an app profile merged in when she logs in there, three orders (one
    cancelled, one on TikTok Shop); Ben: one web identify. Their profiles as the graph made
    them."""
    send(session, workspace_id, [
        message("identify", "ana-1", 0, anonymous_id="web-ana", user_id="u-ana", traits={
            "email": ANA_EMAIL, "first_name": "Ana", "last_name": "Silva", "phone": ANA_PHONE,
            "loyalty_id": "LOY-777"}),
        message("track", "ana-2", 5, anonymous_id="web-ana", event="Product Viewed",
                properties={"sku": "SERUM-30"}),
        message("screen", "ana-3", 10, anonymous_id="app-ana", channel="app", name="Home"),
        message("identify", "ben-1", 12, anonymous_id="web-ben", user_id="u-ben",
                traits={"email": "ben@example.com", "first_name": "Ben",
                        "last_name": "Okafor"}),
    ])  # fmt: skip
    identity = IdentityService(session)
    before = {
        identity.find_profile(workspace_id, "anonymous_id", device).id  # type: ignore[union-attr]
        for device in ("web-ana", "app-ana")
    }
    assert len(before) == 2
    send(session, workspace_id, [message("identify", "ana-4", 20, anonymous_id="app-ana",
                                         user_id="u-ana", channel="app")])  # fmt: skip
    orders = OrderService(session)
    order_ids = tuple(
        orders.apply(workspace_id, o).order_id
        for o in (
            order("#1001", 30, 7600),
            order("TT-2002", 40, 2400, channel="tiktok_shop", platform="tiktok_shop"),
            order("#1003", 50, 5000, cancelled=True),
        )
    )
    run_stitch_jobs(session)
    ana = identity.find_profile(workspace_id, "user_id", "u-ana")
    ben = identity.find_profile(workspace_id, "user_id", "u-ben")
    assert ana is not None and ben is not None
    (absorbed,) = before - {ana.id}
    return Story(workspace_id, ana.id, absorbed, ben.id, order_ids)


def profile_probes(session: Session, b: Tenant) -> list[Probe]:
    """The isolation probes of ``/v1/profiles``: B's customer, asked for with A's key."""
    send(session, b.workspace_id, [
        message("identify", "b-360", 0, anonymous_id="b-web-360", user_id="b-user-360",
                traits={"email": "bea@bravo.example", "first_name": "Bea", "last_name": "Bravo"}),
    ])  # fmt: skip
    bea = IdentityService(session).find_profile(b.workspace_id, "email", "bea@bravo.example")
    assert bea is not None
    base = f"/v1/profiles/{bea.id}"
    consent = {"identifier_type": "email", "identifier_value": "bea@bravo.example",
               "purpose": "marketing", "channel": "email", "status": "granted",
               "source": "probe"}  # fmt: skip
    return [
        Probe("/v1/profiles", "GET", "/v1/profiles?q=bea@bravo.example", "only_own"),
        Probe("/v1/profiles/{profile_id}", "GET", base, "not_found"),
        Probe("/v1/profiles/{profile_id}/timeline", "GET", f"{base}/timeline", "not_found"),
        Probe("/v1/profiles/{profile_id}/consents", "GET", f"{base}/consents", "not_found"),
        Probe("/v1/profiles/{profile_id}/consents", "POST", f"{base}/consents", "not_found",
              json=consent),
        Probe("/v1/profiles/{profile_id}/export", "GET", f"{base}/export", "not_found"),
        Probe("/v1/profiles/{profile_id}/erase", "POST", f"{base}/erase", "not_found",
              json={"mode": "delete"}),
    ]  # fmt: skip
