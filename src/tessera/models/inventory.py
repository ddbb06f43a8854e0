"""Stock: locations, balances per variant x location, the append-only ledger, reservations.

``stock_balance`` holds the counters (on hand, reserved, committed, incoming, damaged, safety)
that the ledger's deltas sum to; every change writes one ``stock_ledger_entry`` with a reason,
the document that caused it and an idempotency key that is unique per workspace, so a change
retried or delivered twice counts once and the balances can be rebuilt from the ledger. CHECK
constraints keep every counter at zero or above whatever the code does.

Available = on_hand - reserved - committed - damaged - safety. Counters change only through one
conditional UPDATE whose row count decides (see ``inventory.repository``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class LocationKind(enum.StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    THIRD_PARTY = "3pl"
    FBA = "fba"  # Amazon's stock: imported, read-only, never reserved by us
    RETAIL = "retail"  # a partner's shelf: sell-through only


class LedgerReason(enum.StrEnum):
    RECEIVE = "receive"  # goods in, against incoming when there is some
    INCOMING = "incoming"  # a purchase order or transfer on its way
    ADJUST = "adjust"
    COUNT = "count"  # a cycle count sets on hand to what was counted
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    DAMAGE = "damage"  # written off from on hand into damaged
    SAFETY = "safety"  # safety stock set
    RESERVE = "reserve"
    RELEASE = "release"
    EXPIRE = "expire"
    CONFIRM = "confirm"  # a hold becomes committed
    COMMIT = "commit"  # an order placed without a hold
    CANCEL = "cancel"  # a committed order cancelled or refunded before shipping
    FULFIL = "fulfil"  # shipped: out of committed and on hand
    SALE = "sale"  # a store's POS sale or a retail partner's sell-through
    RETURN = "return"  # refunded units back on hand
    IMPORT = "import"  # a read-only location's quantity imported (FBA)
    REPAIR = "repair"  # a drifted balance set back to its ledger


class ReservationStatus(enum.StrEnum):
    HELD = "held"  # counts in reserved until expires_at; after it, logically expired
    CONFIRMED = "confirmed"  # moved to committed: an order was placed
    RELEASED = "released"
    EXPIRED = "expired"
    FULFILLED = "fulfilled"  # the confirmed units shipped
    CANCELLED = "cancelled"  # the confirmed units went back to available
    ORDERED = "ordered"  # an order took the hold over: its allocation holds the units now


class Location(Base):
    """A place stock is: a warehouse, a store, a 3PL, Amazon FBA or a retail partner."""

    __tablename__ = "location"
    __table_args__ = (
        UniqueConstraint("workspace_id", "code"),
        Index("ix_location_workspace_id", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("loc"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(80))  # "soho", "main-warehouse"
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LocationKind] = mapped_column(StrEnumColumn(LocationKind))
    # The channel a store or partner sells through (``store:soho``, ``retail:target``).
    channel_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # Ids other systems use for it: Shopify/Square location ids, a partner's store number.
    external_refs: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    is_pickup_enabled: Mapped[bool] = mapped_column(default=False)
    is_ship_enabled: Mapped[bool] = mapped_column(default=True)
    # {"mon": ["09:00", "18:00"], ...} in the location's own time zone
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # the market
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelLocation(Base):
    """A location whose stock a channel may sell, ranked (1 first)."""

    __tablename__ = "channel_location"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel", "location_id"),
        Index("ix_channel_location_location", "location_id"),
        CheckConstraint("rank >= 1", name="rank_positive"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("chl"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(80))
    location_id: Mapped[str] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer, default=1)


class RoutingRule(Base):
    """How a channel's shipped orders pick locations: rules applied in order."""

    __tablename__ = "routing_rule"
    __table_args__ = (UniqueConstraint("workspace_id", "channel"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("rtr"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(80))
    # ["keep_within_market", "fewest_shipments", "closest", "ranked"]
    rules: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    is_ship_from_store: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_COUNTERS = ("on_hand", "reserved", "committed", "incoming", "damaged", "safety")


class StockBalance(Base):
    """The counters of one variant at one location; the sum of its ledger entries."""

    __tablename__ = "stock_balance"
    __table_args__ = (
        UniqueConstraint("variant_id", "location_id"),
        Index("ix_stock_balance_workspace_location", "workspace_id", "location_id"),
        *(CheckConstraint(f"{name} >= 0", name=f"{name}_not_negative") for name in _COUNTERS),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("stb"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"))
    location_id: Mapped[str] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    committed: Mapped[int] = mapped_column(Integer, default=0)
    incoming: Mapped[int] = mapped_column(Integer, default=0)
    damaged: Mapped[int] = mapped_column(Integer, default=0)
    safety: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockLedgerEntry(Base):
    """One change of one balance: its deltas, why, and which document caused it. Never updated."""

    __tablename__ = "stock_ledger_entry"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key"),
        Index("ix_stock_ledger_entry_balance", "variant_id", "location_id", "id"),
        Index("ix_stock_ledger_entry_workspace_id", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("stl"))
    workspace_id: Mapped[str] = mapped_column(PrefixedId)  # no foreign keys: ADR 0011
    variant_id: Mapped[str] = mapped_column(PrefixedId)
    location_id: Mapped[str] = mapped_column(PrefixedId)
    reason: Mapped[LedgerReason] = mapped_column(StrEnumColumn(LedgerReason))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    committed_delta: Mapped[int] = mapped_column(Integer, default=0)
    incoming_delta: Mapped[int] = mapped_column(Integer, default=0)
    damaged_delta: Mapped[int] = mapped_column(Integer, default=0)
    safety_delta: Mapped[int] = mapped_column(Integer, default=0)
    source_type: Mapped[str] = mapped_column(String(40))  # reservation, order, transfer, user...
    source_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reservation(Base):
    """A checkout's hold on stock until ``expires_at``; confirmed into committed, or released."""

    __tablename__ = "reservation"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key"),
        Index("ix_reservation_workspace_id", "workspace_id", "id"),
        # Only reservations that name their order are found by it (ADR 0018): the rest, most
        # checkouts, write no entry here.
        Index(
            "ix_reservation_order_ref",
            "workspace_id",
            "order_ref",
            postgresql_where=text("order_ref IS NOT NULL"),
            sqlite_where=text("order_ref IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("rsv"))
    workspace_id: Mapped[str] = mapped_column(PrefixedId)  # no foreign keys: ADR 0011
    channel: Mapped[str] = mapped_column(String(80))
    status: Mapped[ReservationStatus] = mapped_column(StrEnumColumn(ReservationStatus))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    # "platform:external_id" of the order this checkout becomes, when known
    order_ref: Mapped[str | None] = mapped_column(String(260), nullable=True)
    # the requested lines, as asked: [{"sku": ..., "quantity": n}]
    request: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReservationLine(Base):
    """Units of one (component) variant held at one location for a reservation.

    Status and expiry are copied from the reservation so expired holds on a balance are found
    with one index.
    """

    __tablename__ = "reservation_line"
    __table_args__ = (
        UniqueConstraint("reservation_id", "variant_id", "location_id"),
        Index(
            "ix_reservation_line_held",
            "variant_id",
            "location_id",
            "expires_at",
            postgresql_where=text("status = 'held'"),
            sqlite_where=text("status = 'held'"),
        ),
        Index("ix_reservation_line_held_expiry", "status", "expires_at"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("rsl"))
    workspace_id: Mapped[str] = mapped_column(PrefixedId)  # no foreign keys: ADR 0011
    reservation_id: Mapped[str] = mapped_column(PrefixedId)
    variant_id: Mapped[str] = mapped_column(PrefixedId)
    location_id: Mapped[str] = mapped_column(PrefixedId)
    quantity: Mapped[int] = mapped_column(Integer)
    is_backorder: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ReservationStatus] = mapped_column(StrEnumColumn(ReservationStatus))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderAllocation(Base):
    """Units of one variant an order took from one location, and what happened to them since.

    ``quantity`` were committed (or sold at once, for a POS sale); ``fulfilled`` of them have
    left on hand; ``cancelled`` went back to available before shipping; ``returned`` came back
    on hand after shipping.
    """

    __tablename__ = "order_allocation"
    __table_args__ = (
        UniqueConstraint("order_id", "line_key", "variant_id", "location_id"),
        Index("ix_order_allocation_workspace", "workspace_id", "order_id"),
        # Units still owed at a balance or a store (oversold positions, pickups waiting): a
        # store's many POS sales are closed at once and stay out of it.
        Index(
            "ix_order_allocation_open",
            "location_id",
            "variant_id",
            postgresql_where=text("fulfilled + cancelled < quantity"),
            sqlite_where=text("fulfilled + cancelled < quantity"),
        ),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint(
            "fulfilled >= 0 AND cancelled >= 0 AND returned >= 0", name="counts_not_negative"
        ),
        CheckConstraint("fulfilled + cancelled <= quantity", name="within_quantity"),
        CheckConstraint("returned <= fulfilled", name="returns_within_fulfilled"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("oal"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    line_key: Mapped[str] = mapped_column(String(200))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"))
    location_id: Mapped[str] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    fulfilled: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    is_backorder: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingDecision(Base):
    """Where an order's stock was taken from and why, one row per order."""

    __tablename__ = "routing_decision"
    __table_args__ = (
        UniqueConstraint("order_id"),
        Index("ix_routing_decision_workspace", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("rtd"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(80))
    method: Mapped[str] = mapped_column(String(40))  # ship, pickup, pos_sale, fba, sell_through
    # [{"line_key", "sku", "variant_id", "location_id", "quantity", "is_backorder"}]
    allocations: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
