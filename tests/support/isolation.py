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
    from tessera.workspace.membership.service import MembershipService

    key, _token = WorkspaceService(session).create_api_key(
        b.workspace_id, ApiKeyKind.SECRET, "b-analytics", Role.ANALYST
    )
    invited = MembershipService(session).invite(
        b.workspace_id, "guest@bravo.example", Role.VIEWER, actor="probe", grantor_role=None
    )
    members = "/v1/members"
    return [
        Probe("/v1/workspace", "GET", "/v1/workspace", "only_own"),
        Probe("/v1/workspace", "PATCH", "/v1/workspace", "only_own", json={"currency": "EUR"}),
        Probe("/v1/audit-log", "GET", "/v1/audit-log", "only_own"),
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
        Probe(f"{members}/{{user_id}}", "DELETE", f"{members}/{b.owner_id}", "not_found"),
        Probe(f"{members}/{{user_id}}/password-reset", "POST",
              f"{members}/{b.owner_id}/password-reset", "not_found"),
        Probe("/v1/invitations", "GET", "/v1/invitations", "only_own"),
        Probe("/v1/invitations", "POST", "/v1/invitations", "only_own",
              json={"email": b.owner_email, "role": "viewer"}),
        Probe("/v1/invitations/{invitation_id}/revoke", "POST",
              f"/v1/invitations/{invited.invitation.id}/revoke", "not_found"),
    ]  # fmt: skip


@probes
def collect_probes(session: Session, b: Tenant) -> list[Probe]:
    from tessera.collect.domain import Sender
    from tessera.collect.quarantine import QuarantineService
    from tessera.collect.service import CollectService
    from tessera.collect.sources import SourceService
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
    other_entry = QuarantineService(session).keep(b.workspace_id, "test", "bad", {"x": 1}).id
    sources = SourceService(session)
    sources.add_channel(b.workspace_id, ChannelKind.STORE, "Bravo Store", external_refs=["b-loc"])
    source = sources.connector_source(b.workspace_id, SourceKind.SHOPIFY, "bravo.myshopify.com")
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
        Probe("/v1/quarantine/groups", "GET", "/v1/quarantine/groups", "only_own"),
        # B's ids in a bulk action are each answered "no such entry in this workspace"
        Probe("/v1/quarantine/replay", "POST", "/v1/quarantine/replay", "only_own",
              json={"ids": [entry_id]}),
        Probe("/v1/quarantine/discard", "POST", "/v1/quarantine/discard", "only_own",
              json={"ids": [other_entry], "why": "spam"}),
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
    from tessera.connector.webhooks import ShopifyService
    from tessera.order.service import OrderService
    from tests.order.test_service import PLACED

    source, _created = ShopifyService(session).register(
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
        Probe("/v1/orders.csv", "GET", "/v1/orders.csv", "only_own"),
        Probe("/v1/orders/{order_id}", "GET", f"/v1/orders/{order.order_id}", "not_found"),
    ]  # fmt: skip


@probes
def identity_merge_probes(session: Session, b: Tenant) -> list[Probe]:
    from tessera.identity.graph.service import IdentityService
    from tests.identity.stitching import identify, send

    send(session, b.workspace_id, [identify("b1", 0, anonymous_id="b-web", user_id="b-user")])
    send(session, b.workspace_id, [identify("b2", 1, anonymous_id="b-app")])
    service = IdentityService(session)
    first = service.find_profile(b.workspace_id, "anonymous_id", "b-web")
    second = service.find_profile(b.workspace_id, "anonymous_id", "b-app")
    assert first is not None and second is not None
    merge = service.merge_profiles(
        b.workspace_id, first.id, second.id, cause_kind="manual", cause_ref="probe"
    )
    pair = [first.id, second.id]
    return [
        Probe("/v1/merges", "GET", "/v1/merges", "only_own"),
        Probe("/v1/merges", "POST", "/v1/merges", "not_found", json={"profile_ids": pair}),
        Probe("/v1/merges/{merge_id}/unmerge", "POST", f"/v1/merges/{merge.id}/unmerge",
              "not_found", json={}),
        Probe("/v1/identity/rules", "GET", "/v1/identity/rules", "only_own"),
        Probe("/v1/identity/rules", "PUT", "/v1/identity/rules", "only_own",
              json={"blocked_values": ["b-user"]}),
    ]  # fmt: skip


