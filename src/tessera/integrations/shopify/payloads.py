"""Shopify order and refund payloads, as webhooks (``orders/*``, ``refunds/create``) and the REST
Admin API send them. Ids are JSON numbers; money is decimal strings in the shop's currency."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from tessera.integrations.shapes import DecimalString, DecimalText, Payload
from tessera.kit.bounds import Units

TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "refunds/create")


class ShopifyCustomer(Payload):
    id: int | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class ShopifyAddress(Payload):
    first_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None


class ShopifyLineItem(Payload):
    id: int
    variant_id: int | None = None
    product_id: int | None = None
    sku: str | None = None
    title: str = ""
    quantity: Units
    price: DecimalString
    total_discount: DecimalString = "0"


class ShopifyShippingLine(Payload):
    title: str | None = None
    price: DecimalString


class ShopifyMoney(Payload):
    amount: DecimalString
    currency_code: str | None = None


class ShopifyMoneySet(Payload):
    shop_money: ShopifyMoney


class ShopifyDiscountCode(Payload):
    code: str
    amount: DecimalString | None = None
    type: str | None = None


class ShopifyTransaction(Payload):
    id: int | None = None
    kind: str
    status: str | None = None
    amount: DecimalString
    currency: str | None = None


class ShopifyRefundLineItem(Payload):
    id: int | None = None
    line_item_id: int
    quantity: Units
    subtotal: DecimalText | None = None  # a JSON number in REST payloads
    total_tax: DecimalText | None = None


class ShopifyRefund(Payload):
    id: int
    order_id: int
    created_at: datetime
    processed_at: datetime | None = None
    note: str | None = None
    refund_line_items: list[ShopifyRefundLineItem] = Field(default_factory=list)
    transactions: list[ShopifyTransaction] = Field(default_factory=list)


class ShopifyOrder(Payload):
    id: int
    admin_graphql_api_id: str | None = None
    name: str = ""
    order_number: int | None = None
    email: str | None = None
    phone: str | None = None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    currency: str
    total_price: DecimalString
    total_tax: DecimalString | None = None
    total_discounts: DecimalString | None = None
    total_shipping_price_set: ShopifyMoneySet | None = None  # before shipping discounts
    total_tip_received: DecimalString | None = None
    original_total_duties_set: ShopifyMoneySet | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    source_name: str | None = None
    location_id: int | None = None
    customer: ShopifyCustomer | None = None
    line_items: list[ShopifyLineItem] = Field(default_factory=list)
    shipping_lines: list[ShopifyShippingLine] = Field(default_factory=list)
    shipping_address: ShopifyAddress | None = None
    billing_address: ShopifyAddress | None = None
    discount_codes: list[ShopifyDiscountCode] = Field(default_factory=list)
    refunds: list[ShopifyRefund] = Field(default_factory=list)
