"""Amazon's flat-file order report → canonical orders, one per ``amazon-order-id``.

The report has one row per order line; the rows of one order are read together (Amazon writes
them next to each other). ``fulfillment-channel`` tells FBA (``Amazon`` → fulfilment ``fba``)
from merchant-fulfilled (``Merchant`` → ``mfn``). ``item-price`` is the line's total for its
quantity; promotion discounts may be written negative and count by their size. Gift wrap is a
fee and counts with shipping. Pending lines carry no prices and often no currency: the
marketplace (``sales-channel``) names it then. The version is ``last-updated-date``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tessera.connector.common import (
    checked,
    currency_code,
    customer,
    iso_time,
    money,
    split_name,
    time_version,
    whole,
)
from tessera.connector.errors import InvalidRecord
from tessera.integrations.amazon.order_report import (
    FULFILLED_BY_AMAZON,
    FULFILLED_BY_MERCHANT,
    MARKETPLACE_CURRENCY,
    REQUIRED_COLUMNS,
)
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalLine, CanonicalOrder

PLATFORM = "amazon"
ORDER_KEY = "amazon-order-id"
_STATUS = {
    "Pending": OrderStatus.PENDING,
    "Pending - Waiting for Pick Up": OrderStatus.PENDING,
    "Unshipped": OrderStatus.PLACED,
    "PartiallyShipped": OrderStatus.PLACED,
    "Shipping": OrderStatus.PLACED,
    "Shipped": OrderStatus.FULFILLED,
    "Shipped - Delivered to Buyer": OrderStatus.FULFILLED,
    "Cancelled": OrderStatus.PENDING,
}
_FULFILMENT = {FULFILLED_BY_AMAZON: "fba", FULFILLED_BY_MERCHANT: "mfn"}


def rows_to_canonical(rows: Sequence[Mapping[str, str]], channel: str = "amazon") -> CanonicalOrder:
    """The rows of one order as a canonical order.

    Refuses a row without a required cell, a quantity that is not a whole number or is
    negative, a price that is not a decimal amount, and an unknown status or fulfilment
    channel. ``InvalidRecord.extensions["row"]`` is the index of the row at fault.
    """
    if not rows:
        raise InvalidRecord("an order needs at least one row", field=ORDER_KEY)
    for index, row in enumerate(rows):
        for column in REQUIRED_COLUMNS:
            if not (row.get(column) or "").strip() and column != "item-price":
                raise InvalidRecord(f"{column} is required", field=column, row=index)
    first = rows[0]
    try:
        currency = _currency(rows)
        status_text = first["order-status"].strip()
        if status_text not in _STATUS:
            raise InvalidRecord(f"order-status {status_text!r} is not known", field="order-status")
        channel_text = first["fulfillment-channel"].strip()
        if channel_text not in _FULFILMENT:
            raise InvalidRecord(
                "fulfillment-channel must be Amazon (FBA) or Merchant (MFN)",
                field="fulfillment-channel",
            )
        placed_at = iso_time(first["purchase-date"], "purchase-date")
    except InvalidRecord as exc:
        exc.extensions.setdefault("row", 0)
        raise
    lines: list[CanonicalLine] = []
    subtotal = tax = shipping = discount = 0
    updated = placed_at
    for index, row in enumerate(rows):
        try:
            updated = max(updated, iso_time(row["last-updated-date"], "last-updated-date"))
            quantity = whole(row.get("quantity"), "quantity")
            price = money(row.get("item-price"), currency, "item-price")
            item_discount = abs(
                money(row.get("item-promotion-discount"), currency, "item-promotion-discount",
                      negative=True)
            )  # fmt: skip
            ship_discount = abs(
                money(row.get("ship-promotion-discount"), currency, "ship-promotion-discount",
                      negative=True)
            )  # fmt: skip
            tax += sum(
                money(row.get(name), currency, name)
                for name in ("item-tax", "shipping-tax", "gift-wrap-tax")
            )
            shipping += money(row.get("shipping-price"), currency, "shipping-price") + money(
                row.get("gift-wrap-price"), currency, "gift-wrap-price"
            )
        except InvalidRecord as exc:
            exc.extensions["row"] = index
            raise
        subtotal += price
        discount += item_discount + ship_discount
        sku = (row.get("sku") or "").strip() or None
        asin = (row.get("asin") or "").strip() or None
        lines.append(
            CanonicalLine(
                line_key=sku or asin or f"row-{index}",
                quantity=quantity,
                unit_price=(2 * price + quantity) // (2 * quantity) if quantity else 0,
                total=price - item_discount,
                sku=sku,
                product_ref=asin,
                title=(row.get("product-name") or "")[:500],
            )
        )
    buyer_first, buyer_last = split_name(first.get("buyer-name") or first.get("recipient-name"))
    return checked(
        CanonicalOrder(
            platform=PLATFORM,
            external_id=first[ORDER_KEY].strip(),
            order_number=first[ORDER_KEY].strip(),
            channel=channel,
            status=_STATUS[status_text],
            currency=currency,
            placed_at=placed_at,
            version=time_version(updated),
            lines=tuple(lines),
            subtotal=subtotal,
            tax=tax,
            shipping=shipping,
            discount=discount,
            total=subtotal + tax + shipping - discount,
            is_cancelled=status_text == "Cancelled",
            fulfillment=_FULFILMENT[channel_text],
            customer=customer(
                email=first.get("buyer-email"),
                phone=first.get("buyer-phone-number"),
                first_name=buyer_first,
                last_name=buyer_last,
                postal_code=first.get("ship-postal-code"),
                city=first.get("ship-city"),
                country=first.get("ship-country"),
                address_line=first.get("ship-address-1"),
                address_line2=first.get("ship-address-2"),
            ),
        )
    )


def _currency(rows: Sequence[Mapping[str, str]]) -> str:
    for row in rows:
        if (row.get("currency") or "").strip():
            return currency_code(row["currency"])
    marketplace = (rows[0].get("sales-channel") or "").strip()
    if marketplace in MARKETPLACE_CURRENCY:
        return MARKETPLACE_CURRENCY[marketplace]
    raise InvalidRecord(
        "currency is empty and the sales-channel names no known marketplace", field="currency"
    )
