"""Square orders: minor units as sent, client timestamps, the store by location."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tessera.connector import square
from tessera.connector.errors import InvalidRecord
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalRefund
from tests.support.connectors import fixture_json


def test_an_order_maps_its_store_client_time_version_and_recipient() -> None:
    """A POS order: the location's store, placed when the till says, version zero-padded."""
    payload = fixture_json("square/order.json")

    order = square.order_to_canonical(square.parse_order(payload), {"L88917AVBK2S5": "store:soho"})

    assert (order.channel, order.location_ref, order.status, order.fulfillment) == (
        "store:soho", "L88917AVBK2S5", OrderStatus.FULFILLED, "pickup",
    )  # fmt: skip
    assert order.placed_at == datetime(2026, 11, 22, 17, 58, 13, 402000, tzinfo=UTC)
    assert order.version == "00000000000000000004"
    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("SERUM-30", 2, 3800, 7600), ("BALM-FIG", 1, 800, 700),
    ]  # fmt: skip
    assert (order.tax, order.discount, order.total) == (693, 100, 8993)
    assert (order.customer.email, order.customer.external_id, order.customer.last_name) == (
        "jordan.reyes@example.org", "JDKYHBWT1D4F8MFH63DBMEN8Y4", "Reyes",
    )  # fmt: skip


def test_a_line_carries_its_variations_sku_never_the_variation_id() -> None:
    """The SKU comes from the catalog object on the line or among related_objects; a line
    whose variation the payload does not describe has no SKU, only its variation id."""
    payload = fixture_json("square/order.json")
    payload["order"]["related_objects"] = []

    order = square.order_to_canonical(square.parse_order(payload), {})

    assert [(line.sku, line.product_ref) for line in order.lines] == [
        ("SERUM-30", "W62UWFY35CWMYGVWK6TWJDNI"), (None, "AII2EZ5HOJ3JEKYIBWK2U5AT"),
    ]  # fmt: skip


def test_refunds_inside_the_order_are_kept_unless_they_failed() -> None:
    """Completed refunds count; a rejected one moved no money."""
    payload = fixture_json("square/order.json")
    payload["order"]["refunds"] = [
        {"id": "rf-1", "status": "COMPLETED", "amount_money": {"amount": 766, "currency": "USD"},
         "created_at": "2026-11-24T10:00:00Z"},
        {"id": "rf-2", "status": "REJECTED", "amount_money": {"amount": 500, "currency": "USD"}},
    ]  # fmt: skip

    order = square.order_to_canonical(square.parse_order(payload), {})

    assert order.refunds == (
        CanonicalRefund("rf-1", 766, datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
    )


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ({"quantity": "1.5"}, "line_items[0].quantity",
         "line_items[0].quantity must be a whole number"),
        ({"quantity": "-2"}, "line_items[0].quantity",
         "line_items[0].quantity must not be negative"),
        ({"base_price_money": {"amount": 100, "currency": "EUR"}},
         "line_items[0].base_price_money",
         "line_items[0].base_price_money is in EUR, the order in USD"),
        ({"base_price_money": {"amount": "lots", "currency": "USD"}},
         "line_items[0].base_price_money.amount",
         "line_items[0].base_price_money.amount: Input should be a valid integer, unable to parse "
         "string as an integer"),
    ],
)  # fmt: skip
def test_fractional_negative_and_mixed_currency_lines_are_refused(
    line: dict[str, object], field: str, reason: str
) -> None:
    """A line sold by weight, a negative quantity or a price in another currency is refused."""
    payload = fixture_json("square/order.json")
    payload["order"]["line_items"][0].update(line)

    with pytest.raises(InvalidRecord) as refused:
        square.order_to_canonical(square.parse_order(payload), {})

    assert (refused.value.detail, refused.value.extensions["field"]) == (reason, field)
