"""API shapes of prices. Money is integer minor units beside an ISO 4217 code."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tessera.models.pricing import PriceBreach

CHANNEL_PATTERN = r"^[a-z][a-z0-9_]*(:[a-z0-9][a-z0-9_\-]*)?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    channel: str = Field(pattern=CHANNEL_PATTERN, max_length=80, examples=["amazon"])
    amount: int = Field(ge=0, le=10**12, description="Minor units: 1999 is 19.99 USD")
    currency: str = Field(pattern=CURRENCY_PATTERN, examples=["USD"])
    effective_at: datetime | None = Field(
        default=None, description="When it took effect; now when absent, never in the future"
    )
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)


class PriceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    channel: str
    amount: int
    currency: str
    effective_at: datetime
    lowest_prior_30_days: int | None = Field(
        default=None,
        description="EU Omnibus: the lowest price of the 30 days before this price took effect",
    )
    is_reduction: bool = Field(
        default=False,
        description="Lower than the price before it: show lowest_prior_30_days beside it",
    )


class PricePage(BaseModel):
    items: list[PriceOut]
    next_cursor: str | None


class PriceChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sku: str
    channel: str
    amount: int
    currency: str
    effective_at: datetime
    recorded_at: datetime
    actor: str


class PriceHistory(BaseModel):
    sku: str
    channel: str
    items: list[PriceChangeOut]
    lowest_prior_30_days: int | None


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sku: str
    channel: str
    breach: PriceBreach
    amount: int
    reference_amount: int
    currency: str
    basis_points: int
    opened_at: datetime
    resolved_at: datetime | None


class PriceSet(BaseModel):
    price: PriceOut
    open_alerts: list[AlertOut] = Field(description="The SKU's open parity alerts after the change")


class AlertPage(BaseModel):
    items: list[AlertOut]


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_channel: str = Field(default="web", pattern=CHANNEL_PATTERN, max_length=80)
    max_above_basis_points: int = Field(
        default=0, ge=0, le=100_000, description="Allowed above the site price: 500 is 5%"
    )


class PolicyOut(PolicyIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


class FloorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    amount: int = Field(ge=0, le=10**12)
    currency: str = Field(pattern=CURRENCY_PATTERN)


class FloorOut(FloorIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


class ParityRowOut(BaseModel):
    """One channel price of one SKU against the site price and the floor."""

    sku: str
    channel: str
    amount: int
    currency: str
    site_amount: int | None
    floor: int | None
    basis_points_vs_site: int | None
    breaches: list[PriceBreach]


class ParityReport(BaseModel):
    site_channel: str
    max_above_basis_points: int
    rows: list[ParityRowOut]
    breaches: int
