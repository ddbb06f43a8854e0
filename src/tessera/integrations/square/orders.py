"""A Square order as the Orders API returns it.

Money is ``{amount, currency}`` with the amount already in minor units. Quantities are strings
(they may be decimal for items sold by weight). ``version`` grows with every change; offline
POS devices send orders late, stamped with their own ``created_at``. A line names the item
variation it sold by ``catalog_object_id``; the variation's SKU is catalog data, present only
when the sender looked it up and sent it along (``catalog_object`` on the line, or the
order's ``related_objects``, as Square's catalog answers name them).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from tessera.integrations.shapes import Payload
from tessera.kit.bounds import MinorAmount

STATES = ("DRAFT", "OPEN", "COMPLETED", "CANCELED")


class SquareMoney(Payload):
    amount: MinorAmount
    currency: str


class SquareItemVariation(Payload):
    """A catalog item variation's data: the seller's ``sku`` lives here, never on a line."""

    item_id: str | None = None
    name: str | None = None
    sku: str | None = None


class SquareCatalogObject(Payload):
    """A catalog object sent with an order (expanded on its line, or among
    ``related_objects``); an ``ITEM_VARIATION`` names the SKU of the lines that sold it."""

    id: str
    type: str | None = None
    item_variation_data: SquareItemVariation | None = None


class SquareLineItem(Payload):
    uid: str | None = None
    name: str = ""
    quantity: str
    catalog_object_id: str | None = None  # the item variation's id (not its SKU)
    catalog_object: SquareCatalogObject | None = None
    variation_name: str | None = None
    base_price_money: SquareMoney | None = None
    total_money: SquareMoney | None = None
    total_discount_money: SquareMoney | None = None


class SquareRecipient(Payload):
    display_name: str | None = None
    email_address: str | None = None
    phone_number: str | None = None


class SquarePickupDetails(Payload):
    recipient: SquareRecipient | None = None


class SquareFulfillment(Payload):
    type: str | None = None
    state: str | None = None
    pickup_details: SquarePickupDetails | None = None
    shipment_details: SquarePickupDetails | None = None


class SquareRefund(Payload):
    id: str
    status: str | None = None
    amount_money: SquareMoney
    created_at: datetime | None = None


class SquareOrder(Payload):
    id: str
    location_id: str
    reference_id: str | None = None
    customer_id: str | None = None
    state: str
    version: int = 0
    created_at: datetime
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    line_items: list[SquareLineItem] = Field(default_factory=list)
    fulfillments: list[SquareFulfillment] = Field(default_factory=list)
    refunds: list[SquareRefund] = Field(default_factory=list)
    total_money: SquareMoney
    total_tax_money: SquareMoney | None = None
    total_discount_money: SquareMoney | None = None
    total_service_charge_money: SquareMoney | None = None
    total_tip_money: SquareMoney | None = None
    related_objects: list[SquareCatalogObject] = Field(default_factory=list)
