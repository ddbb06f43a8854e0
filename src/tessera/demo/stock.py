"""The demo brand's stock, set up through the services before its orders arrive: the catalog
(one bundle, the Evening Ritual Kit), a warehouse, the three stores, Amazon FBA and the retail
partner's shelves; which locations feed which channel; listings on Shopify, Amazon (MFN and
FBA) and TikTok Shop; a feed per channel with buffers, on the ``log`` adapter (the demo talks
to no marketplace: each push is a log line and a row on the Inventory page); and prices with a
month of history, a floor and two parity breaches to look at; and three checkouts holding
stock (one of them a pickup in a store).

The demo's orders, sent afterwards through the real API, then move this stock. The
warehouse has none of one SKU (``BACKORDERED_SKU``; its restock is on its way, as incoming), so
the channels' orders for it are committed as backorder: the overview and the stock pages show
the warehouse oversold, with the orders waiting on it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tessera.catalog.schemas import ComponentIn, ListingIn, ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.demo.people import BACKORDERED_SKU, CATALOG, RETAIL_PARTNER, STORES
from tessera.feed.schemas import Buffers, FeedIn
from tessera.feed.service import FeedService
from tessera.inventory.schemas import (
    ChannelLocationsIn,
    LocationIn,
    ReservationIn,
    ReservationLineIn,
)
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.kit.time import utcnow
from tessera.models.catalog import FulfillmentChannel, ListingPlatform
from tessera.models.feed import FeedAdapter
from tessera.models.inventory import LocationKind
from tessera.pricing.schemas import FloorIn, PolicyIn, PriceIn
from tessera.pricing.service import PriceService

KIT = "KIT-RITUAL"
KIT_COMPONENTS = (("SERUM-30", 1), ("CLEANSE-150", 1), ("MOIST-50", 1))
WAREHOUSE = "nj-warehouse"
FBA = "amazon-fba"
RETAIL = "ulta-shelves"
RETAIL_CHANNEL = "retail:ulta-beauty"
STORE_COORDINATES = {
    "store:soho": (40.7233, -74.0030),
    "store:austin": (30.2496, -97.7494),
    "store:venice": (33.9907, -118.4645),
}
FBA_SKUS = ("SERUM-30", "SPF-50", "LIP-01", "MOIST-50")
RESTOCK = 24  # units of BACKORDERED_SKU on their way to the warehouse


def _code(store_key: str) -> str:
    return store_key.removeprefix("store:")


def seed_stock(session: Session, workspace_id: str) -> None:
    """Catalog, locations, stock, listings, feeds and prices of the demo brand (once)."""
    catalog = CatalogService(session)
    for product in CATALOG:
        components = [ComponentIn(sku=s, quantity=q) for s, q in KIT_COMPONENTS]
        catalog.create_product(workspace_id, ProductIn(
            handle=product.sku.lower(), title=product.name, vendor="Saltwater Skin",
            variants=[VariantIn(sku=product.sku, title=product.name, gtin=product.gtin,
                                components=components if product.sku == KIT else [])],
        ))  # fmt: skip
    locations = LocationService(session)
    stock = StockService(session)
    locations.create_location(workspace_id, LocationIn(
        code=WAREHOUSE, name="Newark warehouse", kind=LocationKind.WAREHOUSE, country="US",
        latitude=40.7357, longitude=-74.1724))  # fmt: skip
    for store in STORES:
        latitude, longitude = STORE_COORDINATES[store.key]
        locations.create_location(workspace_id, LocationIn(
            code=_code(store.key), name=store.name, kind=LocationKind.STORE, channel_key=store.key,
            external_refs=[str(store.shopify_location_id), store.square_location_id],
            is_pickup_enabled=True, country="US", latitude=latitude, longitude=longitude,
            opening_hours={day: ["10:00", "19:00"] for day in ("mon", "tue", "wed", "thu", "fri",
                                                                "sat")},
        ))  # fmt: skip
    locations.create_location(workspace_id, LocationIn(
        code=FBA, name="Amazon FBA", kind=LocationKind.FBA, channel_key="amazon"))  # fmt: skip
    locations.create_location(workspace_id, LocationIn(
        code=RETAIL, name=f"{RETAIL_PARTNER} shelves", kind=LocationKind.RETAIL,
        channel_key=RETAIL_CHANNEL))  # fmt: skip
    stores = [_code(store.key) for store in STORES]
    locations.set_channel_locations(
        workspace_id, "web", ChannelLocationsIn(locations=[WAREHOUSE, *stores])
    )
    for channel in ("amazon", "tiktok_shop", "app"):
        locations.set_channel_locations(
            workspace_id, channel, ChannelLocationsIn(locations=[WAREHOUSE])
        )
    for store in STORES:
        locations.set_channel_locations(
            workspace_id, store.key, ChannelLocationsIn(locations=[_code(store.key)])
        )
    locations.set_channel_locations(
        workspace_id, RETAIL_CHANNEL, ChannelLocationsIn(locations=[RETAIL])
    )
    for index, product in enumerate(CATALOG):
        if product.sku == KIT:
            continue
        if product.sku == BACKORDERED_SKU:
            stock.expect(workspace_id, product.sku, WAREHOUSE, RESTOCK, f"demo-po-{product.sku}",
                         "restock, due next week")  # fmt: skip
        else:
            stock.receive(
                workspace_id, product.sku, WAREHOUSE, 120 + 17 * index, f"demo-po-{product.sku}"
            )
        for number, code in enumerate(stores):
            units = 2 + (index * 7 + number * 5) % 19
            stock.receive(workspace_id, product.sku, code, units, f"demo-in-{code}-{product.sku}")
        stock.receive(workspace_id, product.sku, RETAIL, 40, f"demo-ulta-{product.sku}")
    as_of = utcnow().date().isoformat()
    for number, sku in enumerate(FBA_SKUS):
        stock.import_quantity(workspace_id, sku, FBA, 60 + 15 * number, f"fba-{as_of}")
    for index, product in enumerate(CATALOG):
        catalog.add_listing(workspace_id, ListingIn(
            sku=product.sku, channel="web", platform=ListingPlatform.SHOPIFY,
            external_id=str(44_100_000 + index),
            external_variant_id=str(43_100_000 + index)))  # fmt: skip
        catalog.add_listing(workspace_id, ListingIn(
            sku=product.sku, channel="tiktok_shop", platform=ListingPlatform.TIKTOK_SHOP,
            external_id=str(1_729_000_000 + index),
            external_product_id=str(1_728_000_000 + index)))  # fmt: skip
        catalog.add_listing(workspace_id, ListingIn(
            sku=product.sku, channel="amazon", platform=ListingPlatform.AMAZON,
            external_id=f"{product.sku}-MFN", seller_sku=f"{product.sku}-MFN",
            fulfillment_channel=FulfillmentChannel.MERCHANT))  # fmt: skip
        if product.sku in FBA_SKUS:
            catalog.add_listing(workspace_id, ListingIn(
                sku=product.sku, channel="amazon", platform=ListingPlatform.AMAZON,
                external_id=product.sku, seller_sku=product.sku,
                fulfillment_channel=FulfillmentChannel.AMAZON))  # fmt: skip
    feeds = FeedService(session)
    for channel, name, buffers in (
        ("web", "Shopify (logged)", Buffers()),
        ("amazon", "Amazon MFN (logged)", Buffers(safety_quantity=3, percentage=80,
                                                   percentage_floor=1)),
        ("tiktok_shop", "TikTok Shop (logged)", Buffers(maximum=50, zero_below=3)),
    ):  # fmt: skip
        feeds.create_feed(workspace_id, FeedIn(
            channel=channel, name=name, adapter=FeedAdapter.LOG, buffers=buffers))  # fmt: skip
    _seed_prices(session, workspace_id)
    _seed_checkouts(ReservationService(session), workspace_id)


# Checkouts in progress when the demo opens: held for 45 minutes, then released by the sweeper.
CHECKOUTS = (
    ("web", None, (("KIT-RITUAL", 1), ("LIP-01", 1))),
    ("web", "soho", (("SERUM-30", 1),)),  # buy online, pick up in SoHo
    ("tiktok_shop", None, (("SPF-50", 2),)),
)


def _seed_checkouts(reservations: ReservationService, workspace_id: str) -> None:
    """Open holds for the Inventory page's reservations: a web cart with the kit, a BOPIS
    hold at a store, a TikTok Shop checkout."""
    for number, (channel, pickup, lines) in enumerate(CHECKOUTS):
        reservations.reserve(workspace_id, ReservationIn(
            channel=channel, pickup_location=pickup, ttl_seconds=45 * 60,
            idempotency_key=f"demo-checkout-{number}",
            lines=[ReservationLineIn(sku=sku, quantity=q) for sku, q in lines],
        ))  # fmt: skip


def _seed_prices(session: Session, workspace_id: str) -> None:
    prices = PriceService(session)
    prices.set_policy(workspace_id, PolicyIn(site_channel="web", max_above_basis_points=500))
    now = utcnow()
    for index, product in enumerate(CATALOG):
        web = product.price
        prices.set_floor(workspace_id, FloorIn(sku=product.sku, amount=web * 8 // 10,
                                               currency="USD"))  # fmt: skip
        if index % 4 == 0:  # a month at a higher price, then today's: an Omnibus prior price
            prices.set_price(
                workspace_id,
                PriceIn(
                    sku=product.sku,
                    channel="web",
                    amount=web + 600,
                    currency="USD",
                    effective_at=now - timedelta(days=40),
                    idempotency_key=f"demo-{product.sku}-old",
                ),
            )
        prices.set_price(
            workspace_id,
            PriceIn(
                sku=product.sku,
                channel="web",
                amount=web,
                currency="USD",
                effective_at=now - timedelta(days=3),
                idempotency_key=f"demo-{product.sku}-web",
            ),
        )
        amazon = web * 112 // 100 if product.sku == "OIL-30" else web * 103 // 100
        prices.set_price(
            workspace_id,
            PriceIn(
                sku=product.sku,
                channel="amazon",
                amount=amazon,
                currency="USD",
                effective_at=now - timedelta(days=2),
                idempotency_key=f"demo-{product.sku}-amazon",
            ),
        )
        tiktok = web * 75 // 100 if product.sku == "MASK-75" else web * 95 // 100
        prices.set_price(
            workspace_id,
            PriceIn(
                sku=product.sku,
                channel="tiktok_shop",
                amount=tiktok,
                currency="USD",
                effective_at=now - timedelta(days=1),
                idempotency_key=f"demo-{product.sku}-tiktok",
            ),
        )
