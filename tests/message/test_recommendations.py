"""A person's recommendations: bought together by others across every channel once identities
are joined, never what they own, in stock at their store or online; and an email with a
``{% for p in recommendations %}`` loop landing on the SMTP server with them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tessera.catalog.schemas import ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.config import Settings
from tessera.identity.errors import ProfileNotFound
from tessera.inventory.schemas import ChannelLocationsIn, LocationIn
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.stock import StockService
from tessera.kit.time import ManualClock
from tessera.message.recommendations import (
    PurchaseSnapshots,
    Recommendation,
    RecommendationService,
)
from tessera.message.service import MessageService
from tessera.message.templates import TemplateService
from tessera.models.catalog import ProductStatus
from tessera.models.inventory import LocationKind
from tessera.models.order import OrderStatus
from tessera.models.workspace import ApiKeyKind, Role
from tessera.order.domain import CanonicalCustomer, CanonicalLine, CanonicalOrder
from tessera.order.service import OrderService
from tessera.pricing.schemas import PriceIn
from tessera.pricing.service import PriceService
from tessera.workspace.service import WorkspaceService
from tests.identity.stitching import run_stitch_jobs
from tests.message.world import T0, configure, person, run_jobs, template
from tests.support.cli import invoke
from tests.support.factories import make_tenant
from tests.support.smtp_server import Mailbox

ANA = "ana@example.com"
PRODUCTS = {
    "SERUM": "Night serum",
    "CLEANSER": "Foam cleanser",
    "TONER": "Rose toner",
    "MASK": "Clay mask",
    "LIPBALM": "Lip balm",
    "SPF": "Sun cream",
}


def sale(
    number: str,
    email: str,
    skus: list[str],
    *,
    platform: str = "shopify",
    channel: str = "web",
    location_ref: str | None = None,
    cancelled: bool = False,
) -> CanonicalOrder:
    lines = tuple(
        CanonicalLine(f"l{n}", 1, 2000, 2000, sku=sku, title=PRODUCTS[sku])
        for n, sku in enumerate(skus)
    )
    return CanonicalOrder(
        platform=platform,
        external_id=f"ext-{number}",
        order_number=number,
        channel=channel,
        status=OrderStatus.CANCELLED if cancelled else OrderStatus.PLACED,
        currency="USD",
        placed_at=T0 - timedelta(days=5),
        version=T0.isoformat(),
        lines=lines,
        subtotal=2000 * len(lines),
        total=2000 * len(lines),
        is_cancelled=cancelled,
        location_ref=location_ref,
        customer=CanonicalCustomer(email=email),
    )


def shop(session: Session, workspace_id: str) -> None:
    """The catalog (each product with its page; TONER with a picture); a warehouse feeding
    the web, Ana's store (Soho) and another (Mission).
    TONER and SPF are online, MASK only at Soho, LIPBALM only at Mission."""
    catalog = CatalogService(session)
    for sku, title in PRODUCTS.items():
        catalog.create_product(
            workspace_id,
            ProductIn(
                handle=sku.lower(),
                title=title,
                # TONER's page and picture are the product's; MASK has only a page.
                url=f"https://shop.example/products/{sku.lower()}",
                image_url=f"https://cdn.example/{sku.lower()}.jpg" if sku == "TONER" else None,
                variants=[VariantIn(sku=sku)],
            ),
        )
    places = LocationService(session)
    for code, kind, refs in (
        ("main", LocationKind.WAREHOUSE, []),
        ("soho", LocationKind.STORE, ["sq-soho"]),
        ("mission", LocationKind.STORE, ["sq-mission"]),
    ):
        places.create_location(
            workspace_id, LocationIn(code=code, name=code.title(), kind=kind, external_refs=refs)
        )
    places.set_channel_locations(workspace_id, "web", ChannelLocationsIn(locations=["main"]))
    stock = StockService(session)
    for sku, where, units in (
        ("SERUM", "main", 9),
        ("CLEANSER", "main", 9),
        ("TONER", "main", 5),
        ("SPF", "main", 5),
        ("MASK", "soho", 2),
        ("LIPBALM", "mission", 3),
    ):
        stock.adjust(workspace_id, sku, where, units, now=T0)
    PriceService(session).set_price(
        workspace_id,
        PriceIn(sku="TONER", channel="web", amount=2400, currency="USD", effective_at=T0),
    )


@pytest.fixture
def world(session: Session, settings: Settings) -> tuple[str, str]:
    """Ana bought SERUM on Amazon and CLEANSER in the Soho store: two channels, one person by
    her email. Ben, Cy, Dee and Eve bought on the web."""
    workspace_id = make_tenant(session, "acme").workspace_id
    shop(session, workspace_id)
    ana = person(session, workspace_id, "u-ana", email=ANA, first_name="Ana")
    orders = OrderService(session)
    for order in (
        sale("A-1", ANA, ["SERUM"], platform="amazon", channel="amazon"),
        sale(
            "S-1",
            ANA,
            ["CLEANSER"],
            platform="square",
            channel="store:soho",
            location_ref="sq-soho",
        ),
        sale("W-1", "ben@example.com", ["SERUM", "TONER", "SPF"]),
        sale("W-2", "cy@example.com", ["CLEANSER", "TONER", "MASK"]),
        sale("W-3", "dee@example.com", ["SERUM", "LIPBALM"]),
        sale("W-4", "eve@example.com", ["MASK"]),
        sale("W-5", "fay@example.com", ["CLEANSER", "SPF", "MASK"], cancelled=True),
    ):
        orders.apply(workspace_id, order)
    run_stitch_jobs(session)
    configure(session, workspace_id, settings)
    session.commit()
    return workspace_id, ana.profile_id


def skus(picks: list[Recommendation]) -> list[str]:
    return [pick.sku for pick in picks]


def test_recommends_what_others_bought_with_hers_in_stock_where_she_shops(
    session: Session, world: tuple[str, str]
) -> None:
    """TONER (with SERUM by Ben, with CLEANSER by Cy: 2), then MASK (1, at her Soho store)
    and SPF (1, online; tied with MASK, after it by SKU); LIPBALM (1) is only at a store she
    does not shop at, Fay's cancelled order counts for nothing, and what she owns never comes."""
    workspace_id, ana = world

    picks = RecommendationService(session).for_profile(workspace_id, ana, count=5)

    assert skus(picks) == ["TONER", "MASK", "SPF"]
    assert picks[0].as_context() == {
        "sku": "TONER", "name": "Rose toner", "price": "24.00", "currency": "USD",
        "url": "https://shop.example/products/toner", "image_url": "https://cdn.example/toner.jpg",
    }  # fmt: skip
    assert (picks[1].price, picks[1].currency) == (None, None)  # no web price


