"""Orders reported through ``Order Completed``: once per order id, the newest event's money,
and none a connector order holds, whichever form of its number either side wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tessera.customer.purchases import ReportedOrder, forms_of, not_held, reported_orders

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def at(minutes: int, **properties: Any) -> tuple[datetime, dict[str, Any]]:
    return T0 + timedelta(minutes=minutes), properties


def test_each_order_id_is_one_order_as_its_newest_event_states_it() -> None:
    """A resend with a corrected total wins by time, whatever order the events are read in."""
    events = [
        at(5, order_id="W-1", total=70.1, currency="eur"),
        at(0, order_id="W-1", total=64.5, currency="EUR"),
        at(1, order_id=1002, revenue=20),
    ]

    assert reported_orders(events) == [
        ReportedOrder("1002", "USD", 2000, T0 + timedelta(minutes=1)),
        ReportedOrder("W-1", "EUR", 7010, T0 + timedelta(minutes=5)),
    ]


def test_an_event_without_a_usable_id_or_amount_counts_as_it_can() -> None:
    """No order id (or a boolean one): not an order. A negative, huge or missing amount: an
    order of no money. A currency that is not three letters: USD."""
    events = [
        at(0, total=10),
        at(0, order_id=True, total=10),
        at(0, order_id="  ", total=10),
        at(0, order_id="A", total=-5),
        at(0, order_id="B", total=1e300),
        at(0, order_id="C", currency="€€€", total=True),
        at(0, order_id="D", currency="JPY", total=1500),
    ]

    assert [(o.order_id, o.currency, o.amount) for o in reported_orders(events)] == [
        ("A", "USD", 0), ("B", "USD", 0), ("C", "USD", 0), ("D", "JPY", 1500),
    ]  # fmt: skip


def test_an_order_a_connector_holds_under_any_form_of_its_number_is_left_out() -> None:
    """ "1001" reported, Shopify holding "#1001"; "5902345678901" reported, the platform id
    held: both are the connector's; "W-7" is no connector's."""
    orders = [
        ReportedOrder(order_id, "USD", 100, T0) for order_id in ("1001", "5902345678901", "W-7")
    ]

    assert forms_of(["1001", "#7"]) == ["#1001", "#7", "1001", "7"]
    assert [o.order_id for o in not_held(orders, {"#1001", "5902345678901"})] == ["W-7"]
