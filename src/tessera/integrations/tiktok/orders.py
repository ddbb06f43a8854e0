"""A TikTok Shop order as ``/order/202309/orders`` returns it.

Times are unix seconds; money is decimal strings; there is no quantity: an order holds one line
item per unit sold, so two serums are two line items with the same ``sku_id``.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field

from tessera.integrations.shapes import DecimalString, Payload

STATUSES = (
    "UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION",
    "IN_TRANSIT", "DELIVERED", "COMPLETED", "CANCELLED",
)  # fmt: skip


class TikTokDistrict(Payload):
    """One level of an address: the country (L0), the state (L1), the city (L3 in the US)."""

    address_level: str | None = None
    address_level_name: str | None = None
    address_name: str | None = None


class TikTokAddress(Payload):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    # Masked for sellers outside TikTok's fulfilment ("(+1)805*****21").
    phone_number: str | None = None
    address_line1: str | None = Field(
        default=None, validation_alias=AliasChoices("address_line1", "address_line_1")
    )
    address_line2: str | None = Field(
        default=None, validation_alias=AliasChoices("address_line2", "address_line_2")
    )
    district_info: list[TikTokDistrict] = Field(default_factory=list)
    postal_code: str | None = None
    region_code: str | None = None
    full_address: str | None = None


class TikTokPayment(Payload):
    """What the buyer paid. ``sub_total`` is the products after the seller's and TikTok's
    product discounts, ``shipping_fee`` the shipping after its discounts; ``total_amount`` is
    their sum plus ``tax`` and the fees some markets charge."""

    currency: str
    sub_total: DecimalString = "0"
    shipping_fee: DecimalString = "0"
    seller_discount: DecimalString = "0"
    platform_discount: DecimalString = "0"
    tax: DecimalString = "0"
    total_amount: DecimalString
    retail_delivery_fee: DecimalString = "0"  # US states that charge one (Colorado, Minnesota)
    small_order_fee: DecimalString = "0"  # Thailand
    buyer_service_fee: DecimalString = "0"
    handling_fee: DecimalString = "0"
    shipping_insurance_fee: DecimalString = "0"
    item_insurance_fee: DecimalString = "0"


# The payment's fees besides shipping: part of ``total_amount``.
FEES = (
    "retail_delivery_fee", "small_order_fee", "buyer_service_fee", "handling_fee",
    "shipping_insurance_fee", "item_insurance_fee",
)  # fmt: skip


class TikTokLineItem(Payload):
    id: str
    sku_id: str | None = None
    seller_sku: str | None = None
    product_id: str | None = None
    product_name: str = ""
    sku_name: str | None = None
    sale_price: DecimalString
    original_price: DecimalString | None = None
    display_status: str | None = None


class TikTokOrder(Payload):
    id: str
    status: str
    create_time: int
    update_time: int
    paid_time: int | None = None
    user_id: str | None = None
    buyer_email: str | None = None
    fulfillment_type: str | None = None
    recipient_address: TikTokAddress | None = None
    payment: TikTokPayment
    line_items: list[TikTokLineItem] = Field(default_factory=list)
