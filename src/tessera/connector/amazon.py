"""Amazon's flat-file order report → canonical orders, one per ``amazon-order-id``.

The report has one row per order item, and an item may have several rows: each is a snapshot
of it (a ``Pending`` row, then ``Unshipped``, then ``Cancelled``), in one file or across
files. An item is named by ``order-item-id`` when the report has that column, else by its
``sku``, else by its ``asin``; its newest row (``last-updated-date``, the later row on a tie)
is the item, so quantities and money are never added up across snapshots. An item whose
newest row says ``Cancelled`` (in ``order-status`` or ``item-status``) stays a line, marked
cancelled, but leaves the order's money; the order's status is its newest live row's, and an
order whose every item is cancelled is cancelled. The rows of one order are read together
(Amazon writes them next to each other); a later file holding the order again is a newer
snapshot of the whole order when one of its rows is newer (``OrderService.apply``).

``fulfillment-channel`` tells FBA (``Amazon`` → fulfilment ``fba``) from merchant-fulfilled
(``Merchant`` → ``mfn``). ``item-price`` is the line's total for its quantity; promotion
discounts may be written negative and count by their size. The order's total is Amazon's:
item prices, plus shipping and gift wrap (a fee, counted with shipping), plus their taxes,
less promotions, so ``subtotal - discount + shipping + tax == total``. Pending lines carry no
prices and often no currency: the marketplace (``sales-channel``) names it then. The version
is the newest ``last-updated-date``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

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
    CANCELLED,
    FULFILLED_BY_AMAZON,
    FULFILLED_BY_MERCHANT,
    ITEM_KEY_COLUMNS,
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
    CANCELLED: OrderStatus.PENDING,
}
_FULFILMENT = {FULFILLED_BY_AMAZON: "fba", FULFILLED_BY_MERCHANT: "mfn"}


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """One row read: an item as it stood at ``updated``, its money in minor units."""

    index: int  # the row's place in the order's rows
    key: str
    updated: datetime
    status: str  # the row's order-status
    is_cancelled: bool
    quantity: int
    price: int  # item-price: the line's total before its promotion
    item_discount: int
    ship_discount: int
    tax: int  # item, shipping and gift-wrap tax
    shipping: int  # shipping and gift wrap


def rows_to_canonical(rows: Sequence[Mapping[str, str]], channel: str = "amazon") -> CanonicalOrder:
    """The rows of one order as a canonical order, each item as its newest row says.

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
    snapshots = [_snapshot(index, row, currency) for index, row in enumerate(rows)]
    newest: dict[str, _Snapshot] = {}
    for snapshot in snapshots:  # in file order: the later row wins a tie
        held = newest.get(snapshot.key)
        if held is None or snapshot.updated >= held.updated:
            newest[snapshot.key] = snapshot
    first_seen: dict[str, int] = {}
    for snapshot in snapshots:
        first_seen.setdefault(snapshot.key, snapshot.index)
    items = sorted(newest.values(), key=lambda item: first_seen[item.key])
    live = [item for item in items if not item.is_cancelled]
    lines = tuple(_line(rows[item.index], item) for item in items)
    subtotal = sum(item.price for item in live)
    discount = sum(item.item_discount + item.ship_discount for item in live)
    tax = sum(item.tax for item in live)
    shipping = sum(item.shipping for item in live)
    status_text = max(live, key=lambda s: (s.updated, s.index)).status if live else CANCELLED
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
            version=time_version(max([placed_at, *(s.updated for s in snapshots)])),
            lines=lines,
            subtotal=subtotal,
            tax=tax,
            shipping=shipping,
            discount=discount,
            total=subtotal + tax + shipping - discount,
            is_cancelled=not live,
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


def _snapshot(index: int, row: Mapping[str, str], currency: str) -> _Snapshot:
    """One row read and checked; a refusal names the row."""
    try:
        status = row["order-status"].strip()
        if status not in _STATUS:
            raise InvalidRecord(f"order-status {status!r} is not known", field="order-status")
        item_discount = money(
            row.get("item-promotion-discount"), currency, "item-promotion-discount", negative=True
        )
        ship_discount = money(
            row.get("ship-promotion-discount"), currency, "ship-promotion-discount", negative=True
        )
        return _Snapshot(
            index=index,
            key=_item_key(row, index),
            updated=iso_time(row["last-updated-date"], "last-updated-date"),
            status=status,
            is_cancelled=CANCELLED in (status, (row.get("item-status") or "").strip()),
            quantity=whole(row.get("quantity"), "quantity"),
            price=money(row.get("item-price"), currency, "item-price"),
            item_discount=abs(item_discount),
            ship_discount=abs(ship_discount),
            tax=sum(
                money(row.get(name), currency, name)
                for name in ("item-tax", "shipping-tax", "gift-wrap-tax")
            ),
            shipping=money(row.get("shipping-price"), currency, "shipping-price")
            + money(row.get("gift-wrap-price"), currency, "gift-wrap-price"),
        )
    except InvalidRecord as exc:
        exc.extensions["row"] = index
        raise


def _item_key(row: Mapping[str, str], index: int) -> str:
    """What names an item across its snapshots: order-item-id, else sku, else asin; a row
    naming none is an item of its own."""
    for column in ITEM_KEY_COLUMNS:
        value = (row.get(column) or "").strip()
        if value:
            return value
    return f"row-{index}"


def _line(row: Mapping[str, str], item: _Snapshot) -> CanonicalLine:
    """An item as a line; a cancelled item keeps its quantity and leaves the money."""
    quantity, price = item.quantity, item.price
    return CanonicalLine(
        line_key=item.key,
        quantity=quantity,
        unit_price=(2 * price + quantity) // (2 * quantity) if quantity else 0,
        total=0 if item.is_cancelled else price - item.item_discount,
        sku=(row.get("sku") or "").strip() or None,
        product_ref=(row.get("asin") or "").strip() or None,
        title=(row.get("product-name") or "")[:500],
        is_cancelled=item.is_cancelled,
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
