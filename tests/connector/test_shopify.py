"""Shopify orders and refunds map to canonical orders: money in minor units, UTC, channels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tessera.connector import shopify
from tessera.connector.errors import InvalidRecord
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalCustomer, CanonicalLine, CanonicalRefund
from tests.support.connectors import fixture_json


def test_a_web_order_maps_money_times_lines_and_the_customer() -> None:
    """orders/create: decimal strings become minor units, the -05:00 time becomes UTC."""
    payload = fixture_json("shopify/orders_create.json")

    order = shopify.order_to_canonical(shopify.parse_order(payload), {}, "web")

    assert (order.platform, order.external_id, order.order_number, order.channel) == (
        "shopify", "5902345678901", "#1001", "web",
    )  # fmt: skip
    assert order.status is OrderStatus.PLACED
    assert order.placed_at == datetime(2026, 11, 20, 14, 14, 3, tzinfo=UTC)
    assert order.version == "2026-11-20T14:14:05.000000Z"
    assert (order.subtotal, order.tax, order.shipping, order.discount, order.total) == (
        8360, 547, 567, 760, 8714,
    )  # fmt: skip
    assert order.lines == (
        CanonicalLine("14801122334455", 2, 3800, 6840, "SERUM-30", None, "8812345001",
                      "Night Serum"),
        CanonicalLine("14801122334456", 1, 760, 760, "BALM-FIG", None, "8812345002", "Lip Balm"),
    )  # fmt: skip
    assert order.customer == CanonicalCustomer(
        email="Ava.Okafor@example.com", phone="+17185550142", external_id="7104455667788",
        first_name="Ava", last_name="Okafor", postal_code="11201", city="Brooklyn",
        country="US", address_line="41 Bergen St", address_line2="Apt 3",
    )  # fmt: skip


def test_a_pos_order_belongs_to_the_store_that_claims_its_location() -> None:
    """source_name pos + location_id → that store's channel, fulfilled in store."""
    payload = fixture_json("shopify/orders_create_pos.json")

    claimed = shopify.order_to_canonical(shopify.parse_order(payload), {"69012345": "store:soho"})
    unclaimed = shopify.order_to_canonical(shopify.parse_order(payload), {})

    assert (claimed.channel, claimed.location_ref, claimed.fulfillment) == (
        "store:soho", "69012345", "in_store",
    )  # fmt: skip
    assert unclaimed.channel == "store:location-69012345"
    assert claimed.customer.email is None and claimed.customer.phone == "+17185550142"


def test_a_cancelled_order_carries_its_refund_in_minor_units() -> None:
    """orders/cancelled: cancelled, and the refund is its successful transactions' money."""
    payload = fixture_json("shopify/orders_cancelled.json")

    order = shopify.order_to_canonical(shopify.parse_order(payload), {})

    assert order.is_cancelled is True
    assert order.refunds == (
        CanonicalRefund(
            "930112233445", 815, datetime(2026, 11, 23, 20, 30, 12, tzinfo=UTC),
            (("14801122334456", 1),),
        ),
    )  # fmt: skip


def test_a_refund_on_its_own_maps_like_the_one_inside_the_order() -> None:
    """refunds/create and the order's refunds[] give the same refund, so either may come first."""
    alone = shopify.parse_refund(fixture_json("shopify/refunds_create.json"))
    inside = shopify.parse_order(fixture_json("shopify/orders_cancelled.json")).refunds[0]

    assert shopify.refund_to_canonical(alone, "USD") == shopify.refund_to_canonical(inside, "USD")
    assert shopify.refund_currency(alone) == "USD"


def test_a_refund_without_transactions_counts_its_lines() -> None:
    """No transactions: the refund is its lines' subtotal plus tax (JSON numbers read as text)."""
    payload = fixture_json("shopify/refunds_create.json")
    payload["transactions"] = []

    refund = shopify.refund_to_canonical(shopify.parse_refund(payload), "USD")

    assert refund.amount == 815


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"line_items": [{"id": 1, "quantity": -1, "price": "5.00"}]},
         "line_items[0].quantity", "line_items[0].quantity must not be negative"),
        ({"line_items": [{"id": 1, "quantity": "two", "price": "5.00"}]},
         "line_items[0].quantity",
         "line_items[0].quantity: Input should be a valid integer, unable to parse string as an "
         "integer"),
        ({"total_price": 79.54}, "total_price", "total_price: Input should be a valid string"),
        ({"total_price": "79,54"}, "total_price",
         "total_price: String should match pattern '^-?\\d+(\\.\\d+)?$'"),
        ({"id": None}, "id", "id: Input should be a valid integer"),
        ({"currency": "dollars"}, "currency", "currency must be a 3-letter ISO 4217 code"),
    ],
)  # fmt: skip
def test_wrong_types_and_negative_quantities_are_refused_naming_the_field(
    change: dict[str, object], field: str, reason: str
) -> None:
    """A bad value is refused with the field in Shopify's own terms."""
    payload = {**fixture_json("shopify/orders_create.json"), **change}

    with pytest.raises(InvalidRecord) as refused:
        shopify.order_to_canonical(shopify.parse_order(payload), {})

    assert (refused.value.detail, refused.value.extensions["field"]) == (reason, field)
