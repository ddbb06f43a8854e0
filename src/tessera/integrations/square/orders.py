"""A Square order as the Orders API returns it.

Money is ``{amount, currency}`` with the amount already in minor units. Quantities are strings
(they may be decimal for items sold by weight). ``version`` grows with every change; offline
POS devices send orders late, stamped with their own ``created_at``.
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


class SquareLineItem(Payload):
    uid: str | None = None
    name: str = ""
    quantity: str
    catalog_object_id: str | None = None
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
