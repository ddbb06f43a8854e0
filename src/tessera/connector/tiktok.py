"""TikTok Shop orders (API 202309) → canonical orders.

TikTok sends one line item per unit sold; the lines of one SKU are added up into one canonical
line with a quantity. Money is decimal strings; times are unix seconds. The version is
``update_time`` (a number, zero-padded so it sorts as text).

TikTok's ``total_amount`` is ``sub_total + shipping_fee + tax`` plus the fees some markets
charge, where ``sub_total`` is the products after the seller's and TikTok's product discounts
and ``shipping_fee`` is after the shipping discounts. So the order's discount is the two
product discounts, its shipping is ``shipping_fee`` and the fees, and its subtotal the products
before discounts (``original_total_product_price``): the parts add up to the total.

The buyer's email is TikTok's relay address (``@scs.tiktokw.us``), kept as the order's email
and told apart by the identity layer; the recipient's phone is masked for most sellers
(``(+1)805*****21``) and is then no phone at all. The address (lines, city, postcode, country)
is the buyer's, and is what matches them to the profile they have elsewhere.
"""

from __future__ import annotations

from typing import Any

from tessera.connector.common import (
    checked,
    currency_code,
    customer,
    goods_subtotal,
    money,
    parse,
    split_name,
    unix_time,
)
from tessera.connector.errors import InvalidRecord
from tessera.integrations.tiktok.orders import FEES, TikTokAddress, TikTokDistrict, TikTokOrder
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalLine, CanonicalOrder, padded_version

PLATFORM = "tiktok_shop"
CHANNEL = "tiktok_shop"
_STATUS = {
    "UNPAID": OrderStatus.PENDING,
    "ON_HOLD": OrderStatus.PLACED,
    "AWAITING_SHIPMENT": OrderStatus.PLACED,
    "PARTIALLY_SHIPPING": OrderStatus.PLACED,
    "AWAITING_COLLECTION": OrderStatus.PLACED,
    "IN_TRANSIT": OrderStatus.FULFILLED,
    "DELIVERED": OrderStatus.FULFILLED,
    "COMPLETED": OrderStatus.FULFILLED,
    "CANCELLED": OrderStatus.PLACED,
}
_FULFILMENT = {"FULFILLMENT_BY_TIKTOK": "fbt", "FULFILLMENT_BY_SELLER": "seller"}
# The ``address_level_name`` of the district that is the town (L3 in the US, a post town in
# the UK).
_TOWN_LEVELS = frozenset({"city", "town", "post town"})


def parse_order(data: Any) -> TikTokOrder:
    return parse(TikTokOrder, data)


def order_to_canonical(order: TikTokOrder) -> CanonicalOrder:
    """One TikTok Shop order; refuses unknown statuses, negative prices and bad money."""
    if order.status not in _STATUS:
        raise InvalidRecord(f"status {order.status!r} is not a TikTok order status", field="status")
    payment = order.payment
    currency = currency_code(payment.currency, "payment.currency")
    total = money(payment.total_amount, currency, "payment.total_amount")
    tax = money(payment.tax, currency, "payment.tax")
    discount = money(payment.seller_discount, currency, "payment.seller_discount") + money(
        payment.platform_discount, currency, "payment.platform_discount"
    )
    shipping = money(payment.shipping_fee, currency, "payment.shipping_fee") + sum(
        money(getattr(payment, fee), currency, f"payment.{fee}") for fee in FEES
    )
    lines = []
    for index, item in enumerate(order.line_items):
        price = money(item.sale_price, currency, f"line_items[{index}].sale_price")
        lines.append(
            CanonicalLine(
                line_key=item.sku_id or item.seller_sku or item.id,
                quantity=1,
                unit_price=price,
                total=price,
                sku=item.seller_sku or None,
                product_ref=item.product_id,
                title=item.product_name[:500],
            )
        )
    address = order.recipient_address or TikTokAddress()
    first, last = split_name(address.name)
    status = _STATUS[order.status]
    if order.status == "CANCELLED" and order.paid_time is None:
        status = OrderStatus.PENDING
    return checked(
        CanonicalOrder(
            platform=PLATFORM,
            external_id=order.id,
            order_number=order.id,
            channel=CHANNEL,
            status=status,
            currency=currency,
            placed_at=unix_time(order.create_time, "create_time"),
            version=padded_version(order.update_time),
            lines=tuple(lines),
            subtotal=goods_subtotal(total, discount, shipping, tax, "payment.total_amount"),
            tax=tax,
            shipping=shipping,
            discount=discount,
            total=total,
            is_cancelled=order.status == "CANCELLED",
            fulfillment=_FULFILMENT.get(order.fulfillment_type or ""),
            customer=customer(
                email=order.buyer_email,
                phone=_unmasked(address.phone_number),
                external_id=order.user_id,
                first_name=address.first_name or first,
                last_name=address.last_name or last,
                postal_code=address.postal_code,
                city=_town(address.district_info),
                country=address.region_code,
                address_line=address.address_line1,
                address_line2=address.address_line2,
            ),
        )
    )


def _unmasked(phone: str | None) -> str | None:
    """The phone, or None when TikTok masked its digits: a few digits are nobody's number."""
    return None if phone is None or "*" in phone else phone


def _town(districts: list[TikTokDistrict]) -> str | None:
    for district in districts:
        if (district.address_level_name or "").strip().lower() in _TOWN_LEVELS:
            return district.address_name
    return None
