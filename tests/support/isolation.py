"""The workspace-isolation probes: for every ``/v1`` route, a request by workspace A's key that
names or lists workspace B's data. ``tests/http/test_isolation.py`` runs them all and fails when
a route has no probe, so a new router cannot skip the check.

Each domain adds one builder with ``@probes``: it creates B's data through B's services and
returns the requests A will try.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.support.factories import Tenant


@dataclass(frozen=True)
class Probe:
    route: str  # the route template this covers, e.g. "/v1/api-keys/{key_id}/revoke"
    method: str
    path: str  # the concrete path, naming B's ids where the route has parameters
    expect: Literal["not_found", "only_own"]  # B's thing is invisible / a listing shows only A's
    json: Any = field(default=None)


Builder = Callable[[Session, Tenant], list[Probe]]
BUILDERS: list[Builder] = []


def probes(builder: Builder) -> Builder:
    BUILDERS.append(builder)
    return builder


@probes
def workspace_probes(session: Session, b: Tenant) -> list[Probe]:
    key, _token = WorkspaceService(session).create_api_key(
        b.workspace_id, ApiKeyKind.SECRET, "b-analytics", Role.ANALYST
    )
    return [
        Probe("/v1/workspace", "GET", "/v1/workspace", "only_own"),
        Probe("/v1/api-keys", "GET", "/v1/api-keys", "only_own"),
        Probe(
            "/v1/api-keys",
            "POST",
            "/v1/api-keys",
            "only_own",
            json={"name": "x", "kind": "secret", "role": "viewer"},
        ),
        Probe("/v1/api-keys/{key_id}/revoke", "POST", f"/v1/api-keys/{key.id}/revoke", "not_found"),
        Probe("/v1/members", "GET", "/v1/members", "only_own"),
        Probe(
            "/v1/members",
            "POST",
            "/v1/members",
            "only_own",
            json={"email": b.owner_email, "role": "viewer"},
        ),
    ]


@probes
def collect_probes(session: Session, b: Tenant) -> list[Probe]:
    from tessera.collect.service import CollectService, Sender
    from tessera.models.collect import ChannelKind, SourceKind

    service = CollectService(session)
    sender = service.sender_for_write_key(b.write_token)
    result = service.ingest(
        sender,
        [
            {"type": "track", "event": "Seen", "userId": "b-user", "messageId": "b-1"},
            {"type": "track", "event": "Order Completed", "userId": "b-user"},
        ],
        "test",
    )
    event = service.list_events(b.workspace_id).items[0]
    entry_id = result.rejected[0].quarantine_id
    other_entry = service.quarantine(b.workspace_id, "test", "bad", {"x": 1}).id
    service.add_channel(b.workspace_id, ChannelKind.STORE, "Bravo Store", external_refs=["b-loc"])
    source = service.connector_source(b.workspace_id, SourceKind.SHOPIFY, "bravo.myshopify.com")
    assert isinstance(sender, Sender)
    tracking = [
        Probe(f"/v1/{path}", "POST", f"/v1/{path}", "only_own",
              json={"type": "track", "event": "E", "userId": "u", "batch": []})
        for path in ("identify", "track", "page", "screen", "group", "alias", "batch", "import",
                     "i", "t", "p", "s", "g", "a", "b")
    ]  # fmt: skip
    return [
        *tracking,
        Probe("/v1/events", "GET", "/v1/events", "only_own"),
        Probe("/v1/events/{event_id}", "GET", f"/v1/events/{event.id}", "not_found"),
        Probe("/v1/quarantine", "GET", "/v1/quarantine", "only_own"),
        Probe("/v1/quarantine/{entry_id}", "GET", f"/v1/quarantine/{entry_id}", "not_found"),
        Probe(
            "/v1/quarantine/{entry_id}/replay", "POST", f"/v1/quarantine/{entry_id}/replay",
            "not_found", json={},
        ),
        Probe(
            "/v1/quarantine/{entry_id}/discard", "POST",
            f"/v1/quarantine/{other_entry}/discard", "not_found", json={"why": "spam"},
        ),
        Probe("/v1/channels", "GET", "/v1/channels", "only_own"),
        Probe("/v1/channels", "POST", "/v1/channels", "only_own",
              json={"kind": "store", "name": "Bravo Store", "external_refs": ["b-loc"]}),
        Probe("/v1/sources", "GET", "/v1/sources", "only_own"),
        Probe("/v1/sources/{source_id}", "PATCH", f"/v1/sources/{source.id}", "not_found",
              json={"default_channel": "web"}),
    ]  # fmt: skip


@probes
def job_probes(session: Session, b: Tenant) -> list[Probe]:
    from tessera.job.service import JobService

    service = JobService(session)
    queued = service.enqueue("test.ran", {"sku": "B-1"}, workspace_id=b.workspace_id)
    cancelled = service.enqueue("test.ran", {"sku": "B-2"}, workspace_id=b.workspace_id)
    service.cancel(cancelled.id, b.workspace_id)
    return [
        Probe("/v1/jobs", "GET", "/v1/jobs", "only_own"),
        Probe("/v1/jobs/{job_id}", "GET", f"/v1/jobs/{queued.id}", "not_found"),
        Probe("/v1/jobs/{job_id}/retry", "POST", f"/v1/jobs/{cancelled.id}/retry", "not_found"),
        Probe("/v1/jobs/{job_id}/cancel", "POST", f"/v1/jobs/{queued.id}/cancel", "not_found"),
    ]


@probes
def connector_and_order_probes(session: Session, b: Tenant) -> list[Probe]:
    from tessera.collect.connectors.service import ConnectorService
    from tessera.orders.service import OrderService
    from tests.orders.test_service import PLACED

    source, _created = ConnectorService(session).register_shopify(
        b.workspace_id, "bravo.myshopify.com", "bravo-webhook-secret-0123456789"
    )
    order = OrderService(session).apply(b.workspace_id, PLACED, source.id)
    order_body = {"id": 1, "created_at": "2026-11-20T09:00:00Z"}
    return [
        Probe("/v1/connectors/shopify", "POST", "/v1/connectors/shopify", "only_own",
              json={"shop_domain": "bravo.myshopify.com",
                    "webhook_secret": "alpha-guess-0123456789"}),
        Probe("/v1/connectors/shopify/{source_id}/webhooks", "POST",
              f"/v1/connectors/shopify/{source.id}/webhooks", "only_own", json=order_body),
        Probe("/v1/connectors/amazon/orders", "POST", "/v1/connectors/amazon/orders", "only_own",
              json=order_body),
        Probe("/v1/connectors/tiktok/orders", "POST", "/v1/connectors/tiktok/orders", "only_own",
              json=order_body),
        Probe("/v1/connectors/square/orders", "POST", "/v1/connectors/square/orders", "only_own",
              json=order_body),
        Probe("/v1/connectors/retail/sell-through", "POST", "/v1/connectors/retail/sell-through",
              "only_own", json=order_body),
        Probe("/v1/orders", "GET", "/v1/orders", "only_own"),
        Probe("/v1/orders/{order_id}", "GET", f"/v1/orders/{order.order_id}", "not_found"),
    ]  # fmt: skip
