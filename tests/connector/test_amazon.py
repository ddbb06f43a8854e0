"""Amazon's order report: rows grouped into orders, FBA and MFN, money in minor units."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from tessera.connector import amazon
from tessera.connector.errors import InvalidRecord, UnreadableFile
from tessera.connector.formats import SPECS, OrderFormat, layout
from tessera.connector.records import delimited_records, grouped, read_header
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalLine
from tests.support.connectors import fixture_bytes

SPEC = SPECS[OrderFormat.AMAZON]


def units(data: bytes) -> list[list[dict[str, str]]]:
    stream = io.BytesIO(data)
    delimiter, normalise, required = layout(SPEC)
    columns, header = read_header(stream, delimiter, normalise, required)
    records = delimited_records(stream, columns, header, delimiter=delimiter)
    return [[r.data for r in unit] for unit, _ in grouped(records, SPEC.group_key)]


def test_an_fba_order_of_two_rows_is_one_order_with_two_lines() -> None:
    """Rows sharing amazon-order-id are one order; item-price is the line's total."""
    first = units(fixture_bytes("amazon/orders.tsv"))[0]

    order = amazon.rows_to_canonical(first)

    assert (order.external_id, order.channel, order.fulfillment, order.status) == (
        "114-3941689-8772232", "amazon", "fba", OrderStatus.FULFILLED,
    )  # fmt: skip
    assert order.lines == (
        CanonicalLine("SERUM-30", 2, 3800, 7600, "SERUM-30", None, "B0CX4T7K2M",
                      "Glow Lab Night Serum, 30 ml"),
        CanonicalLine("BALM-FIG", 1, 800, 800, "BALM-FIG", None, "B0CX4T9Q1Z",
                      'Glow Lab Lip Balm "Fig"'),
    )  # fmt: skip
    assert (order.subtotal, order.tax, order.total) == (8400, 672, 9072)
    assert order.placed_at == datetime(2026, 11, 19, 22, 41, 7, tzinfo=UTC)
    assert order.version == "2026-11-21T03:12:55.000000Z"
    assert (order.customer.postal_code, order.customer.city) == ("78704-1234", "AUSTIN")


def test_a_merchant_fulfilled_order_counts_negative_promotions_by_their_size() -> None:
    """MFN: fulfilment mfn; promotion discounts written as -2.40 and -4.99 reduce the total."""
    second = units(fixture_bytes("amazon/orders.tsv"))[1]

    order = amazon.rows_to_canonical(second)

    assert (order.fulfillment, order.status) == ("mfn", OrderStatus.PLACED)
    assert (order.subtotal, order.tax, order.shipping, order.discount, order.total) == (
        2400, 198, 499, 739, 2358,
    )  # fmt: skip
    assert order.lines[0].total == 2160


def test_a_pending_order_without_prices_takes_the_marketplace_currency() -> None:
    """Pending rows have no price and no currency: USD from Amazon.com, totals zero."""
    third = units(fixture_bytes("amazon/orders.tsv"))[2]

    order = amazon.rows_to_canonical(third)

    assert (order.status, order.currency, order.total) == (OrderStatus.PENDING, "USD", 0)


def test_a_truncated_last_row_is_read_as_a_refusal_naming_the_missing_column() -> None:
    """A report cut mid-row: the row is kept as unreadable, the column after the cut named."""
    found = units(fixture_bytes("amazon/orders_truncated.tsv"))
    stream = io.BytesIO(fixture_bytes("amazon/orders_truncated.tsv"))
    columns, header = read_header(stream, "\t", None, ())
    last = list(delimited_records(stream, columns, header, delimiter="\t"))[-1]

    assert len(found) == 2
    assert last.where == "line 4"
    assert last.problem is not None
    assert last.problem.detail == "the row has 14 of 32 columns; the file may be truncated"
    assert last.problem.extensions["field"] == "quantity"


@pytest.mark.parametrize(
    ("row", "cell", "value", "reason"),
    [
        (1, "quantity", "-1", "quantity must not be negative"),
        (1, "quantity", "two", "quantity must be a whole number"),
        (1, "item-price", "76,00", "item-price is not a decimal amount"),
        (1, "last-updated-date", "21/11/2026", "last-updated-date is not an ISO 8601 time"),
        (0, "purchase-date", "19/11/2026", "purchase-date is not an ISO 8601 time"),
        (0, "fulfillment-channel", "Seller",
         "fulfillment-channel must be Amazon (FBA) or Merchant (MFN)"),
        (1, "amazon-order-id", "", "amazon-order-id is required"),
    ],
)  # fmt: skip
def test_bad_cells_are_refused_naming_the_column_and_row(
    row: int, cell: str, value: str, reason: str
) -> None:
    """A bad cell names its column and the row of the order it is in."""
    rows = units(fixture_bytes("amazon/orders.tsv"))[0]
    rows[row] = {**rows[row], cell: value}

    with pytest.raises(InvalidRecord) as refused:
        amazon.rows_to_canonical(rows)

    assert (refused.value.detail, refused.value.extensions) == (
        reason, {"field": cell, "row": row},
    )  # fmt: skip


