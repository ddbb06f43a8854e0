"""The Shopify, Amazon and TikTok Shop stock clients against a local server speaking their APIs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tessera.integrations.amazon.listings import AmazonListingsClient
from tessera.integrations.shopify.inventory import ShopifyInventoryClient
from tessera.integrations.stock_push import (
    QuantityStale,
    RateLimited,
    Rejected,
    Unavailable,
    retry_after_seconds,
)
from tessera.integrations.tiktok.stock import TikTokStockClient, sign
from tests.integrations.fake_channels import (
    AMAZON_TOKEN,
    SHOPIFY_TOKEN,
    TIKTOK_APP_KEY,
    TIKTOK_SECRET,
    TIKTOK_TOKEN,
    ChannelState,
    fake_channels,
)

ITEM = "gid://shopify/InventoryItem/301"
LOCATION = "gid://shopify/Location/77"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, ChannelState]]:
    with fake_channels() as running:
        yield running


@pytest.fixture
def state(server: tuple[str, ChannelState]) -> ChannelState:
    return server[1].reset()


@pytest.fixture
def base(server: tuple[str, ChannelState]) -> str:
    return server[0]


def shopify(base: str, token: str = SHOPIFY_TOKEN) -> ShopifyInventoryClient:
    return ShopifyInventoryClient(base, token)


def test_shopify_sets_available_with_compare_and_reads_it_back(
    base: str, state: ChannelState
) -> None:
    """A first set without compare, then a set comparing against it; Shopify holds the last."""
    with shopify(base) as client:
        first = client.set_available("301", "77", 12, None, "k-1")
        second = client.set_available("301", "77", 9, 12, "k-2")

        assert client.available("301", "77") == 9
    assert first.reference is not None and second.reference is not None
    assert state.shopify[(ITEM, LOCATION)] == 9
    sent = state.of("shopify")[1].body["variables"]["input"]["quantities"][0]
    assert sent == {
        "inventoryItemId": ITEM, "locationId": LOCATION, "quantity": 9, "changeFromQuantity": 12,
    }  # fmt: skip


def test_shopify_refuses_a_stale_compare_and_changes_nothing(
    base: str, state: ChannelState
) -> None:
    """When Shopify holds another quantity than the one compared, the set is refused as stale."""
    state.shopify[(ITEM, LOCATION)] = 4

    with shopify(base) as client, pytest.raises(QuantityStale):
        client.set_available("301", "77", 10, 5, "k-3")

    assert state.shopify[(ITEM, LOCATION)] == 4


def test_shopify_replays_an_idempotency_key_once(base: str, state: ChannelState) -> None:
    """The same key sent twice is applied once, even when the quantity moved in between."""
    with shopify(base) as client:
        client.set_available("301", "77", 3, None, "same-key")
        state.shopify[(ITEM, LOCATION)] = 8
        client.set_available("301", "77", 3, None, "same-key")

    assert state.shopify[(ITEM, LOCATION)] == 8


def test_shopify_throttled_query_says_how_long_to_wait(base: str, state: ChannelState) -> None:
    """GraphQL THROTTLED becomes RateLimited with the wait from the cost bucket."""
    state.fail_next("shopify", 200, {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": 10, "throttleStatus": {
            "maximumAvailable": 2000, "currentlyAvailable": 4, "restoreRate": 100}}},
    })  # fmt: skip

    with shopify(base) as client, pytest.raises(RateLimited) as caught:
        client.set_available("301", "77", 1, None, "k-4")

    assert caught.value.retry_after == pytest.approx(0.06)


def test_shopify_429_carries_retry_after(base: str, state: ChannelState) -> None:
    """An HTTP 429 with Retry-After: 2.0 is RateLimited for 2 seconds."""
    state.fail_next("shopify", 429, {"errors": "Throttled"}, {"Retry-After": "2.0"})

    with shopify(base) as client, pytest.raises(RateLimited) as caught:
        client.set_available("301", "77", 1, None, "k-5")

    assert caught.value.retry_after == 2.0
    assert state.shopify == {}


def test_shopify_bad_token_is_rejected_not_retried(base: str, state: ChannelState) -> None:
    """401 is a refusal: not worth retrying unchanged."""
    with shopify(base, "wrong") as client, pytest.raises(Rejected) as caught:
        client.set_available("301", "77", 1, None, "k-6")

    assert caught.value.status == 401
    assert caught.value.retryable is False


def test_amazon_patches_fulfillment_availability(base: str, state: ChannelState) -> None:
    """The merchant-fulfilled quantity is patched on /attributes/fulfillment_availability."""
    with AmazonListingsClient(base, AMAZON_TOKEN, "A1SELLER", ["ATVPDKIKX0DER"]) as client:
        receipt = client.set_quantity("TEE-BLK/M", 7)

    assert receipt.reference == "sub-1"
    assert state.amazon == {"TEE-BLK/M": 7}
    assert state.of("amazon")[0].body == {
        "productType": "PRODUCT",
        "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability",
                     "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}],
    }  # fmt: skip


def test_amazon_429_503_and_invalid(base: str, state: ChannelState) -> None:
    """429 is RateLimited (Retry-After when sent), 503 Unavailable, INVALID a refusal."""
    state.fail_next("amazon", 429, {"errors": [{"code": "QuotaExceeded"}]},
                    {"x-amzn-RateLimit-Limit": "5.0", "Retry-After": "1"})  # fmt: skip
    state.fail_next("amazon", 429, {"errors": [{"code": "QuotaExceeded"}]})
    state.fail_next("amazon", 503, {"errors": [{"code": "ServiceUnavailable"}]})

    with AmazonListingsClient(base, AMAZON_TOKEN, "A1SELLER", ["ATVPDKIKX0DER"]) as client:
        with pytest.raises(RateLimited) as limited:
            client.set_quantity("SKU-1", 1)
        with pytest.raises(RateLimited) as unsaid:
            client.set_quantity("SKU-1", 1)
        with pytest.raises(Unavailable):
            client.set_quantity("SKU-1", 1)
        with pytest.raises(Rejected, match="INVALID"):
            client.set_quantity("SKU-1", -1)

    assert limited.value.retry_after == 1.0
    assert unsaid.value.retry_after is None
    assert state.amazon == {}


def test_tiktok_updates_a_signed_request(base: str, state: ChannelState) -> None:
    """The signed update sets the SKU's quantity in the warehouse; a bad secret is refused."""
    with TikTokStockClient(
        base, TIKTOK_APP_KEY, TIKTOK_SECRET, TIKTOK_TOKEN, "cipher-1", clock=lambda: 1_700_000_000
    ) as client:
        receipt = client.update_inventory("1729", "sku-9", "wh-1", 15)
    bad = TikTokStockClient(base, TIKTOK_APP_KEY, "wrong", TIKTOK_TOKEN, "c")
    with bad, pytest.raises(Rejected) as refused:
        bad.update_inventory("1729", "sku-9", "wh-1", 1)

    assert receipt.reference == "req-sku-9"
    assert state.tiktok == {("1729", "sku-9", "wh-1"): 15}
    assert refused.value.status == 401


