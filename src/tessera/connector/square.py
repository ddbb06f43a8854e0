"""Square orders → canonical orders.

Square's money is already in minor units (``{amount, currency}``). Quantities are strings and
must be whole numbers here. POS devices that were offline send orders late, stamped with their
own ``created_at``: that is when the sale happened, so it is ``placed_at``; ``version`` orders
the snapshots. The location names the store (the store channel claiming the location id).
A line's SKU is its item variation's ``sku`` when the payload carries the catalog object
(expanded on the line, or among ``related_objects``); the variation id is its product
reference, never its SKU.

Square's ``total_money`` is the lines after discounts with their additive tax, plus service
charges and the tip (an inclusive tax is inside the prices). The order keeps that total, its
discount and tax as Square states them, service charges and tip as shipping (every charge
besides the goods), and the goods before discounts, net of inclusive tax, as its subtotal:
``subtotal - discount + shipping + tax == total``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tessera.connector.common import (
    checked,
    currency_code,
    customer,
    goods_subtotal,
    parse,
    split_name,
    store_channel,
    whole,
)
from tessera.connector.errors import InvalidRecord
from tessera.connector.shopify import unwrap
from tessera.integrations.square.orders import SquareMoney, SquareOrder, SquareRecipient
from tessera.kit.time import ensure_utc
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalLine, CanonicalOrder, CanonicalRefund, padded_version

PLATFORM = "square"
_STATE = {
    "DRAFT": OrderStatus.PENDING,
    "OPEN": OrderStatus.PLACED,
    "COMPLETED": OrderStatus.FULFILLED,
    "CANCELED": OrderStatus.PLACED,
}
_FULFILMENT = {"PICKUP": "pickup", "SHIPMENT": "shipment", "DELIVERY": "delivery"}
_FAILED_REFUNDS = {"REJECTED", "FAILED"}


def parse_order(data: Any) -> SquareOrder:
    return parse(SquareOrder, unwrap(data, "order"))


def _amount(value: SquareMoney | None, currency: str, field: str) -> int:
    if value is None:
        return 0
    if value.currency.strip().upper() != currency:
        raise InvalidRecord(f"{field} is in {value.currency}, the order in {currency}", field=field)
    if value.amount < 0:
        raise InvalidRecord(f"{field} must not be negative", field=field)
    return value.amount


def order_to_canonical(order: SquareOrder, channel_refs: Mapping[str, str]) -> CanonicalOrder:
    """One Square order; refuses fractional or negative quantities and mixed currencies."""
    if order.state not in _STATE:
        raise InvalidRecord(f"state {order.state!r} is not a Square order state", field="state")
    currency = currency_code(order.total_money.currency, "total_money.currency")
    skus = _variation_skus(order)
    lines = []
    for index, item in enumerate(order.line_items):
        where = f"line_items[{index}]"
        quantity = whole(item.quantity, f"{where}.quantity")
        unit = _amount(item.base_price_money, currency, f"{where}.base_price_money")
        discount = _amount(item.total_discount_money, currency, f"{where}.total_discount_money")
        title = item.name if not item.variation_name else f"{item.name} ({item.variation_name})"
        lines.append(
            CanonicalLine(
                line_key=item.uid or f"line-{index}",
                quantity=quantity,
                unit_price=unit,
                total=unit * quantity - discount,
                sku=skus.get(item.catalog_object_id or ""),
                product_ref=item.catalog_object_id,
                title=title[:500],
            )
        )
    total = _amount(order.total_money, currency, "total_money")
    tax = _amount(order.total_tax_money, currency, "total_tax_money")
    discount = _amount(order.total_discount_money, currency, "total_discount_money")
    shipping = _amount(
        order.total_service_charge_money, currency, "total_service_charge_money"
    ) + _amount(order.total_tip_money, currency, "total_tip_money")
    recipient = _recipient(order)
    first, last = split_name(recipient.display_name)
    kinds = [f.type for f in order.fulfillments if f.type]
    refunds = tuple(
        CanonicalRefund(
            external_id=refund.id,
            amount=_amount(refund.amount_money, currency, f"refunds[{index}].amount_money"),
            refunded_at=ensure_utc(refund.created_at or order.updated_at or order.created_at),
        )
        for index, refund in enumerate(order.refunds)
        if (refund.status or "COMPLETED") not in _FAILED_REFUNDS
    )
    return checked(
        CanonicalOrder(
            platform=PLATFORM,
            external_id=order.id,
            order_number=order.reference_id or order.id,
            channel=store_channel(channel_refs, order.location_id),
            status=_STATE[order.state],
            currency=currency,
            placed_at=ensure_utc(order.created_at),
            version=padded_version(order.version),
            lines=tuple(lines),
            subtotal=goods_subtotal(total, discount, shipping, tax, "total_money"),
            tax=tax,
            shipping=shipping,
            discount=discount,
            total=total,
            is_cancelled=order.state == "CANCELED",
            location_ref=order.location_id,
            fulfillment=_FULFILMENT.get(kinds[0], kinds[0].lower()) if kinds else "in_store",
            customer=customer(
                email=recipient.email_address,
                phone=recipient.phone_number,
                external_id=order.customer_id,
                first_name=first,
                last_name=last,
            ),
            refunds=refunds,
        )
    )


def _variation_skus(order: SquareOrder) -> dict[str, str]:
    """Item variation id → its SKU, from the catalog objects the payload carries."""
    objects = [*order.related_objects]
    objects += [item.catalog_object for item in order.line_items if item.catalog_object]
    return {
        found.id: found.item_variation_data.sku.strip()
        for found in objects
        if found.item_variation_data is not None
        and found.item_variation_data.sku
        and found.item_variation_data.sku.strip()
    }


def _recipient(order: SquareOrder) -> SquareRecipient:
    for fulfilment in order.fulfillments:
        for details in (fulfilment.pickup_details, fulfilment.shipment_details):
            if details is not None and details.recipient is not None:
                return details.recipient
    return SquareRecipient()
