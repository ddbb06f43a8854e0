"""Loyalty: each workspace's program, its members, the points ledger, reward codes and the
products shoppers registered from a retailer's shelf.

The balance of a member is the sum of their ``loyalty_entry`` rows and nothing else: there is
no balance column to drift. Every entry carries an idempotency key unique in its workspace
(``earn:order:<order id>:completed``, ``reverse:order:<id>:refund:<refund>``,
``registration:<id>``...), so an order delivered twice earns once. The member row is the lock
a redemption takes before it sums, so two redemptions never both spend the same points.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class EntryKind(enum.StrEnum):
    EARNED = "earned"  # an order on any channel, a registered product
    REDEEMED = "redeemed"  # a reward taken as a discount code
    EXPIRED = "expired"  # earned points not spent before their lot's expiry
    REVERSED = "reversed"  # a refund or a cancellation takes back what its order earned
    ADJUSTED = "adjusted"  # a person's correction, with its reason


class LoyaltyProgram(Base):
    """One per workspace: how points are earned, the tiers, expiry and the rewards."""

    __tablename__ = "loyalty_program"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    currency: Mapped[str] = mapped_column(String(3))
    points_per_unit: Mapped[int] = mapped_column(Integer)  # per major unit of ``currency``
    registration_points: Mapped[int] = mapped_column(Integer, default=0)
    expiry_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tier_basis: Mapped[str] = mapped_column(String(20))  # "last_12_months" or "lifetime"
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    rewards: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    # The public key in the packaging QR code's address: it names the workspace, grants nothing.
    registration_key: Mapped[str] = mapped_column(String(40), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoyaltyMember(Base):
    """A profile in the program; its row is the lock every spending statement takes."""

    __tablename__ = "loyalty_member"
    __table_args__ = (
        UniqueConstraint("workspace_id", "profile_id", name="uq_loyalty_member_profile"),
        Index("ix_loyalty_member_tier", "workspace_id", "tier"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("lmb"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    # No foreign key: profiles are the identity graph's (ADR 0010), and merges move members.
    profile_id: Mapped[str] = mapped_column(PrefixedId)
    tier: Mapped[str | None] = mapped_column(String(60), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoyaltyEntry(Base):
    """One movement of points; a member's balance is the sum of theirs."""

    __tablename__ = "loyalty_entry"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key", name="uq_loyalty_entry_key"),
        Index("ix_loyalty_entry_member", "member_id", "occurred_at"),
        Index("ix_loyalty_entry_expiry", "workspace_id", "expires_at"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("lle"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(ForeignKey("loyalty_member.id", ondelete="CASCADE"))
    kind: Mapped[EntryKind] = mapped_column(StrEnumColumn(EntryKind))
    points: Mapped[int] = mapped_column(BigInteger)  # signed: earned > 0, spent < 0
    idempotency_key: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(40))  # order, refund, registration, reward...
    reference: Mapped[str] = mapped_column(String(255))  # the order, refund, code... it came from
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoyaltyCode(Base):
    """A reward issued as a discount code; redeemed once, by one order reference."""

    __tablename__ = "loyalty_code"
    __table_args__ = (
        UniqueConstraint("code", name="uq_loyalty_code_code"),
        Index("ix_loyalty_code_member", "member_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("lcd"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(ForeignKey("loyalty_member.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    reward_key: Mapped[str] = mapped_column(String(60))
    reward_name: Mapped[str] = mapped_column(String(200))
    discount_kind: Mapped[str] = mapped_column(String(10))  # "amount" or "percent"
    discount_value: Mapped[int] = mapped_column(BigInteger)  # minor units, or percent
    currency: Mapped[str] = mapped_column(String(3))
    points_cost: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[str] = mapped_column(PrefixedId)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    redeemed_order_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    redeemed_channel: Mapped[str | None] = mapped_column(String(40), nullable=True)


class LoyaltyRegistration(Base):
    """A product bought from a retail partner and registered by its shopper (the packaging's
    QR code): each receipt and each serial once per workspace."""

    __tablename__ = "loyalty_registration"
    __table_args__ = (
        UniqueConstraint("workspace_id", "retailer", "receipt_number", name="uq_loyalty_receipt"),
        UniqueConstraint("workspace_id", "sku", "serial", name="uq_loyalty_serial"),
        Index("ix_loyalty_registration_profile", "workspace_id", "profile_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("lrg"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(120))
    serial: Mapped[str] = mapped_column(String(120))
    retailer: Mapped[str] = mapped_column(String(120))
    receipt_number: Mapped[str] = mapped_column(String(120))
    message_id: Mapped[str] = mapped_column(String(200))
    profile_id: Mapped[str | None] = mapped_column(PrefixedId, nullable=True)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