def test_without_a_store_sale_only_online_stock_counts(
    session: Session, world: tuple[str, str]
) -> None:
    """Ben bought on the web only: CLEANSER (2) is online, but LIPBALM (at Mission) and MASK
    (at Soho) are in stores he has never bought at."""
    workspace_id, _ = world
    ben = person(session, workspace_id, "u-ben", email="ben@example.com")

    picks = RecommendationService(session).for_profile(workspace_id, ben.profile_id)

    assert skus(picks) == ["CLEANSER"]


def test_an_archived_product_is_not_recommended_however_well_it_scores(
    session: Session, world: tuple[str, str]
) -> None:
    """TONER's product archived: it scores highest but is no longer on sale."""
    workspace_id, ana = world
    CatalogService(session).upsert_product(
        workspace_id,
        ProductIn(handle="toner", title="Rose toner", status=ProductStatus.ARCHIVED,
                  variants=[VariantIn(sku="TONER")]),
    )  # fmt: skip

    picks = RecommendationService(session).for_profile(workspace_id, ana)

    assert skus(picks) == ["MASK", "SPF"]


def test_someone_who_bought_nothing_gets_nothing_and_an_unknown_profile_is_refused(
    session: Session, world: tuple[str, str]
) -> None:
    """No purchases, no recommendations; an id that is no profile is a 404, not an empty list."""
    workspace_id, _ = world
    newcomer = person(session, workspace_id, "u-new", email="new@example.com")

    assert RecommendationService(session).for_profile(workspace_id, newcomer.profile_id) == []
    with pytest.raises(ProfileNotFound):
        RecommendationService(session).for_profile(workspace_id, "cus_missing")


