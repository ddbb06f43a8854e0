"""Canonical orders from every channel: one shape whatever platform they came from.

``(workspace_id, platform, external_id)`` is unique. The stored snapshot is replaced only by a
snapshot with a higher ``version_key``, and refunds are a set keyed by their platform id, so the
final state does not depend on the order in which webhooks and files arrive.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import (
    CurrencyCode,
    JSONDocument,
    MinorUnits,
    PrefixedId,
    StrEnumColumn,
    UTCDateTime,
)
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class OrderStatus(enum.StrEnum):
    PENDING = "pending"  # created, not paid (TikTok UNPAID, Shopify pending)
    PLACED = "placed"  # paid or committed, not yet fulfilled
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class Order(Base):
    __tablename__ = "sales_order"
    __table_args__ = (
        UniqueConstraint("workspace_id", "platform", "external_id"),
        Index("ix_sales_order_workspace_id", "workspace_id", "id"),
        Index("ix_sales_order_workspace_email", "workspace_id", "customer_email"),
        Index("ix_sales_order_workspace_number", "workspace_id", "order_number"),
        Index("ix_sales_order_workspace_placed", "workspace_id", "placed_at"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("ord"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    source_id: Mapped[str | None] = mapped_column(
        ForeignKey("source.id", ondelete="SET NULL"), nullable=True
    )
    platform: Mapped[str] = mapped_column(String(20))  # shopify | amazon | tiktok_shop | ...
    external_id: Mapped[str] = mapped_column(String(200))
    order_number: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(80))
    location_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    fulfillment: Mapped[str | None] = mapped_column(String(40), nullable=True)  # fba, mfn, pickup
    status: Mapped[OrderStatus] = mapped_column(StrEnumColumn(OrderStatus))  # with refunds
    snapshot_status: Mapped[OrderStatus] = mapped_column(StrEnumColumn(OrderStatus))  # platform
    is_cancelled: Mapped[bool] = mapped_column(default=False)
    currency: Mapped[str] = mapped_column(CurrencyCode)
    subtotal: Mapped[int] = mapped_column(MinorUnits, default=0)
    tax: Mapped[int] = mapped_column(MinorUnits, default=0)
    shipping: Mapped[int] = mapped_column(MinorUnits, default=0)
    discount: Mapped[int] = mapped_column(MinorUnits, default=0)
    total: Mapped[int] = mapped_column(MinorUnits, default=0)
    refunded_total: Mapped[int] = mapped_column(MinorUnits, default=0)
    customer_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    customer_phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Every identifier and name/address field the platform sent, for Identify to use.
    customer: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version_key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderLine(Base):
    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_key"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("oln"))
    order_id: Mapped[str] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    line_key: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(120), nullable=True, index=True)
    gtin: Mapped[str | None] = mapped_column(String(20), nullable=True)
    product_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(MinorUnits)
    total: Mapped[int] = mapped_column(MinorUnits)
    # The platform cancelled this item and the order lives on: total zero, no units owed.
    is_cancelled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class OrderRefund(Base):
    __tablename__ = "order_refund"
    __table_args__ = (UniqueConstraint("order_id", "external_id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("rfd"))
    order_id: Mapped[str] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(MinorUnits)
    currency: Mapped[str] = mapped_column(CurrencyCode)
    # [{"line_key": ..., "sku": ..., "quantity": n}] units returned
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime)
