"""TikTok Shop orders: one line item per unit becomes one line per SKU; money as strings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tessera.connector import tiktok
from tessera.connector.errors import InvalidRecord
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalCustomer
from tests.support.connectors import fixture_json


def test_an_order_maps_units_money_times_and_the_buyer() -> None:
    """Three line items (two serums, one balm), unix seconds, strings of money."""
    order = tiktok.order_to_canonical(tiktok.parse_order(fixture_json("tiktok/order.json")))

    assert (order.channel, order.status, order.fulfillment) == (
        "tiktok_shop", OrderStatus.PLACED, "seller",
    )  # fmt: skip
    assert [(line.line_key, line.quantity, line.total, line.sku) for line in order.lines] == [
        ("1729580417340918784", 1, 3800, "SERUM-30"),
        ("1729580417340918784", 1, 3800, "SERUM-30"),
        ("1729580417340918790", 1, 800, "BALM-FIG"),
    ]
    assert (order.subtotal, order.shipping, order.discount, order.tax, order.total) == (
        8400, 399, 620, 622, 8801,
    )  # fmt: skip
    assert order.placed_at == datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
    assert order.version == "00000000001795613700"
    assert order.customer == CanonicalCustomer(
        email="v9q2k1x7b3@scs.tiktokw.us", phone=None, external_id="7494845992346046559",
        first_name="Maya", last_name="Chen", postal_code="93035", city="Oxnard", country="US",
        address_line="1200 Harbor Blvd", address_line2="Apt 4B",
    )  # fmt: skip


def test_an_unmasked_phone_is_kept_and_a_masked_one_is_no_phone() -> None:
    """A seller fulfilling with TikTok sees the number; others see a few digits and stars."""
    payload = fixture_json("tiktok/order.json")
    shown = {**payload, "recipient_address": {**payload["recipient_address"],
                                              "phone_number": "(+1)8055550121"}}  # fmt: skip

    kept = tiktok.order_to_canonical(tiktok.parse_order(shown))
    masked = tiktok.order_to_canonical(tiktok.parse_order(payload))

    assert (kept.customer.phone, masked.customer.phone) == ("(+1)8055550121", None)


def test_a_cancelled_unpaid_order_is_cancelled_and_pending() -> None:
    """CANCELLED before payment: cancelled, never placed."""
    payload = {**fixture_json("tiktok/order.json"), "status": "CANCELLED", "paid_time": None}

    order = tiktok.order_to_canonical(tiktok.parse_order(payload))

    assert (order.is_cancelled, order.status) == (True, OrderStatus.PENDING)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"payment": {"currency": "USD", "total_amount": 88.01}}, "payment.total_amount",
         "payment.total_amount: Input should be a valid string"),
        ({"create_time": "yesterday"}, "create_time",
         "create_time: Input should be a valid integer, unable to parse string as an integer"),
        ({"create_time": -5}, "create_time", "create_time must be a positive unix time"),
        ({"status": "LOST"}, "status", "status 'LOST' is not a TikTok order status"),
        ({"line_items": [{"id": "1", "sale_price": "-3.00"}]}, "line_items[0].sale_price",
         "line_items[0].sale_price must not be negative"),
        ({"id": None}, "id", "id: Input should be a valid string"),
    ],
)  # fmt: skip
def test_wrong_types_are_refused_naming_the_field(
    change: dict[str, object], field: str, reason: str
) -> None:
    """Money as numbers, times as text, unknown statuses, negative prices: refused by field."""
    payload = {**fixture_json("tiktok/order.json"), **change}

    with pytest.raises(InvalidRecord) as refused:
        tiktok.order_to_canonical(tiktok.parse_order(payload))

    assert (refused.value.detail, refused.value.extensions["field"]) == (reason, field)
