"""The catalog: products, their variants (one SKU each), bundles and channel listings.

A variant is what stock is counted in. A bundle (or kit) is a variant made of components: it
has no stock of its own, and reserving it reserves its components, so a bundle and a component
sold in the same cart draw on one count (medusa #16502). A channel listing maps a SKU to the
ids a channel knows it by (Shopify variant and inventory item, Amazon ASIN and seller SKU with
MFN or FBA, TikTok Shop sku_id), so feeds know what to push where.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class ProductStatus(enum.StrEnum):
    ACTIVE = "active"
    DRAFT = "draft"
    ARCHIVED = "archived"


class ListingPlatform(enum.StrEnum):
    SHOPIFY = "shopify"
    AMAZON = "amazon"
    TIKTOK_SHOP = "tiktok_shop"


class FulfillmentChannel(enum.StrEnum):
    MERCHANT = "mfn"  # we ship: our stock, pushed to the channel
    AMAZON = "fba"  # Amazon ships from its own stock: never pushed


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("workspace_id", "handle"),
        Index("ix_product_workspace_id", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("prd"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    handle: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    vendor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[ProductStatus] = mapped_column(StrEnumColumn(ProductStatus))
    external_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)  # Shopify id
    # The storefront's page and main picture, for messages (recommendations, carts).
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Variant(Base):
    """One sellable thing with one SKU; stock is counted per variant and location."""

    __tablename__ = "variant"
    __table_args__ = (
        UniqueConstraint("workspace_id", "sku"),
        Index("ix_variant_workspace_id", "workspace_id", "id"),
        Index("ix_variant_product", "product_id"),
        CheckConstraint("weight_grams IS NULL OR weight_grams >= 0", name="weight_not_negative"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("var"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(500), default="")
    gtin: Mapped[str | None] = mapped_column(String(20), nullable=True)
    weight_grams: Mapped[int | None] = mapped_column(Integer, nullable=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    is_bundle: Mapped[bool] = mapped_column(default=False)
    allows_backorder: Mapped[bool] = mapped_column(default=False)
    external_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # A variant's own page and picture (a colour's photo); None: the product's.
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BundleComponent(Base):
    """``quantity`` units of ``component_id`` go into one unit of ``bundle_id``."""

    __tablename__ = "bundle_component"
    __table_args__ = (
        UniqueConstraint("bundle_id", "component_id"),
        Index("ix_bundle_component_component", "component_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("bundle_id <> component_id", name="not_itself"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("bcm"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    bundle_id: Mapped[str] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"))
    component_id: Mapped[str] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)


class ChannelListing(Base):
    """A variant as one channel knows it.

    ``external_id`` is the id the channel takes stock updates for: the Shopify inventory item
    id, the Amazon seller SKU, the TikTok Shop sku_id. The other ids are kept for the feeds.
    """

    __tablename__ = "channel_listing"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel", "external_id"),
        Index("ix_channel_listing_variant", "variant_id"),
        Index("ix_channel_listing_workspace_id", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("lst"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(80))  # web, amazon, tiktok_shop...
    platform: Mapped[ListingPlatform] = mapped_column(StrEnumColumn(ListingPlatform))
    external_id: Mapped[str] = mapped_column(String(200))
    external_product_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    external_variant_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    inventory_item_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    asin: Mapped[str | None] = mapped_column(String(20), nullable=True)
    seller_sku: Mapped[str | None] = mapped_column(String(200), nullable=True)
    fulfillment_channel: Mapped[FulfillmentChannel | None] = mapped_column(
        StrEnumColumn(FulfillmentChannel), nullable=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