@probes
def identity_match_probes(session: Session, b: Tenant) -> list[Probe]:
    from tessera.identity.match.service import MatchService
    from tessera.models.identity import IdentityConflict
    from tests.identity.matchdata import ELIZABETH, LIZ_AT_THE_TILL, make_profile, reviews_of

    known = make_profile(session, b.workspace_id, email="bravo.okafor@example.com", **ELIZABETH)
    guest = make_profile(session, b.workspace_id, **LIZ_AT_THE_TILL)
    service = MatchService(session)
    service.refresh(b.workspace_id, [known])
    service.match(b.workspace_id, [guest])
    [review] = reviews_of(session, b.workspace_id)
    session.add(
        IdentityConflict(
            workspace_id=b.workspace_id,
            rule="limit:user_id",
            profile_ids=[known, guest],
            identifier_type="user_id",
            identifier_value="bravo-user",
            cause_ref="msg-bravo",
        )
    )
    session.flush()
    reviews = "/v1/identity/reviews"
    return [
        Probe(reviews, "GET", f"{reviews}?status=all", "only_own"),
        Probe(f"{reviews}/{{review_id}}", "GET", f"{reviews}/{review.id}", "not_found"),
        Probe(f"{reviews}/{{review_id}}/accept", "POST", f"{reviews}/{review.id}/accept",
              "not_found"),
        Probe(f"{reviews}/{{review_id}}/reject", "POST", f"{reviews}/{review.id}/reject",
              "not_found"),
        Probe("/v1/identity/model", "GET", "/v1/identity/model", "only_own"),
        Probe("/v1/identity/model/train", "POST", "/v1/identity/model/train", "only_own"),
        Probe("/v1/identity/conflicts", "GET", "/v1/identity/conflicts?status=all", "only_own"),
    ]  # fmt: skip


@probes
def feed_and_price_probes(session: Session, b: Tenant) -> list[Probe]:
    from tessera.catalog.schemas import ListingIn, ProductIn, VariantIn
    from tessera.catalog.service import CatalogService
    from tessera.feed.schemas import FeedIn
    from tessera.feed.service import FeedService
    from tessera.models.catalog import ListingPlatform
    from tessera.models.feed import FeedAdapter
    from tessera.pricing.schemas import FloorIn, PolicyIn, PriceIn
    from tessera.pricing.service import PriceService

    CatalogService(session).create_product(
        b.workspace_id,
        ProductIn(handle="bravo-tee", title="Bravo Tee", variants=[VariantIn(sku="BRAVO-TEE")]),
    )
    CatalogService(session).add_listing(
        b.workspace_id,
        ListingIn(
            sku="BRAVO-TEE", channel="web", platform=ListingPlatform.SHOPIFY, external_id="b-301"
        ),
    )
    feed = FeedService(session).create_feed(
        b.workspace_id, FeedIn(channel="web", name="Bravo web", adapter=FeedAdapter.LOG)
    )
    prices = PriceService(session)
    prices.set_policy(b.workspace_id, PolicyIn(site_channel="web", max_above_basis_points=100))
    prices.set_floor(b.workspace_id, FloorIn(sku="BRAVO-TEE", amount=500, currency="USD"))
    prices.set_price(
        b.workspace_id, PriceIn(sku="BRAVO-TEE", channel="web", amount=1000, currency="USD")
    )
    prices.set_price(
        b.workspace_id, PriceIn(sku="BRAVO-TEE", channel="amazon", amount=2000, currency="USD")
    )
    feed_path = f"/v1/feeds/{feed.id}"
    return [
        Probe("/v1/feeds", "GET", "/v1/feeds", "only_own"),
        Probe("/v1/feeds", "POST", "/v1/feeds", "only_own",
              json={"channel": "web", "name": "Alpha web", "adapter": "log"}),
        Probe("/v1/feeds/{feed_id}", "GET", feed_path, "not_found"),
        Probe("/v1/feeds/{feed_id}", "PATCH", feed_path, "not_found", json={"is_enabled": False}),
        Probe("/v1/feeds/{feed_id}/listings", "GET", f"{feed_path}/listings", "not_found"),
        Probe("/v1/feeds/{feed_id}/push", "POST", f"{feed_path}/push", "not_found", json={}),
        Probe("/v1/feeds/{feed_id}/availability", "GET",
              f"{feed_path}/availability?sku=BRAVO-TEE", "not_found"),
        Probe("/v1/prices", "GET", "/v1/prices", "only_own"),
        Probe("/v1/prices", "POST", "/v1/prices", "only_own",
              json={"sku": "BRAVO-TEE", "channel": "web", "amount": 1, "currency": "USD"}),
        Probe("/v1/prices/history", "GET", "/v1/prices/history?sku=BRAVO-TEE&channel=web",
              "not_found"),
        Probe("/v1/prices/parity", "GET", "/v1/prices/parity", "only_own"),
        Probe("/v1/prices/alerts", "GET", "/v1/prices/alerts?include_resolved=true", "only_own"),
        Probe("/v1/prices/policy", "GET", "/v1/prices/policy", "only_own"),
        Probe("/v1/prices/policy", "PUT", "/v1/prices/policy", "only_own",
              json={"site_channel": "web", "max_above_basis_points": 0}),
        Probe("/v1/prices/floors", "PUT", "/v1/prices/floors", "only_own",
              json={"sku": "BRAVO-TEE", "amount": 1, "currency": "USD"}),
    ]  # fmt: skip


