"""The demo brand's stock: catalog with a bundle, warehouse, three stores, FBA, a retail
partner, logged feeds and prices with two parity breaches; its orders move the stock."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

import tessera.feed.tasks  # noqa: F401 - registers the feed jobs on the default registry
from tessera.catalog.service import CatalogService
from tessera.config import Settings
from tessera.demo.stock import seed_stock
from tessera.feed.service import FeedService
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.job.runner import Worker
from tessera.models.feed import ListingFeedStatus
from tessera.models.inventory import ReservationStatus
from tessera.models.pricing import PriceBreach
from tessera.pricing.service import PriceService
from tests.support.factories import make_workspace


def test_the_demo_stock_is_seeded_and_logged_feeds_push_it(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Locations of every kind, the kit sellable from its components, every MFN and web
    listing pushed to the log adapter, FBA skipped, OIL-30 and MASK-75 breaching parity, and
    three checkouts held (the pickup one at the SoHo store only)."""
    workspace_id = make_workspace(session, "demo-stock")
    seed_stock(session, workspace_id)
    session.commit()

    Worker(session_factory, settings, run_periodic=False).run_until_idle()

    locations = LocationService(session)
    reservations = ReservationService(session)
    stock = StockService(session)
    kinds = sorted(location.kind.value for location in locations.locations(workspace_id))
    assert kinds == ["fba", "retail", "store", "store", "store", "warehouse"]
    kit = CatalogService(session).variant_by_sku(workspace_id, "KIT-RITUAL")
    main = locations.location_by_code(workspace_id, "nj-warehouse")
    parts = ("SERUM-30", "CLEANSE-150", "MOIST-50")
    part_ids = [CatalogService(session).variant_by_sku(workspace_id, sku).id for sku in parts]
    sellable = stock.sellable_by_location(workspace_id, [kit.id, *part_ids], [main.id])
    assert sellable[(kit.id, main.id)] == min(sellable[(p, main.id)] for p in part_ids) > 0
    statuses = {s.feed.channel: s for s in FeedService(session).statuses(workspace_id)}
    assert sorted(statuses) == ["amazon", "tiktok_shop", "web"]
    assert statuses["web"].by_status[ListingFeedStatus.OK] == 12
    assert statuses["amazon"].by_status[ListingFeedStatus.OK] == 12
    assert statuses["amazon"].by_status[ListingFeedStatus.SKIPPED] == 4  # the FBA offers
    assert statuses["tiktok_shop"].failing == 0
    page, lines = reservations.list_reservations(workspace_id, status=ReservationStatus.HELD)
    assert sorted(r.channel for r in page.items) == ["tiktok_shop", "web", "web"]
    soho = locations.location_by_code(workspace_id, "soho")
    pickup = [r for r in page.items if r.idempotency_key == "demo-checkout-1"]
    assert [line.location_id for line in lines[pickup[0].id]] == [soho.id]
    parity = PriceService(session).parity(workspace_id)
    assert sorted((r.sku, r.channel, r.breaches) for r in parity.rows if r.breaches) == [
        ("MASK-75", "tiktok_shop", [PriceBreach.BELOW_FLOOR]),
        ("OIL-30", "amazon", [PriceBreach.ABOVE_SITE]),
    ]
