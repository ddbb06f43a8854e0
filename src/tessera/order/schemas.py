"""API shapes of orders. Money is integer minor units beside an ISO 4217 code."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.models.order import Order, OrderStatus
from tessera.order.domain import is_placeholder

if TYPE_CHECKING:
    from tessera.order.service import OrderRecord


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    platform: str
    external_id: str
    order_number: str
    channel: str
    location_ref: str | None
    fulfillment: str | None
    status: OrderStatus
    is_cancelled: bool
    currency: str
    subtotal: int
    tax: int
    shipping: int
    discount: int
    total: int
    refunded_total: int
    customer_email: str | None
    customer_phone: str | None
    source_id: str | None
    placed_at: datetime
    updated_at: datetime
    is_placeholder: bool = Field(
        default=False,
        description="Only refunds have arrived so far; the order itself has not (yet)",
    )

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        out = cls.model_validate(order)
        out.is_placeholder = is_placeholder(order.version_key)
        return out


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class OrderLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_key: str
    sku: str | None
    gtin: str | None
    product_ref: str | None
    title: str
    quantity: int
    unit_price: int
    total: int
    is_cancelled: bool = Field(
        default=False,
        description="The platform cancelled this item and the order lives on: its total is 0",
    )


class OrderRefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    external_id: str
    amount: int
    currency: str
    refunded_at: datetime
    lines: list[dict[str, Any]]


class HistoryEntryOut(BaseModel):
    at: datetime
    what: str
    detail: str


class HeldStockOut(BaseModel):
    id: str
    status: str
    channel: str
    created_at: datetime
    expires_at: datetime
    lines: list[dict[str, Any]] = Field(description="variant_id, location_id, quantity")


class OrderDetail(OrderOut):
    customer: dict[str, Any] = Field(description="Every identifier the platform sent")
    lines: list[OrderLineOut]
    refunds: list[OrderRefundOut]
    history: list[HistoryEntryOut] = Field(
        description="Placed, received, the newest platform snapshot, refunds, the status now"
    )
    profile_id: str | None = Field(description="The customer profile the order belongs to")
    reservations: list[HeldStockOut] = Field(description="Checkout holds naming the order")
    routing: dict[str, Any] | None = Field(
        description="Where the order's units were taken from and why; null before allocation"
    )

    @classmethod
    def of_record(cls, record: OrderRecord) -> OrderDetail:
        summary = OrderOut.of(record.order)
        return cls(
            **summary.model_dump(),
            customer=dict(record.order.customer or {}),
            lines=[OrderLineOut.model_validate(line) for line in record.lines],
            refunds=[OrderRefundOut.model_validate(refund) for refund in record.refunds],
            history=[
                HistoryEntryOut(at=e.at, what=e.what, detail=e.detail) for e in record.history
            ],
            profile_id=record.profile_id,
            reservations=[
                HeldStockOut(
                    id=held.id,
                    status=held.status,
                    channel=held.channel,
                    created_at=held.created_at,
                    expires_at=held.expires_at,
                    lines=[
                        {"variant_id": v, "location_id": loc, "quantity": q}
                        for v, loc, q in held.lines
                    ],
                )
                for held in record.reservations
            ],
            routing=record.routing,
        )