@probes
def customer_360_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.identity.people import profile_probes

    return profile_probes(session, b)


@probes
def stock_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.inventory.probes import stock_probes as build

    return build(session, b)


@probes
def journey_probes(session: Session, b: Tenant) -> list[Probe]:
    from tessera.journey.service import JourneyService
    from tests.journey.flows import journey_doc, make_templates

    make_templates(session, b.workspace_id, journey_doc())
    service = JourneyService(session)
    draft = service.create(b.workspace_id, journey_doc(), actor="probe")
    live = service.create(b.workspace_id, journey_doc(), actor="probe")
    service.publish(b.workspace_id, live.id, actor="probe")
    paused = service.create(b.workspace_id, journey_doc(), actor="probe")
    service.publish(b.workspace_id, paused.id, actor="probe")
    service.pause(b.workspace_id, paused.id, actor="probe")
    base = "/v1/journeys"
    return [
        Probe(base, "GET", base, "only_own"),
        Probe(base, "POST", base, "only_own", json=journey_doc()),
        Probe(f"{base}/{{journey_id}}", "GET", f"{base}/{draft.id}", "not_found"),
        Probe(f"{base}/{{journey_id}}/versions/{{version}}", "GET",
              f"{base}/{draft.id}/versions/1", "not_found"),
        Probe(f"{base}/{{journey_id}}/versions", "POST", f"{base}/{draft.id}/versions",
              "not_found", json=journey_doc()),
        Probe(f"{base}/{{journey_id}}/publish", "POST", f"{base}/{draft.id}/publish",
              "not_found", json={}),
        Probe(f"{base}/{{journey_id}}/pause", "POST", f"{base}/{live.id}/pause", "not_found"),
        Probe(f"{base}/{{journey_id}}/resume", "POST", f"{base}/{paused.id}/resume",
              "not_found"),
        Probe(f"{base}/{{journey_id}}/archive", "POST", f"{base}/{live.id}/archive",
              "not_found"),
        Probe(f"{base}/{{journey_id}}/instances", "GET", f"{base}/{live.id}/instances",
              "not_found"),
    ]  # fmt: skip


@probes
def message_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.message.probes import message_probes as build

    return build(session, b)


@probes
def segment_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.segment.probes import segment_probes as build

    return build(session, b)


@probes
def journey_metrics_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.journey.probes import journey_metrics_probes as build

    return build(session, b)


@probes
def loyalty_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.loyalty.probes import loyalty_probes as build

    return build(session, b)


@probes
def report_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.analytics.probes import report_probes as build

    return build(session, b)


@probes
def journey_library_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.journey.probes import journey_library_probes as build

    return build(session, b)


@probes
def rights_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.rights.probes import rights_probes as build

    return build(session, b)


@probes
def creator_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.creator.probes import creator_probes as build

    return build(session, b)


@probes
def content_probes(session: Session, b: Tenant) -> list[Probe]:
    from tests.content.probes import content_probes as build

    return build(session, b)
