"""A retail partner's weekly sell-through → one canonical order per partner, store and week.

Each row is one product's units sold in one store in one week; the rows of one store-week
become the lines of one order, keyed ``<partner>:<store>:<ISO week>``, on the partner's channel
(the retail channel claiming the partner's name, else ``retail:<partner slug>``). There is no
customer, and the order makes no profile (``order.domain.has_shopper``). The week may be an
ISO week (``2026-W47``) or any date in it; the order is placed on the week's Monday. Money is
optional (``net_sales`` with a ``currency``); without it the order is in ``XXX``, ISO 4217's
"no currency". The total is the net sales, all of it subtotal (no discount, shipping or tax
is reported). Units on hand are checked but belong to Stock, which reads them from the kept
file, not from orders. A corrected resend of a week wins when it has a later ``report_date``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from tessera.connector.common import checked, currency_code, money, slug, whole
from tessera.connector.errors import InvalidRecord
from tessera.integrations.retail.sell_through import REQUIRED_COLUMNS
from tessera.models.order import OrderStatus
from tessera.order.domain import SELL_THROUGH, CanonicalLine, CanonicalOrder

PLATFORM = "retail"
NO_CURRENCY = "XXX"
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})(?:-?(\d))?$")
_GTIN = re.compile(r"^\d{8}$|^\d{12,14}$")


def group_key(row: Mapping[str, str]) -> tuple[str, str, str]:
    """Rows with the same key are one order."""
    return (
        (row.get("partner") or "").strip().lower(),
        (row.get("store_id") or "").strip(),
        (row.get("week") or "").strip(),
    )


def week_start(text: str) -> date:
    """The Monday of the ISO week ``text`` names (``2026-W47`` or a date in it)."""
    value = text.strip()
    match = _ISO_WEEK.match(value.upper())
    try:
        if match:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        day = date.fromisoformat(value[:10])
    except ValueError:
        raise InvalidRecord("week must be an ISO week (2026-W47) or a date", field="week") from None
    year, week, _weekday = day.isocalendar()
    return date.fromisocalendar(year, week, 1)


def rows_to_canonical(
    rows: Sequence[Mapping[str, str]], channel_refs: Mapping[str, str]
) -> CanonicalOrder:
    """The rows of one partner-store-week as one order with a line per product.

    Refuses a row without partner, store, week, SKU or GTIN, units that are not whole numbers
    or are negative, a malformed GTIN, and money without a currency.
    ``InvalidRecord.extensions["row"]`` is the index of the row at fault.
    """
    if not rows:
        raise InvalidRecord("an order needs at least one row", field="partner")
    lines = []
    currency = NO_CURRENCY
    monday: date | None = None
    report_date = ""
    for index, row in enumerate(rows):
        try:
            for column in REQUIRED_COLUMNS:
                if not (row.get(column) or "").strip():
                    raise InvalidRecord(f"{column} is required", field=column)
            monday = week_start(row["week"])
            sku = (row.get("sku") or "").strip() or None
            gtin = (row.get("gtin") or "").strip() or None
            if sku is None and gtin is None:
                raise InvalidRecord("a row needs a sku or a gtin", field="sku")
            if gtin is not None and not _GTIN.match(gtin):
                raise InvalidRecord("gtin must be 8, 12, 13 or 14 digits", field="gtin")
            units = whole(row.get("units_sold"), "units_sold")
            whole(row.get("units_on_hand"), "units_on_hand", required=False)
            total = 0
            if (row.get("net_sales") or "").strip():
                if not (row.get("currency") or "").strip():
                    raise InvalidRecord("net_sales needs a currency column", field="currency")
                currency = currency_code(row["currency"])
                total = money(row["net_sales"], currency, "net_sales")
            report_date = max(report_date, (row.get("report_date") or "").strip())
        except InvalidRecord as exc:
            exc.extensions["row"] = index
            raise
        lines.append(
            CanonicalLine(
                line_key=sku or gtin or "",
                quantity=units,
                unit_price=(2 * total + units) // (2 * units) if units else 0,
                total=total,
                sku=sku,
                gtin=gtin,
                title="",
            )
        )
    assert monday is not None
    first = rows[0]
    partner = first["partner"].strip()
    store = first["store_id"].strip()
    year, week, _day = monday.isocalendar()
    week_label = f"{year}-W{week:02d}"
    external_id = f"{slug(partner)}:{store}:{week_label}"
    return checked(
        CanonicalOrder(
            platform=PLATFORM,
            external_id=external_id,
            order_number=external_id[:100],
            channel=channel_refs.get(partner) or f"retail:{slug(partner)[:70]}",
            status=OrderStatus.FULFILLED,
            currency=currency,
            placed_at=datetime(monday.year, monday.month, monday.day, tzinfo=UTC),
            version=f"{week_label}|{report_date}",
            lines=tuple(lines),
            subtotal=sum(line.total for line in lines),
            total=sum(line.total for line in lines),
            location_ref=store,
            fulfillment=SELL_THROUGH,
        )
    )
