"""The API's shapes for the loyalty program, members, their ledger, codes and registrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tessera.kit.bounds import StorableText

MAX_POINTS = 100_000_000  # one entry moves at most this many points
Slug = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_-]*$")


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StorableText = Field(min_length=1, max_length=60, examples=["Gold"])
    threshold: int = Field(ge=0, le=MAX_POINTS, examples=[1000])


class RewardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Slug
    name: StorableText = Field(min_length=1, max_length=200, examples=["$10 off"])
    points_cost: int = Field(ge=1, le=MAX_POINTS, examples=[500])
    kind: Literal["amount", "percent"]
    value: int = Field(ge=1, le=10**9, examples=[1000])

    @model_validator(mode="after")
    def _percent_at_most_100(self) -> RewardIn:
        if self.kind == "percent" and self.value > 100:
            raise ValueError("a percent reward is at most 100")
        return self


class ProgramIn(BaseModel):
    """The whole program, replaced at once."""

    model_config = ConfigDict(extra="forbid")

    is_enabled: bool = True
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", examples=["USD"])
    points_per_unit: int = Field(ge=0, le=10_000, examples=[1])
    registration_points: int = Field(default=0, ge=0, le=MAX_POINTS, examples=[100])
    expiry_months: int | None = Field(default=12, ge=1, le=120)
    tier_basis: Literal["last_12_months", "lifetime"] = "last_12_months"
    tiers: list[TierIn] = Field(default_factory=list, max_length=20)
    rewards: list[RewardIn] = Field(default_factory=list, max_length=100)


class ProgramOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    is_enabled: bool
    currency: str
    points_per_unit: int
    registration_points: int
    expiry_months: int | None
    tier_basis: str
    tiers: list[dict[str, Any]]
    rewards: list[dict[str, Any]]
    registration_key: str
    updated_at: datetime


class MemberOut(BaseModel):
    profile_id: str
    tier: str | None
    balance: int
    joined_at: datetime


class MemberPage(BaseModel):
    items: list[MemberOut]
    next_cursor: str | None


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    points: int
    source: str
    reference: str
    detail: dict[str, Any]
    occurred_at: datetime
    expires_at: datetime | None


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None


class CodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    reward_key: str
    reward_name: str
    discount_kind: str
    discount_value: int
    currency: str
    points_cost: int
    issued_at: datetime
    redeemed_at: datetime | None
    redeemed_order_ref: str | None
    redeemed_channel: str | None


class MemberDetail(MemberOut):
    codes: list[CodeOut]


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(ge=-MAX_POINTS, le=MAX_POINTS, examples=[250])
    reason: StorableText = Field(min_length=1, max_length=500, examples=["Goodwill: late parcel"])
    idempotency_key: StorableText = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentIn:
        if self.points == 0:
            raise ValueError("an adjustment moves at least one point")
        return self


class RedemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward: str = Field(min_length=1, max_length=60, examples=["ten-off"])
    idempotency_key: StorableText = Field(min_length=1, max_length=200)


class CodeRedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_reference: StorableText = Field(min_length=1, max_length=200, examples=["#1042"])
    channel: StorableText = Field(default="web", min_length=1, max_length=40)


class RegistrationIn(BaseModel):
    """A product registered from the packaging's QR code."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(
        min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        examples=["ana@example.com"],
    )  # fmt: skip
    name: StorableText = Field(default="", max_length=200)
    sku: StorableText = Field(min_length=1, max_length=120)
    serial: StorableText = Field(min_length=1, max_length=120)
    retailer: StorableText = Field(min_length=1, max_length=120)
    receipt_number: StorableText = Field(min_length=1, max_length=120)


class RegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sku: str
    retailer: str
    receipt_number: str
    profile_id: str | None
    points: int
    registered_at: datetime


class RegistrationPage(BaseModel):
    items: list[RegistrationOut]
    next_cursor: str | None
