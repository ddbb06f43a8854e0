"""API shapes of orders. Money is integer minor units beside an ISO 4217 code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.models.order import Order, OrderLine, OrderRefund, OrderStatus
from tessera.order.domain import is_placeholder


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


class OrderRefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    external_id: str
    amount: int
    currency: str
    refunded_at: datetime
    lines: list[dict[str, Any]]


class OrderDetail(OrderOut):
    customer: dict[str, Any] = Field(description="Every identifier the platform sent")
    lines: list[OrderLineOut]
    refunds: list[OrderRefundOut]

    @classmethod
    def of_parts(
        cls, order: Order, lines: list[OrderLine], refunds: list[OrderRefund]
    ) -> OrderDetail:
        summary = OrderOut.of(order)
        return cls(
            **summary.model_dump(),
            customer=dict(order.customer or {}),
            lines=[OrderLineOut.model_validate(line) for line in lines],
            refunds=[OrderRefundOut.model_validate(refund) for refund in refunds],
        )
