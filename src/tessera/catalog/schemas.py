"""API shapes of the catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.models.catalog import FulfillmentChannel, ListingPlatform, ProductStatus

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,119}$"
URL_PATTERN = r"^https?://[^\s<>\"']{1,1990}$"


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    quantity: int = Field(ge=1, le=10_000)


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=SKU_PATTERN, description="Unique in the workspace")
    title: str = Field(default="", max_length=500)
    gtin: str | None = Field(default=None, pattern=r"^[0-9]{8,14}$")
    weight_grams: int | None = Field(default=None, ge=0, le=10_000_000)
    options: dict[str, str] = Field(default_factory=dict)
    allows_backorder: bool = False
    components: list[ComponentIn] = Field(
        default_factory=list, description="Set for a bundle or kit: reserved through these"
    )
    url: str | None = Field(
        default=None, pattern=URL_PATTERN, description="The variant's own storefront page"
    )
    image_url: str | None = Field(
        default=None, pattern=URL_PATTERN, description="The variant's own picture (a colour's)"
    )


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{0,199}$")
    title: str = Field(min_length=1, max_length=500)
    vendor: str | None = Field(default=None, max_length=200)
    status: ProductStatus = ProductStatus.ACTIVE
    url: str | None = Field(default=None, pattern=URL_PATTERN, description="Storefront page")
    image_url: str | None = Field(default=None, pattern=URL_PATTERN, description="Main picture")
    variants: list[VariantIn] = Field(min_length=1, max_length=500)


class ComponentOut(BaseModel):
    variant_id: str
    sku: str
    quantity: int


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    product_id: str
    sku: str
    title: str
    gtin: str | None
    weight_grams: int | None
    options: dict[str, Any]
    is_bundle: bool
    allows_backorder: bool
    url: str | None = None
    image_url: str | None = None
    components: list[ComponentOut] = Field(default_factory=list)
    created_at: datetime


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    handle: str
    title: str
    vendor: str | None
    status: ProductStatus
    url: str | None = None
    image_url: str | None = None
    created_at: datetime
    variants: list[VariantOut] = Field(default_factory=list)


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None


class VariantPage(BaseModel):
    items: list[VariantOut]
    next_cursor: str | None


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    channel: str = Field(pattern=r"^[a-z][a-z0-9_]*(:[a-z0-9][a-z0-9_\-]*)?$", max_length=80)
    platform: ListingPlatform
    external_id: str = Field(
        min_length=1,
        max_length=200,
        description="What the channel takes stock for: Shopify inventory item id, Amazon "
        "seller SKU, TikTok Shop sku_id",
    )
    external_product_id: str | None = Field(default=None, max_length=200)
    external_variant_id: str | None = Field(default=None, max_length=200)
    inventory_item_id: str | None = Field(default=None, max_length=200)
    asin: str | None = Field(default=None, pattern=r"^[A-Z0-9]{10}$")
    seller_sku: str | None = Field(default=None, max_length=200)
    fulfillment_channel: FulfillmentChannel | None = None


class ListingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    variant_id: str
    channel: str
    platform: ListingPlatform
    external_id: str
    external_product_id: str | None
    external_variant_id: str | None
    inventory_item_id: str | None
    asin: str | None
    seller_sku: str | None
    fulfillment_channel: FulfillmentChannel | None
    is_active: bool


class ListingPage(BaseModel):
    items: list[ListingOut]
    next_cursor: str | None


class ImportSummary(BaseModel):
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    listings: int = 0
    errors: list[str] = Field(default_factory=list)
