"""API shapes of channel feeds. Credentials go in and never come out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.feed.domain import BufferRule
from tessera.models.feed import ChannelFeed, FeedAdapter, ListingFeedStatus

CHANNEL_PATTERN = r"^[a-z][a-z0-9_]*(:[a-z0-9][a-z0-9_\-]*)?$"


class Buffers(BaseModel):
    """Applied after summing the locations that feed the channel, in this order: other
    channels' ring-fences out, zero below, safety, percentage (rounded down, with a floor),
    maximum."""

    model_config = ConfigDict(extra="forbid")

    safety_quantity: int = Field(default=0, ge=0, le=1_000_000, description="Units kept back")
    percentage: int = Field(default=100, ge=0, le=100, description="Share of what is left")
    percentage_floor: int = Field(
        default=0, ge=0, le=1_000_000, description="At least this many after the percentage"
    )
    maximum: int | None = Field(default=None, ge=0, le=1_000_000, description="Cap; none if null")
    zero_below: int = Field(
        default=0, ge=0, le=1_000_000, description="Show 0 when fewer than this are available"
    )
    ring_fenced: int = Field(
        default=0, ge=0, le=1_000_000, description="Units held for this channel only"
    )

    def rule(self) -> BufferRule:
        return BufferRule(**self.model_dump())

    @classmethod
    def of(cls, feed: ChannelFeed) -> Buffers:
        return cls(
            safety_quantity=feed.safety_quantity,
            percentage=feed.percentage,
            percentage_floor=feed.percentage_floor,
            maximum=feed.maximum,
            zero_below=feed.zero_below,
            ring_fenced=feed.ring_fenced,
        )


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(pattern=CHANNEL_PATTERN, max_length=80, examples=["amazon"])
    name: str = Field(min_length=1, max_length=200)
    adapter: FeedAdapter
    is_enabled: bool = True
    settings: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description=(
            "shopify: base_url, location_id · amazon: base_url, seller_id, marketplace_ids · "
            "tiktok_shop: base_url, app_key, shop_cipher, warehouse_id · log: nothing"
        ),
    )
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="shopify, amazon: access_token · tiktok_shop: access_token, app_secret",
    )
    buffers: Buffers = Field(default_factory=Buffers)


class FeedPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_enabled: bool | None = None
    settings: dict[str, str | list[str]] | None = None
    credentials: dict[str, str] | None = None
    buffers: Buffers | None = None


class FeedOut(BaseModel):
    id: str
    channel: str
    name: str
    adapter: FeedAdapter
    is_enabled: bool
    settings: dict[str, Any]
    has_credentials: bool
    buffers: Buffers
    paused_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, feed: ChannelFeed) -> FeedOut:
        return cls(
            id=feed.id,
            channel=feed.channel,
            name=feed.name,
            adapter=feed.adapter,
            is_enabled=feed.is_enabled,
            settings=dict(feed.settings or {}),
            has_credentials=bool(feed.credentials),
            buffers=Buffers.of(feed),
            paused_until=feed.paused_until,
            created_at=feed.created_at,
            updated_at=feed.updated_at,
        )


class FeedStatusOut(BaseModel):
    """A feed and how its listings are doing."""

    feed: FeedOut
    listings: int
    by_status: dict[ListingFeedStatus, int]
    last_pushed_at: datetime | None
    last_lag_ms: int | None = Field(description="Lag of the newest push")
    max_lag_ms: int | None = Field(description="Largest lag among the listings' last pushes")
    failing: int = Field(description="Listings whose last push failed")
    last_error: str | None
    last_error_at: datetime | None


class FeedPage(BaseModel):
    items: list[FeedStatusOut]


class ListingStateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    listing_id: str
    sku: str
    external_id: str
    status: ListingFeedStatus
    last_pushed_quantity: int | None
    last_pushed_at: datetime | None
    last_computed_quantity: int | None
    last_lag_ms: int | None
    push_count: int
    failure_count: int
    last_error: str | None
    last_error_at: datetime | None
    next_attempt_at: datetime | None


class ListingStatePage(BaseModel):
    items: list[ListingStateOut]
    next_cursor: str | None


class PushRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skus: list[str] | None = Field(
        default=None, max_length=1000, description="Only these SKUs; every listing when absent"
    )


class PushQueued(BaseModel):
    feed_id: str
    listings: int = Field(description="Listings queued for a push")


class AvailabilityOut(BaseModel):
    """What the feed would show for one listing now, and how it got there."""

    listing_id: str
    sku: str
    channel: str
    locations: dict[str, int] = Field(description="Sellable units per feeding location")
    available: int
    fenced_for_others: int
    quantity: int
    last_pushed_quantity: int | None
