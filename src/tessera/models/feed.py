"""Channel availability feeds: one feed per channel (its adapter, settings and buffers) and,
per channel listing, what was last pushed, when, how late and what went wrong.

``listing_feed_state`` is what makes a push conditional: the quantity last pushed (only a
change is sent, and it is the ``changeFromQuantity`` of Shopify's compare-and-set), the
newest stock change seen for the SKU (a snapshot older than it never raises the channel's
quantity), and the failure count and next attempt of a listing whose channel is refusing.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, SealedJSON, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class FeedAdapter(enum.StrEnum):
    SHOPIFY = "shopify"
    AMAZON = "amazon"
    TIKTOK_SHOP = "tiktok_shop"
    LOG = "log"  # records what would be pushed, sends nothing (the demo, a channel being set up)


class ListingFeedStatus(enum.StrEnum):
    NEVER = "never"  # not pushed yet
    OK = "ok"  # the channel holds the last computed quantity
    RETRYING = "retrying"  # the last push failed; another attempt is scheduled
    FAILED = "failed"  # the channel refused, or every attempt failed; waits for the next change
    SKIPPED = "skipped"  # FBA or an inactive listing: never pushed


class ChannelFeed(Base):
    """How one channel's availability is computed (buffers) and sent (adapter, settings)."""

    __tablename__ = "channel_feed"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel"),
        Index("ix_channel_feed_workspace_id", "workspace_id", "id"),
        CheckConstraint("safety_quantity >= 0", name="safety_not_negative"),
        CheckConstraint("percentage BETWEEN 0 AND 100", name="percentage_in_range"),
        CheckConstraint("percentage_floor >= 0", name="floor_not_negative"),
        CheckConstraint("maximum IS NULL OR maximum >= 0", name="maximum_not_negative"),
        CheckConstraint("zero_below >= 0", name="zero_below_not_negative"),
        CheckConstraint("ring_fenced >= 0", name="ring_fenced_not_negative"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("fed"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(80))  # web, amazon, tiktok_shop...
    name: Mapped[str] = mapped_column(String(200))
    adapter: Mapped[FeedAdapter] = mapped_column(StrEnumColumn(FeedAdapter))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # base_url, location_id (Shopify), seller_id and marketplace_ids (Amazon), app_key,
    # shop_cipher and warehouse_id (TikTok Shop): what the adapter needs besides secrets
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # access tokens and app secrets, sealed ({"sealed": token}, or {} for none): opened only to
    # push (FeedService.credentials), never returned by the API
    credentials: Mapped[dict[str, Any]] = mapped_column(SealedJSON, default=dict)
    safety_quantity: Mapped[int] = mapped_column(Integer, default=0)
    percentage: Mapped[int] = mapped_column(Integer, default=100)
    percentage_floor: Mapped[int] = mapped_column(Integer, default=0)
    maximum: Mapped[int | None] = mapped_column(Integer, nullable=True)
    zero_below: Mapped[int] = mapped_column(Integer, default=0)
    ring_fenced: Mapped[int] = mapped_column(Integer, default=0)
    # a channel that answered 429 is left alone until then, by every worker
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListingFeedState(Base):
    """The feed's memory of one channel listing."""

    __tablename__ = "listing_feed_state"
    __table_args__ = (
        UniqueConstraint("feed_id", "listing_id"),
        Index("ix_listing_feed_state_workspace", "workspace_id", "feed_id"),
        Index("ix_listing_feed_state_listing", "listing_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("lfs"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    feed_id: Mapped[str] = mapped_column(ForeignKey("channel_feed.id", ondelete="CASCADE"))
    listing_id: Mapped[str] = mapped_column(ForeignKey("channel_listing.id", ondelete="CASCADE"))
    status: Mapped[ListingFeedStatus] = mapped_column(
        StrEnumColumn(ListingFeedStatus), default=ListingFeedStatus.NEVER
    )
    last_pushed_quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_computed_quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the newest stock change of the SKU this feed has heard of
    newest_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the oldest change not yet answered by a push: where the lag is measured from
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_lag_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    push_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)  # in a row
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    external_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
