"""Retail sell-through: one order per partner, store and ISO week, a line per product."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from tessera.connector import retail
from tessera.connector.errors import InvalidRecord
from tessera.connector.formats import SPECS, OrderFormat, layout
from tessera.connector.records import delimited_records, grouped, read_header
from tessera.models.order import OrderStatus
from tests.support.connectors import fixture_bytes

SPEC = SPECS[OrderFormat.RETAIL]


def units(data: bytes) -> list[list[dict[str, str]]]:
    stream = io.BytesIO(data)
    delimiter, normalise, required = layout(SPEC)
    columns, header = read_header(stream, delimiter, normalise, required)
    records = delimited_records(stream, columns, header, delimiter=delimiter)
    return [[r.data for r in unit] for unit, _ in grouped(records, SPEC.group_key)]


def test_a_store_week_becomes_one_order_on_the_partners_channel() -> None:
    """Headers like 'Store ID' are normalised; three rows → three lines; no money → XXX."""
    first = units(fixture_bytes("retail/sell_through.csv"))[0]

    order = retail.rows_to_canonical(first, {"Ulta Beauty": "retail:ulta"})
    fallback = retail.rows_to_canonical(first, {})

    assert (order.external_id, order.channel, order.location_ref, order.status) == (
        "ulta-beauty:ULTA-0412:2026-W46", "retail:ulta", "ULTA-0412", OrderStatus.FULFILLED,
    )  # fmt: skip
    assert fallback.channel == "retail:ulta-beauty"
    assert [(line.sku, line.gtin, line.quantity) for line in order.lines] == [
        ("SERUM-30", "00810012340017", 7), ("BALM-FIG", "00810012340024", 12),
        ("MASK-CLAY", "00810012340031", 0),
    ]  # fmt: skip
    assert (order.currency, order.total, order.customer.email) == ("XXX", 0, None)
    assert order.placed_at == datetime(2026, 11, 9, tzinfo=UTC)


def test_the_file_splits_into_one_order_per_store_and_week() -> None:
    """Six rows: store 0412 week 46, store 1187 week 46, store 0412 week 47."""
    found = units(fixture_bytes("retail/sell_through.csv"))

    assert [len(unit) for unit in found] == [3, 2, 1]


def test_a_week_may_be_an_iso_week_or_any_date_in_it() -> None:
    """2026-W46, 2026-11-12 (a Thursday) and 2026-11-15 (Sunday) are the same week."""
    assert {retail.week_start(w) for w in ("2026-W46", "2026-11-12", "2026-11-15")} == {
        date(2026, 11, 9)
    }


def test_net_sales_need_a_currency_and_give_line_money() -> None:
    """With net_sales and currency, the lines carry money in minor units."""
    row = {"partner": "Target", "store_id": "T-1", "week": "2026-W46", "sku": "SERUM-30",
           "units_sold": "4", "net_sales": "152.00", "currency": "usd"}  # fmt: skip

    order = retail.rows_to_canonical([row], {})

    assert (order.currency, order.total, order.lines[0].unit_price) == ("USD", 15200, 3800)


@pytest.mark.parametrize(
    ("cell", "value", "field", "reason"),
    [
        ("units_sold", "-3", "units_sold", "units_sold must not be negative"),
        ("units_sold", "3.5", "units_sold", "units_sold must be a whole number"),
        ("units_on_hand", "many", "units_on_hand", "units_on_hand must be a whole number"),
        ("gtin", "81001234", "gtin", None),
        ("gtin", "0081001234001", "gtin", None),
        ("gtin", "ABC", "gtin", "gtin must be 8, 12, 13 or 14 digits"),
        ("week", "last week", "week", "week must be an ISO week (2026-W47) or a date"),
        ("store_id", "", "store_id", "store_id is required"),
    ],
)
def test_bad_cells_are_refused_naming_the_column(
    cell: str, value: str, field: str, reason: str | None
) -> None:
    """Negative units, fractions, malformed GTINs and weeks are refused with the column."""
    rows = units(fixture_bytes("retail/sell_through.csv"))[0]
    rows[2] = {**rows[2], cell: value}

    if reason is None:
        assert retail.rows_to_canonical(rows, {}).lines[2].gtin == value
        return
    with pytest.raises(InvalidRecord) as refused:
        retail.rows_to_canonical(rows, {})

    assert (refused.value.detail, refused.value.extensions) == (reason, {"field": field, "row": 2})