def test_held_purchases_refresh_after_their_ttl_and_her_own_are_always_fresh(
    session: Session, world: tuple[str, str]
) -> None:
    """A snapshot keeps others' purchases for its TTL; her own new purchase of TONER is left
    out at once, and Gus's new basket counts only once the snapshot is read again."""
    workspace_id, ana = world
    clock = ManualClock(T0)
    snapshots = PurchaseSnapshots(clock, ttl=timedelta(minutes=10))
    service = RecommendationService(session, clock, snapshots)
    assert skus(service.for_profile(workspace_id, ana)) == ["TONER", "MASK", "SPF"]

    orders = OrderService(session)
    orders.apply(workspace_id, sale("W-6", ANA, ["TONER"]))
    for number in ("W-7", "W-8"):
        orders.apply(workspace_id, sale(number, f"gus{number}@example.com", ["SERUM", "SPF"]))
    run_stitch_jobs(session)

    assert skus(service.for_profile(workspace_id, ana)) == ["MASK", "SPF"]
    clock.advance(timedelta(minutes=10))
    assert skus(service.for_profile(workspace_id, ana)) == ["SPF", "MASK"]


def test_the_email_lists_her_recommendations_and_the_preview_shows_them(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: ManualClock,
    world: tuple[str, str],
    mailbox: Mailbox,
) -> None:
    """A template looping over ``recommendations`` passes the save check, and the email that
    reaches the SMTP server lists TONER, MASK, SPF in that order and nothing she owns."""
    workspace_id, ana = world
    made = template(
        session, workspace_id, "picks", subject="For you, {{ profile.first_name }}",
        body="<ul>{% for p in recommendations %}<li>{{ p.sku }}: {{ p.name }}"
             "{% if p.price %} {{ p.price }}{% endif %}</li>{% endfor %}</ul>",
    )  # fmt: skip
    MessageService(session, clock).queue(
        workspace_id, ana, "email", "picks", idempotency_key="picks-1", purpose="transactional"
    )
    session.commit()

    run_jobs(session_factory, clock, settings)

    arrived = mailbox.to(ANA)
    assert len(arrived) == 1
    html = arrived[0].part("html")
    assert "<li>TONER: Rose toner 24.00</li><li>MASK: Clay mask</li><li>SPF: Sun cream</li>" in html
    assert "SERUM" not in html and "CLEANSER" not in html and "LIPBALM" not in html
    preview = TemplateService(session).preview(workspace_id, made.id, profile_id=ana)
    assert "<li>TONER: Rose toner 24.00</li>" in preview.body
    sample = TemplateService(session).preview(workspace_id, made.id)
    assert "<li>TOTE: Canvas tote 24.00</li>" in sample.body


def test_the_api_and_the_cli_answer_what_a_template_would_hold(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    world: tuple[str, str],
) -> None:
    """A viewer key reads them (limit honoured); a limit out of range is a 422 naming it, an
    unknown profile a 404; ``tessera profiles recommend`` prints the same SKUs."""
    workspace_id, ana = world
    _, token = WorkspaceService(session).create_api_key(
        workspace_id, ApiKeyKind.SECRET, "viewer", Role.VIEWER
    )
    session.commit()
    auth = {"Authorization": f"Bearer {token}"}

    two = client.get(f"/v1/profiles/{ana}/recommendations?limit=2", headers=auth)
    too_many = client.get(f"/v1/profiles/{ana}/recommendations?limit=21", headers=auth)
    nobody = client.get("/v1/profiles/cus_missing/recommendations", headers=auth)
    printed = invoke(settings, session_factory, "profiles", "recommend", ana, "-w", "acme")
    unknown = invoke(settings, session_factory, "profiles", "recommend", "cus_x", "-w", "acme")

    assert two.status_code == 200
    assert two.json() == {
        "profile_id": ana,
        "items": [
            {"sku": "TONER", "name": "Rose toner", "price": "24.00", "currency": "USD",
             "url": "https://shop.example/products/toner",
             "image_url": "https://cdn.example/toner.jpg"},
            {"sku": "MASK", "name": "Clay mask", "price": None, "currency": None,
             "url": "https://shop.example/products/mask", "image_url": None},
        ],
    }  # fmt: skip
    assert too_many.status_code == 422 and "limit" in too_many.text
    assert nobody.status_code == 404
    assert printed[0] == 0
    out = printed[1]
    assert out.index("TONER") < out.index("MASK") < out.index("SPF")
    assert "24.00 USD" in out and "SERUM" not in out
    assert unknown == (1, "error: no profile cus_x in this workspace\n")
