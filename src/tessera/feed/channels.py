"""From a feed and a listing to one request by the right client.

A feed's ``settings`` name where and what (base URL, Shopify location, Amazon seller and
marketplaces, TikTok app key, shop cipher and warehouse); its ``credentials`` hold tokens, kept
sealed in the database and opened by the feed service just before a push. Base URLs default
to the vendors' production hosts and are settable per feed, which is how tests and the bench
point a feed at a local server.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tessera.integrations.amazon.listings import AmazonListingsClient
from tessera.integrations.shopify.inventory import ShopifyInventoryClient
from tessera.integrations.stock_push import PushReceipt, QuantityStale, Rejected
from tessera.integrations.tiktok.stock import TikTokStockClient
from tessera.kit.logging import get_logger
from tessera.kit.process import PROCESS
from tessera.kit.secrets import SecretUnreadable
from tessera.models.catalog import ChannelListing
from tessera.models.feed import ChannelFeed, FeedAdapter

log = get_logger("tessera.feed")
T = TypeVar("T")

DEFAULT_BASE_URLS = {
    FeedAdapter.AMAZON: "https://sellingpartnerapi-na.amazon.com",
    FeedAdapter.TIKTOK_SHOP: "https://open-api.tiktokglobalshop.com",
}

REQUIRED_SETTINGS: dict[FeedAdapter, tuple[str, ...]] = {
    FeedAdapter.SHOPIFY: ("base_url", "location_id"),
    FeedAdapter.AMAZON: ("seller_id", "marketplace_ids"),
    FeedAdapter.TIKTOK_SHOP: ("app_key", "shop_cipher", "warehouse_id"),
    FeedAdapter.LOG: (),
}
REQUIRED_CREDENTIALS: dict[FeedAdapter, tuple[str, ...]] = {
    FeedAdapter.SHOPIFY: ("access_token",),
    FeedAdapter.AMAZON: ("access_token",),
    FeedAdapter.TIKTOK_SHOP: ("access_token", "app_secret"),
    FeedAdapter.LOG: (),
}


class CredentialsUnreadable(Rejected):
    """The feed's stored credentials cannot be opened (a wrong ``TESSERA_SECRET_KEY``, an
    altered value): nothing is sent, and sending again will not help until that is fixed."""

    @classmethod
    def of(cls, error: SecretUnreadable) -> CredentialsUnreadable:
        return cls(error.detail)


def missing_configuration(
    adapter: FeedAdapter, settings: dict[str, Any], credentials: dict[str, Any] | None
) -> list[str]:
    """The settings and credentials ``adapter`` needs that are absent or empty (credentials
    are not looked at when None: kept as they were, they were checked when they were set)."""
    missing = [f"settings.{name}" for name in REQUIRED_SETTINGS[adapter] if not settings.get(name)]
    if credentials is not None:
        missing += [
            f"credentials.{name}"
            for name in REQUIRED_CREDENTIALS[adapter]
            if not credentials.get(name)
        ]
    return missing


def listing_problem(adapter: FeedAdapter, listing: ChannelListing) -> str | None:
    """Why the listing lacks an id this adapter needs; None when it has them."""
    if adapter is FeedAdapter.TIKTOK_SHOP and not listing.external_product_id:
        return "a TikTok Shop listing needs external_product_id (the product id) to be pushed"
    return None


class _Clients:
    """The clients of the feeds this process pushed for, kept so their connections are reused
    (a TLS handshake per push would cost more than the push). Keyed by everything a client is
    built from, so a changed token or URL gets a new one; the oldest is closed past ``size``."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._clients: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], build: Callable[[], T]) -> T:
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = build()
                self._clients[key] = client
                while len(self._clients) > self.size:
                    _old_key, old = self._clients.popitem(last=False)
                    old.close()
            else:
                self._clients.move_to_end(key)
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    clear = close  # emptying the memory closes what it held

    def __len__(self) -> int:
        return len(self._clients)


