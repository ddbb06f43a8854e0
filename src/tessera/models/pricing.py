"""Prices per SKU per channel, with their history, floors, the parity policy and its alerts.

``channel_price`` is the price in force; ``price_change`` every price ever set (append-only),
which the EU Omnibus prior price is computed from. Money is minor units plus an ISO code.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import CurrencyCode, MinorUnits, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class PriceBreach(enum.StrEnum):
    ABOVE_SITE = "above_site"
    BELOW_FLOOR = "below_floor"


class ChannelPrice(Base):
    """The price of one SKU on one channel now."""

    __tablename__ = "channel_price"
    __table_args__ = (
        UniqueConstraint("workspace_id", "sku", "channel"),
        Index("ix_channel_price_workspace_id", "workspace_id", "id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("prc"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(80))
    amount: Mapped[int] = mapped_column(MinorUnits)
    currency: Mapped[str] = mapped_column(CurrencyCode)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PriceChange(Base):
    """One price set, kept forever: the history behind the Omnibus prior price."""

    __tablename__ = "price_change"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key"),
        Index("ix_price_change_lookup", "workspace_id", "sku", "channel", "effective_at"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("pch"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(80))
    amount: Mapped[int] = mapped_column(MinorUnits)
    currency: Mapped[str] = mapped_column(CurrencyCode)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(120), default="system")
    idempotency_key: Mapped[str] = mapped_column(String(200))


class PriceFloor(Base):
    """The lowest price a SKU may be offered at on any channel (a minimum advertised price)."""

    __tablename__ = "price_floor"
    __table_args__ = (
        UniqueConstraint("workspace_id", "sku"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("pfl"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(MinorUnits)
    currency: Mapped[str] = mapped_column(CurrencyCode)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PricePolicy(Base):
    """A workspace's parity promise: which channel is the site, how far above it is allowed."""

    __tablename__ = "price_policy"
    __table_args__ = (
        UniqueConstraint("workspace_id"),
        CheckConstraint("max_above_basis_points BETWEEN 0 AND 100000", name="allowance_in_range"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("ppo"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    site_channel: Mapped[str] = mapped_column(String(80), default="web")
    max_above_basis_points: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PriceAlert(Base):
    """A channel price that broke the parity promise; open until the price is fixed."""

    __tablename__ = "price_alert"
    __table_args__ = (
        Index("ix_price_alert_open", "workspace_id", "resolved_at", "sku", "channel"),
        Index("ix_price_alert_workspace_id", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("pal"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(80))
    breach: Mapped[PriceBreach] = mapped_column(StrEnumColumn(PriceBreach))
    amount: Mapped[int] = mapped_column(MinorUnits)
    reference_amount: Mapped[int] = mapped_column(MinorUnits)
    currency: Mapped[str] = mapped_column(CurrencyCode)
    basis_points: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
