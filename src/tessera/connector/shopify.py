"""Shopify orders and refunds → canonical orders.

Web and POS orders arrive through the same topics; ``source_name == "pos"`` marks a till sale,
whose ``location_id`` names the store (the store channel claiming that id). Anything else is
an online order on the source's channel (``web`` unless set). The version is ``updated_at``,
which Shopify bumps on every change, including cancellation. A refund's amount is the money
that moved: its successful ``refund`` transactions, or, for a refund without transactions, its
lines' subtotal and tax. The same function reads refunds inside an order and on their own
(``refunds/create``), so both paths store the same refund.

Shopify's ``total_price`` is the line items less ``total_discounts`` (line, order and shipping
discounts), plus shipping before its discounts, tax (unless ``taxes_included``: then it is
inside the prices), tips and duties. The order keeps that total; its shipping holds shipping,
tips and duties, and its subtotal is the goods before discounts
(``total_line_items_price``, net of the tax it includes in a shop showing prices with tax), so
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
    money,
    parse,
    store_channel,
    time_version,
)
from tessera.connector.errors import InvalidRecord
from tessera.integrations.shopify.payloads import (
    ShopifyAddress,
    ShopifyCustomer,
    ShopifyOrder,
    ShopifyRefund,
)
from tessera.kit.time import ensure_utc
from tessera.models.order import OrderStatus
from tessera.order.domain import (
    CanonicalCustomer,
    CanonicalLine,
    CanonicalOrder,
    CanonicalRefund,
)

PLATFORM = "shopify"
_PENDING_FINANCIAL = {"pending", "authorized", "voided", "expired"}


def unwrap(data: Any, key: str) -> Any:
    """``{"order": {...}}`` (the Admin API's single-resource shape) → ``{...}``."""
    if isinstance(data, dict) and isinstance(data.get(key), dict) and len(data) == 1:
        return data[key]
    return data


def parse_order(data: Any) -> ShopifyOrder:
    return parse(ShopifyOrder, unwrap(data, "order"))


def parse_refund(data: Any) -> ShopifyRefund:
    return parse(ShopifyRefund, unwrap(data, "refund"))


def order_to_canonical(
    order: ShopifyOrder, channel_refs: Mapping[str, str], default_channel: str = "web"
) -> CanonicalOrder:
    """One Shopify order as a canonical order; refuses negative quantities and bad money."""
    currency = currency_code(order.currency)
    lines = []
    for index, item in enumerate(order.line_items):
        where = f"line_items[{index}]"
        if item.quantity < 0:
            raise InvalidRecord(f"{where}.quantity must not be negative", field=f"{where}.quantity")
        unit = money(item.price, currency, f"{where}.price")
        discount = money(item.total_discount, currency, f"{where}.total_discount")
        lines.append(
            CanonicalLine(
                line_key=str(item.id),
                quantity=item.quantity,
                unit_price=unit,
                total=unit * item.quantity - discount,
                sku=(item.sku or "").strip() or None,
                product_ref=str(item.product_id) if item.product_id else None,
                title=item.title[:500],
            )
        )
    if order.shipping_lines:
        shipping = sum(
            money(line.price, currency, f"shipping_lines[{i}].price")
            for i, line in enumerate(order.shipping_lines)
        )
    elif order.total_shipping_price_set is not None:
        shipping = money(
            order.total_shipping_price_set.shop_money.amount,
            currency,
            "total_shipping_price_set.shop_money.amount",
        )
    else:
        shipping = 0
    shipping += money(order.total_tip_received, currency, "total_tip_received")
    if order.original_total_duties_set is not None:
        shipping += money(
            order.original_total_duties_set.shop_money.amount,
            currency,
            "original_total_duties_set.shop_money.amount",
        )
    total = money(order.total_price, currency, "total_price")
    tax = money(order.total_tax, currency, "total_tax")
    discount = money(order.total_discounts, currency, "total_discounts")
    is_pos = order.source_name == "pos"
    location = str(order.location_id) if order.location_id is not None else None
    return checked(
        CanonicalOrder(
            platform=PLATFORM,
            external_id=str(order.id),
            order_number=order.name or str(order.order_number or order.id),
            channel=store_channel(channel_refs, location) if is_pos else default_channel,
            status=_status(order),
            currency=currency,
            placed_at=ensure_utc(order.created_at),
            version=time_version(order.updated_at),
            lines=tuple(lines),
            subtotal=goods_subtotal(total, discount, shipping, tax, "total_price"),
            tax=tax,
            shipping=shipping,
            discount=discount,
            total=total,
            is_cancelled=order.cancelled_at is not None,
            location_ref=location,
            fulfillment="in_store" if is_pos else None,
            customer=_customer(order),
            refunds=tuple(
                refund_to_canonical(refund, currency, f"refunds[{index}]")
                for index, refund in enumerate(order.refunds)
            ),
        )
    )


def _customer(order: ShopifyOrder) -> CanonicalCustomer:
    who = order.customer or ShopifyCustomer()
    address = order.shipping_address or order.billing_address or ShopifyAddress()
    return customer(
        email=order.email or who.email,
        phone=order.phone or who.phone or address.phone,
        external_id=str(who.id) if who.id else None,
        first_name=who.first_name or address.first_name,
        last_name=who.last_name or address.last_name,
        postal_code=address.zip,
        city=address.city,
        country=address.country_code or address.country,
        address_line=address.address1,
        address_line2=address.address2,
    )


def _status(order: ShopifyOrder) -> OrderStatus:
    if order.fulfillment_status == "fulfilled":
        return OrderStatus.FULFILLED
    if (order.financial_status or "pending") in _PENDING_FINANCIAL:
        return OrderStatus.PENDING
    return OrderStatus.PLACED


def refund_to_canonical(refund: ShopifyRefund, currency: str, where: str = "") -> CanonicalRefund:
    """A Shopify refund: its money, when it happened, and the units it took back."""
    prefix = f"{where}." if where else ""
    returned = []
    for index, item in enumerate(refund.refund_line_items):
        if item.quantity < 0:
            field = f"{prefix}refund_line_items[{index}].quantity"
            raise InvalidRecord(f"{field} must not be negative", field=field)
        returned.append((str(item.line_item_id), item.quantity))
    if refund.transactions:
        amount = sum(
            money(t.amount, currency, f"{prefix}transactions[{i}].amount")
            for i, t in enumerate(refund.transactions)
            if t.kind == "refund" and (t.status or "success") == "success"
        )
    else:
        amount = sum(
            money(item.subtotal, currency, f"{prefix}refund_line_items[{i}].subtotal")
            + money(item.total_tax, currency, f"{prefix}refund_line_items[{i}].total_tax")
            for i, item in enumerate(refund.refund_line_items)
        )
    return CanonicalRefund(
        external_id=str(refund.id),
        amount=amount,
        refunded_at=ensure_utc(refund.created_at),
        lines=tuple(returned),
    )


def refund_currency(refund: ShopifyRefund) -> str | None:
    """The currency a refund's transactions name, if any do."""
    for transaction in refund.transactions:
        if transaction.currency:
            return transaction.currency.strip().upper()
    return None
