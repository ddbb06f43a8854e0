"""What Collect keeps: channels, sources, events, the quarantine, webhook receipts, import runs.

An event keeps the Segment shape (``type``, ids, ``properties``/``traits``, ``context``) plus the
channel it was assigned to. ``(workspace_id, message_id)`` is unique: a replay is stored once,
whenever it comes.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import (
    JSONDocument,
    JSONWithSealedSecrets,
    PrefixedId,
    StrEnumColumn,
    UTCDateTime,
)
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class ChannelKind(enum.StrEnum):
    WEB = "web"
    APP = "app"
    TIKTOK_SHOP = "tiktok_shop"
    INSTAGRAM = "instagram"
    AMAZON = "amazon"
    EMAIL = "email"
    SMS = "sms"
    STORE = "store"
    RETAIL = "retail"


class SourceKind(enum.StrEnum):
    SEGMENT = "segment"  # the Segment-compatible HTTP API, one source per write key
    SHOPIFY = "shopify"
    AMAZON = "amazon"
    TIKTOK_SHOP = "tiktok_shop"
    SQUARE = "square"
    RETAIL = "retail"
    IMPORT = "import"


class QuarantineStatus(enum.StrEnum):
    OPEN = "open"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class Channel(Base):
    """Where a brand sells or talks: ``web``, ``app``, ``store:soho``, ``retail:target``..."""

    __tablename__ = "channel"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("chn"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[ChannelKind] = mapped_column(StrEnumColumn(ChannelKind))
    name: Mapped[str] = mapped_column(String(200))
    # For stores: the POS location ids (Shopify location_id, Square location_id) that mean this
    # store; for retail partners: the partner's name in sell-through files.
    external_refs: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Source(Base):
    """Where data comes from: a write key, a Shopify shop, an Amazon account, a file import."""

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "name"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("src"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[SourceKind] = mapped_column(StrEnumColumn(SourceKind))
    name: Mapped[str] = mapped_column(String(200))
    default_channel: Mapped[str | None] = mapped_column(String(80), nullable=True)
    api_key_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_key.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    # Connector settings, e.g. {"shop_domain": ..., "webhook_secret": {"sealed": ...}} for
    # Shopify: secrets (names ending in secret, token, password, _key) are kept sealed.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONWithSealedSecrets, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("workspace_id", "message_id"),
        Index("ix_event_workspace_received", "workspace_id", "id"),
        Index("ix_event_workspace_user", "workspace_id", "user_id"),
        Index("ix_event_workspace_anonymous", "workspace_id", "anonymous_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("evt"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    event: Mapped[str | None] = mapped_column(String(200), nullable=True)  # track name, page name
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    anonymous_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    channel: Mapped[str] = mapped_column(String(80))
    source_id: Mapped[str | None] = mapped_column(
        ForeignKey("source.id", ondelete="SET NULL"), nullable=True
    )
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    original_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The message as received (after batch context merge), minus the write key.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class QuarantineEntry(Base):
    """A rejected event, order or file row, kept with its raw payload until fixed and replayed."""

    __tablename__ = "quarantine_entry"
    __table_args__ = (Index("ix_quarantine_workspace_status", "workspace_id", "status", "id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("qtn"))
    # None when the sender could not be tied to a workspace (an unknown write key).
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), nullable=True
    )
    source_id: Mapped[str | None] = mapped_column(
        ForeignKey("source.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # event | order | request | row
    origin: Mapped[str] = mapped_column(String(300))  # "POST /v1/batch", "file.csv line 42"...
    reason: Mapped[str] = mapped_column(String(500))
    field: Mapped[str | None] = mapped_column(String(200), nullable=True)
    raw: Mapped[str] = mapped_column(Text)
    is_truncated: Mapped[bool] = mapped_column(default=False)
    status: Mapped[QuarantineStatus] = mapped_column(
        StrEnumColumn(QuarantineStatus), default=QuarantineStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(300), nullable=True)


class WebhookReceipt(Base):
    """A webhook delivery seen once: Shopify repeats deliveries with the same webhook id."""

    __tablename__ = "webhook_receipt"
    __table_args__ = (UniqueConstraint("source_id", "delivery_id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("whr"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportRun(Base):
    """A bulk file import; its position makes it resumable after an interruption."""

    __tablename__ = "import_run"
    __table_args__ = (UniqueConstraint("workspace_id", "fingerprint"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("imp"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))  # events | orders:shopify | orders:amazon ...
    file_name: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer, default=0)  # lines (or rows) fully processed
    byte_offset: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes read (text files)
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[dict[str, int]] = mapped_column(JSONDocument, default=dict)  # reason: count
    status: Mapped[str] = mapped_column(String(16), default="running")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