def test_a_header_without_a_required_column_is_refused_whole() -> None:
    """A file that is not an order report (no amazon-order-id column) is refused at once."""
    stream = io.BytesIO(b"order\tsku\tqty\n1\tA\t2\n")

    with pytest.raises(UnreadableFile) as refused:
        read_header(stream, "\t", None, layout(SPEC)[2])

    assert refused.value.extensions["field"] == "amazon-order-id"


# Items in several rows: snapshots, the newest wins ------------------------------------------


def test_a_cancelled_item_leaves_the_total_and_the_live_item_sets_the_status() -> None:
    """Pending then Cancelled rows of one item, Pending then Unshipped of another: the serum is
    a cancelled line of no money, the balm counted once at its newest row, the order placed."""
    rows = units(fixture_bytes("amazon/orders_cancelled_item.tsv"))[0]

    order = amazon.rows_to_canonical(rows)

    assert order.lines == (
        CanonicalLine("SERUM-30", 1, 0, 0, "SERUM-30", None, "B0CX4T7K2M",
                      "Glow Lab Night Serum, 30 ml", is_cancelled=True),
        CanonicalLine("BALM-FIG", 2, 800, 1600, "BALM-FIG", None, "B0CX4T9Q1Z",
                      'Glow Lab Lip Balm "Fig"'),
    )  # fmt: skip
    assert (order.subtotal, order.discount, order.shipping, order.tax, order.total) == (
        1600, 499, 499, 128, 1728,
    )  # fmt: skip
    assert (order.status, order.is_cancelled) == (OrderStatus.PLACED, False)
    assert order.version == "2026-11-23T16:45:12.000000Z"


def test_the_rows_of_an_item_in_any_order_give_the_same_order() -> None:
    """Snapshots are told apart by last-updated-date, not by their place in the file."""
    rows = units(fixture_bytes("amazon/orders_cancelled_item.tsv"))[0]

    forward, backward = amazon.rows_to_canonical(rows), amazon.rows_to_canonical(rows[::-1])

    assert {line.line_key: line for line in backward.lines} == {
        line.line_key: line for line in forward.lines
    }
    assert (backward.total, backward.status, backward.version) == (
        forward.total, forward.status, forward.version,
    )  # fmt: skip


def test_an_order_whose_every_item_is_cancelled_is_cancelled() -> None:
    """The balm cancelled too: no live item, no money, the order cancelled."""
    rows = units(fixture_bytes("amazon/orders_cancelled_item.tsv"))[0]
    rows.append({**rows[2], "order-status": "Cancelled", "item-status": "Cancelled",
                 "last-updated-date": "2026-11-23T17:00:00+00:00", "item-price": "",
                 "item-tax": "", "shipping-price": "", "ship-promotion-discount": ""})  # fmt: skip

    order = amazon.rows_to_canonical(rows)

    assert (order.is_cancelled, order.total) == (True, 0)
    assert [line.is_cancelled for line in order.lines] == [True, True]


def test_an_item_cancelled_alone_is_read_from_item_status() -> None:
    """A partial cancellation: the order still Unshipped, one item's item-status Cancelled."""
    rows = units(fixture_bytes("amazon/orders_cancelled_item.tsv"))[0]
    rows[3] = {**rows[3], "order-status": "Unshipped"}

    order = amazon.rows_to_canonical(rows)

    assert [(line.sku, line.is_cancelled) for line in order.lines] == [
        ("SERUM-30", True), ("BALM-FIG", False),
    ]  # fmt: skip
    assert (order.status, order.total) == (OrderStatus.PLACED, 1728)


def test_order_item_id_names_an_item_before_its_sku() -> None:
    """Two items of one SKU (a gift and one for the buyer) stay two lines when the report
    names them by order-item-id; their snapshots still collapse per item."""
    rows = units(fixture_bytes("amazon/orders_cancelled_item.tsv"))[0][1:3]
    first = [{**row, "order-item-id": "10001"} for row in rows]
    second = [{**row, "order-item-id": "10002"} for row in rows]

    order = amazon.rows_to_canonical([*first, *second])

    assert [(line.line_key, line.quantity, line.total) for line in order.lines] == [
        ("10001", 2, 1600), ("10002", 2, 1600),
    ]  # fmt: skip
    assert order.subtotal == 3200
