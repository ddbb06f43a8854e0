"""A person's product recommendations, as templates read them (``recommendations``).

What they bought (``customer``: every channel's orders once identities are joined) is scored
against what everyone bought (``message.recommend``: item-item co-occurrence), what they own
is left out, and what is left is kept only while its product is active and some unit is
sellable where they shop: their store (the location of their most frequent store sale) or
online (the locations that feed the ``web`` channel, every active warehouse when none is set).
Each pick is described from the catalog (name, storefront page and picture: the variant's,
else its product's) and its ``web`` price.

Everyone's purchases are read in one statement per workspace and held, as index arrays, for
``PurchaseSnapshots.ttl`` by whoever owns a ``PurchaseSnapshots`` (the worker's message jobs):
a campaign of thousands of sends reads them once, and a sale made in the last minutes counts
toward other people's scores only at the next read. The person's own purchases are read fresh
every time, so nothing they have bought is ever offered, however new. Without a snapshot
holder (a preview, the API, the CLI) the purchases are read for that one call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.customer.profiles import ProfileService
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.stock import StockService
from tessera.kit.money import Money
from tessera.kit.time import Clock, utcnow
from tessera.message import recommend
from tessera.models.catalog import Product, ProductStatus
from tessera.models.inventory import Location, LocationKind
from tessera.pricing.service import PriceService

ONLINE_CHANNEL = "web"
STORE_CHANNEL_PREFIX = "store"
SNAPSHOT_TTL = timedelta(minutes=10)
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Recommendation:
    sku: str
    name: str
    price: str | None  # in major units, as ``product.price`` ("49.00"); None without a web price
    currency: str | None
    url: str | None  # the variant's page, else its product's; None when the catalog has none
    image_url: str | None

    def as_context(self) -> dict[str, str | None]:
        return {
            "sku": self.sku,
            "name": self.name,
            "price": self.price,
            "currency": self.currency,
            "url": self.url,
            "image_url": self.image_url,
        }


class PurchaseSnapshots:
    """Each workspace's purchases (``recommend.Purchases``), read again once ``ttl`` old.

    One object per owner with a lifetime (the worker's message jobs), never a module global:
    a test makes its own with its clock. Two threads missing at once both read, and the later
    one is kept: a wasted read, never a wrong answer."""

    def __init__(self, clock: Clock = utcnow, ttl: timedelta = SNAPSHOT_TTL) -> None:
        self.clock = clock
        self.ttl = ttl
        self._held: dict[str, tuple[datetime, recommend.Purchases]] = {}

    def get(
        self, workspace_id: str, read: Callable[[], recommend.Purchases]
    ) -> recommend.Purchases:
        now = self.clock()
        held = self._held.get(workspace_id)
        if held is not None and now - held[0] < self.ttl:
            return held[1]
        # Workspaces not sent to for a while are let go: memory follows the recent sends.
        for stale in [key for key, (at, _) in self._held.items() if now - at >= self.ttl]:
            self._held.pop(stale, None)
        purchases = read()
        self._held[workspace_id] = (now, purchases)
        return purchases


class RecommendationService:
    """Recommendations for one person. Reads only; never commits."""

    def __init__(
        self,
        session: Session,
        clock: Clock = utcnow,
        snapshots: PurchaseSnapshots | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.snapshots = snapshots
        self.profiles = ProfileService(session)
        self.catalog = CatalogService(session)
        self._products: dict[str, Product] = {}

    def for_profile(
        self, workspace_id: str, profile_id: str, count: int = recommend.DEFAULT_COUNT
    ) -> list[Recommendation]:
        """Up to ``count`` SKUs the person does not own, bought by the people who bought what
        they bought, in stock at their store or online, best first. Refuses (404) a profile
        that does not exist; someone who bought nothing gets an empty list."""
        owned = {sku for _, sku in self.profiles.skus_bought(workspace_id, profile_id)}
        if not owned or count <= 0:
            return []
        scored = self._purchases(workspace_id).scores(owned)
        locations = self.where_they_shop(workspace_id, profile_id)
        now = self.clock()
        picked = recommend.top(
            scored,
            owned,
            min(count, recommend.MAX_COUNT),
            lambda skus: self._in_stock(workspace_id, skus, locations, now),
        )
        return self._describe(workspace_id, picked)

    def where_they_shop(self, workspace_id: str, profile_id: str) -> list[str]:
        """Ids of the locations whose stock the person could buy: their store, if a store
        sale of theirs names one we know, and the online locations."""
        places = LocationService(self.session)
        known = [location for location in places.locations(workspace_id) if location.is_active]
        chosen: list[str] = []
        store = self._their_store(workspace_id, profile_id, known)
        if store is not None:
            chosen.append(store.id)
        online = [
            location for _, location in places.locations_for_channel(workspace_id, ONLINE_CHANNEL)
        ]
        if not online:
            online = [loc for loc in known if loc.kind is LocationKind.WAREHOUSE]
        chosen.extend(location.id for location in online if location.id not in chosen)
        return chosen

    def _their_store(
        self, workspace_id: str, profile_id: str, locations: Sequence[Location]
    ) -> Location | None:
        orders = self.profiles.orders_placed_since(workspace_id, profile_id, BEGINNING)
        visits = Counter(
            (order.location_ref, order.channel)
            for order in orders
            if order.location_ref and order.channel.startswith(STORE_CHANNEL_PREFIX)
        )
        if not visits:
            return None
        (ref, channel), _ = min(visits.items(), key=lambda item: (-item[1], item[0]))
        stores = [loc for loc in locations if loc.kind is LocationKind.STORE]
        for location in stores:
            if ref in (location.external_refs or []) or ref == location.code:
                return location
        return next((loc for loc in stores if loc.channel_key == channel), None)

    def _purchases(self, workspace_id: str) -> recommend.Purchases:
        def read() -> recommend.Purchases:
            return recommend.Purchases.from_pairs(self.profiles.skus_bought(workspace_id))

        return self.snapshots.get(workspace_id, read) if self.snapshots else read()

    def _in_stock(
        self,
        workspace_id: str,
        skus: Collection[str],
        locations: Sequence[str],
        now: datetime,
    ) -> set[str]:
        """The SKUs of ``skus`` on sale (an active product) with a unit sellable at one of
        ``locations``."""
        if not locations:
            return set()
        variants = self.catalog.variants_by_sku(workspace_id, skus)
        sellable = StockService(self.session).sellable_by_location(
            workspace_id, [variant.id for variant in variants.values()], locations, now
        )
        return {
            sku
            for sku, variant in variants.items()
            if any(sellable[(variant.id, location)] > 0 for location in locations)
            and self._product(workspace_id, variant.product_id).status is ProductStatus.ACTIVE
        }

    def _product(self, workspace_id: str, product_id: str) -> Product:
        if product_id not in self._products:
            self._products[product_id] = self.catalog.get_product(workspace_id, product_id)[0]
        return self._products[product_id]

    def _describe(self, workspace_id: str, skus: Sequence[str]) -> list[Recommendation]:
        variants = self.catalog.variants_by_sku(workspace_id, skus)
        prices = PriceService(self.session)
        found: list[Recommendation] = []
        for sku in skus:
            variant = variants[sku]
            product = self._product(workspace_id, variant.product_id)
            name = product.title
            if variant.title and variant.title != "Default Title":
                name = f"{name} - {variant.title}"
            price = prices.list_prices(workspace_id, sku=sku, channel=ONLINE_CHANNEL, limit=1)
            money = Money(price.items[0].amount, price.items[0].currency) if price.items else None
            found.append(
                Recommendation(
                    sku=sku,
                    name=name,
                    price=f"{money.to_decimal():f}" if money else None,
                    currency=money.currency if money else None,
                    url=variant.url or product.url,
                    image_url=variant.image_url or product.image_url,
                )
            )
        return found
