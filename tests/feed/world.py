"""A small stock world built through the real services: a catalog with a bundle, a warehouse,
a store and FBA, listings on Shopify, Amazon (MFN and FBA) and TikTok Shop, and a feed per
channel pointed at the local fake channel server."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tessera.catalog.schemas import ComponentIn, ListingIn, ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.feed.schemas import Buffers, FeedIn
from tessera.feed.service import FeedService
from tessera.inventory.schemas import ChannelLocationsIn, LocationIn
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.stock import StockService
from tessera.models.catalog import FulfillmentChannel, ListingPlatform
from tessera.models.feed import FeedAdapter
from tessera.models.inventory import LocationKind
from tests.integrations.fake_channels import (
    AMAZON_TOKEN,
    SHOPIFY_TOKEN,
    TIKTOK_APP_KEY,
    TIKTOK_SECRET,
    TIKTOK_TOKEN,
)
from tests.support.factories import make_workspace

SHOPIFY_ITEM = "gid://shopify/InventoryItem/301"
SHOPIFY_KIT = "gid://shopify/InventoryItem/302"
SHOPIFY_LOCATION = "gid://shopify/Location/77"


@dataclass
class World:
    workspace_id: str
    listings: dict[str, str]  # name -> listing id
    feeds: dict[str, str]  # channel -> feed id


def feed_in(channel: str, base_url: str, buffers: Buffers | None = None) -> FeedIn:
    """A feed for ``channel`` pointed at ``base_url`` with the fake server's credentials."""
    configs: dict[str, tuple[FeedAdapter, dict[str, object], dict[str, str]]] = {
        "web": (FeedAdapter.SHOPIFY, {"base_url": base_url, "location_id": "77"},
                {"access_token": SHOPIFY_TOKEN}),
        "amazon": (FeedAdapter.AMAZON, {"base_url": base_url, "seller_id": "A1SELLER",
                                        "marketplace_ids": ["ATVPDKIKX0DER"]},
                   {"access_token": AMAZON_TOKEN}),
        "tiktok_shop": (FeedAdapter.TIKTOK_SHOP, {"base_url": base_url, "app_key": TIKTOK_APP_KEY,
                                                  "shop_cipher": "cipher", "warehouse_id": "wh-1"},
                        {"access_token": TIKTOK_TOKEN, "app_secret": TIKTOK_SECRET}),
    }  # fmt: skip
    adapter, settings, credentials = configs[channel]
    return FeedIn(
        channel=channel,
        name=f"{channel} feed",
        adapter=adapter,
        settings=settings,
        credentials=credentials,
        buffers=buffers or Buffers(),
    )


def build_world(
    session: Session,
    base_url: str,
    slug: str = "feedco",
    buffers: dict[str, Buffers] | None = None,
    with_feeds: bool = True,
    workspace_id: str | None = None,
) -> World:
    """TEE-M: 10 at the warehouse, 5 at the store; CAP: 3 at the warehouse; KIT = 2 TEE-M +
    1 CAP. web sells warehouse + store, amazon and tiktok_shop the warehouse only."""
    workspace_id = workspace_id or make_workspace(session, slug)
    catalog = CatalogService(session)
    catalog.create_product(workspace_id, ProductIn(handle="tee", title="Tee", variants=[
        VariantIn(sku="TEE-M"), VariantIn(sku="CAP"),
        VariantIn(sku="KIT", components=[ComponentIn(sku="TEE-M", quantity=2),
                                         ComponentIn(sku="CAP", quantity=1)]),
    ]))  # fmt: skip
    locations = LocationService(session)
    stock = StockService(session)
    for code, kind in (("main", LocationKind.WAREHOUSE), ("soho", LocationKind.STORE),
                       ("fba-us", LocationKind.FBA)):  # fmt: skip
        locations.create_location(workspace_id, LocationIn(code=code, name=code, kind=kind))
    locations.set_channel_locations(
        workspace_id, "web", ChannelLocationsIn(locations=["main", "soho"])
    )
    locations.set_channel_locations(workspace_id, "amazon", ChannelLocationsIn(locations=["main"]))
    locations.set_channel_locations(
        workspace_id, "tiktok_shop", ChannelLocationsIn(locations=["main"])
    )
    stock.adjust(workspace_id, "TEE-M", "main", 10, idempotency_key="seed-1")
    stock.adjust(workspace_id, "TEE-M", "soho", 5, idempotency_key="seed-2")
    stock.adjust(workspace_id, "CAP", "main", 3, idempotency_key="seed-3")
    specs = {
        "web-tee": ListingIn(sku="TEE-M", channel="web", platform=ListingPlatform.SHOPIFY,
                             external_id="301", inventory_item_id=SHOPIFY_ITEM),
        "web-kit": ListingIn(sku="KIT", channel="web", platform=ListingPlatform.SHOPIFY,
                             external_id="302", inventory_item_id=SHOPIFY_KIT),
        "amazon-tee": ListingIn(sku="TEE-M", channel="amazon", platform=ListingPlatform.AMAZON,
                                external_id="TEE-M-MFN", seller_sku="TEE-M-MFN",
                                fulfillment_channel=FulfillmentChannel.MERCHANT),
        "amazon-fba": ListingIn(sku="TEE-M", channel="amazon", platform=ListingPlatform.AMAZON,
                                external_id="TEE-M-FBA", seller_sku="TEE-M-FBA",
                                fulfillment_channel=FulfillmentChannel.AMAZON),
        "tiktok-tee": ListingIn(sku="TEE-M", channel="tiktok_shop",
                                platform=ListingPlatform.TIKTOK_SHOP, external_id="9001",
                                external_product_id="1729"),
    }  # fmt: skip
    listings = {name: catalog.add_listing(workspace_id, spec).id for name, spec in specs.items()}
    feeds: dict[str, str] = {}
    if with_feeds:
        service = FeedService(session)
        for channel in ("web", "amazon", "tiktok_shop"):
            data = feed_in(channel, base_url, (buffers or {}).get(channel))
            feeds[channel] = service.create_feed(workspace_id, data).id
    session.flush()
    return World(workspace_id, listings, feeds)