clients = _Clients()
PROCESS.keep("feed.channel_clients", clients, f"{clients.size} clients")
PROCESS.on_close("feed.channel_clients", clients.close)


@dataclass(frozen=True, slots=True)
class Push:
    """One quantity to set on one listing, with what we believe the channel holds now."""

    quantity: int
    believed: int | None  # the quantity we last set, None if never
    idempotency_key: str


def send(
    feed: ChannelFeed, credentials: dict[str, Any], listing: ChannelListing, push: Push
) -> PushReceipt:
    """Send ``push`` through the feed's adapter with its opened ``credentials``; raises the
    clients' PushFailed subclasses."""
    settings = dict(feed.settings or {})
    base_url = str(settings.get("base_url") or DEFAULT_BASE_URLS.get(feed.adapter, ""))
    problem = listing_problem(feed.adapter, listing)
    if problem:
        raise Rejected(problem)
    sender = _SENDERS[feed.adapter]
    return sender(base_url, settings, credentials, listing, push)


def _shopify(
    base_url: str,
    settings: dict[str, Any],
    credentials: dict[str, Any],
    listing: ChannelListing,
    push: Push,
) -> PushReceipt:
    item = listing.inventory_item_id or listing.external_id
    location = str(settings["location_id"])
    token = str(credentials["access_token"])
    client = clients.get(
        ("shopify", base_url, token), lambda: ShopifyInventoryClient(base_url, token)
    )
    try:
        return client.set_available(
            item, location, push.quantity, push.believed, push.idempotency_key
        )
    except QuantityStale:
        # Shopify moved the count itself (its own order, a person). We are the source of
        # truth: read what it holds and set ours against that, once.
        held = client.available(item, location)
        return client.set_available(
            item, location, push.quantity, held, push.idempotency_key + f"-from-{held}"
        )


def _amazon(
    base_url: str,
    settings: dict[str, Any],
    credentials: dict[str, Any],
    listing: ChannelListing,
    push: Push,
) -> PushReceipt:
    marketplaces = settings["marketplace_ids"]
    if isinstance(marketplaces, str):
        marketplaces = [part.strip() for part in marketplaces.split(",") if part.strip()]
    token, seller = str(credentials["access_token"]), str(settings["seller_id"])
    client = clients.get(
        ("amazon", base_url, token, seller, ",".join(marketplaces)),
        lambda: AmazonListingsClient(base_url, token, seller, marketplaces),
    )
    return client.set_quantity(listing.seller_sku or listing.external_id, push.quantity)


def _tiktok(
    base_url: str,
    settings: dict[str, Any],
    credentials: dict[str, Any],
    listing: ChannelListing,
    push: Push,
) -> PushReceipt:
    assert listing.external_product_id is not None
    parts = (
        str(settings["app_key"]),
        str(credentials["app_secret"]),
        str(credentials["access_token"]),
        str(settings["shop_cipher"]),
    )
    client = clients.get(("tiktok", base_url, *parts), lambda: TikTokStockClient(base_url, *parts))
    return client.update_inventory(
        listing.external_product_id,
        listing.external_id,
        str(settings["warehouse_id"]),
        push.quantity,
    )


def _log(
    base_url: str,
    settings: dict[str, Any],
    credentials: dict[str, Any],
    listing: ChannelListing,
    push: Push,
) -> PushReceipt:
    log.info(
        "feed_push_logged",
        channel=listing.channel,
        listing_id=listing.id,
        external_id=listing.external_id,
        quantity=push.quantity,
    )
    return PushReceipt(reference="logged")


_SENDERS: dict[
    FeedAdapter,
    Callable[[str, dict[str, Any], dict[str, Any], ChannelListing, Push], PushReceipt],
] = {
    FeedAdapter.SHOPIFY: _shopify,
    FeedAdapter.AMAZON: _amazon,
    FeedAdapter.TIKTOK_SHOP: _tiktok,
    FeedAdapter.LOG: _log,
}