def test_tiktok_error_envelope_and_429(base: str, state: ChannelState) -> None:
    """A non-zero code is a refusal; HTTP 429 is RateLimited."""
    state.fail_next("tiktok", 200, {"code": 12019001, "message": "SKU not found", "data": None})
    state.fail_next("tiktok", 429, {"code": 36009004, "message": "Too many requests"})

    with TikTokStockClient(base, TIKTOK_APP_KEY, TIKTOK_SECRET, TIKTOK_TOKEN, "c") as client:
        with pytest.raises(Rejected, match="12019001"):
            client.update_inventory("1", "2", "3", 4)
        with pytest.raises(RateLimited):
            client.update_inventory("1", "2", "3", 4)

    assert state.tiktok == {}


def test_tiktok_signature_is_the_documented_hmac() -> None:
    """sign() is HMAC-SHA256(secret, secret + path + sorted key+value + body + secret)."""
    import hashlib
    import hmac

    params = {"timestamp": "1", "app_key": "k", "sign": "x", "access_token": "t"}
    expected = hmac.new(b"s", b"s/p" + b"app_keyktimestamp1" + b"{}" + b"s", hashlib.sha256)

    assert sign("s", "/p", params, b"{}") == expected.hexdigest()


def test_a_refused_connection_is_unavailable() -> None:
    """Nothing listening is a transport failure, worth retrying."""
    client = AmazonListingsClient("http://127.0.0.1:9", AMAZON_TOKEN, "S", ["M"])
    with client, pytest.raises(Unavailable):
        client.set_quantity("SKU", 1)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    """Retry-After is either seconds or an HTTP date; anything else is unknown."""
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

    assert retry_after_seconds(httpx.Headers({"Retry-After": "3"}), now) == 3.0
    assert (
        retry_after_seconds(httpx.Headers({"Retry-After": "Wed, 25 Nov 2026 12:00:05 GMT"}), now)
        == 5.0
    )
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"}), now) is None
    assert retry_after_seconds(httpx.Headers({}), now) is None
