"""API shapes of usage rights."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tessera.rights.domain import Usage


class LicenseIn(BaseModel):
    asset_id: str = Field(min_length=1, max_length=40)
    usages: list[str] = Field(min_length=1, max_length=8, description="Usage types allowed")
    first_day: date
    last_day: date | None = Field(default=None, description="Included; none is perpetual")
    time_zone: str = Field(default="UTC", max_length=64, description="The contract's zone")
    platforms: list[str] = Field(default_factory=list, max_length=10,
                                 description="Social platforms; empty is every one")  # fmt: skip
    territories: list[str] = Field(default_factory=list, max_length=250,
                                   description="ISO 3166 alpha-2; empty is worldwide")  # fmt: skip
    is_exclusive: bool = False
    edits_allowed: bool = True
    terms: str = Field(default="", max_length=5000)
    creator_id: str | None = Field(default=None, max_length=40)


class LicenseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    asset_id: str
    creator_id: str | None
    usages: list[str]
    platforms: list[str]
    territories: list[str]
    starts_at: datetime
    ends_at: datetime | None
    time_zone: str
    is_exclusive: bool
    edits_allowed: bool
    terms: str
    revoked_at: datetime | None


class AuthorisationIn(BaseModel):
    asset_id: str = Field(min_length=1, max_length=40)
    platform: str = Field(max_length=20, description="tiktok (a Spark code) or meta")
    granted_at: AwareDatetime
    days: int | None = Field(default=None, description="7, 30, 60 or 365 for a Spark code")
    code: str = Field(default="", max_length=200)


class AuthorisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    asset_id: str
    platform: str
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class UseIn(BaseModel):
    asset_id: str = Field(min_length=1, max_length=40)
    channel: str = Field(max_length=40, description="tiktok, instagram, email, website, ...")
    usage: Usage
    territory: str = Field(max_length=8, description="ISO 3166 alpha-2 where it is seen")
    at: AwareDatetime | None = Field(default=None, description="Now when absent")
    until: AwareDatetime | None = Field(default=None, description="An ad flight's end")


class PlacementIn(UseIn):
    ref: str = Field(min_length=1, max_length=200, description="The place: an ad id, a template")


class DecisionOut(BaseModel):
    allowed: bool
    reason: str
    license_id: str | None
    authorisation_id: str | None


class PlacementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    asset_id: str
    channel: str
    usage: str
    territory: str
    ref: str
    license_id: str
    authorisation_id: str | None
    starts_at: datetime
    ends_at: datetime | None
    status: str
    reason: str


class TakedownsOut(BaseModel):
    marked: int
