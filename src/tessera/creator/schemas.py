"""The API's shapes for creators, their accounts, imports, search and lookalikes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from tessera.creator import domain
from tessera.kit.bounds import MAX_MINOR_UNITS, StorableText
from tessera.kit.countries import COUNTRIES
from tessera.models.creator import CreatorStatus

Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Followers = Annotated[int, Field(ge=0, le=domain.MAX_FOLLOWERS)]
RateKind = Annotated[StorableText, Field(min_length=1, max_length=60)]
Amount = Annotated[int, Field(ge=0, le=MAX_MINOR_UNITS)]
Niche = Annotated[StorableText, Field(min_length=1, max_length=60)]


def _platform(value: str) -> str:
    name = value.strip().lower()
    if name not in domain.PLATFORMS:
        raise ValueError(f"must be one of {', '.join(sorted(domain.PLATFORMS))}")
    return name


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


Platform = Annotated[str, Field(max_length=30), AfterValidator(_platform)]
Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_country)]


def _split(shares: dict[str, float], allowed: frozenset[str] | None) -> dict[str, float]:
    problem = domain.check_shares(shares, allowed)
    if problem is not None:
        raise ValueError(problem)
    return shares


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform = Field(examples=["tiktok"])
    handle: StorableText = Field(min_length=1, max_length=500, examples=["@ana.bakes"])
    url: StorableText | None = Field(default=None, max_length=500)
    followers: Followers = Field(default=0, examples=[48200])
    engagement_rate: Rate | None = Field(
        default=None, description="(likes + comments) / followers, as a fraction", examples=[0.052]
    )

    @model_validator(mode="after")
    def _handle_names_an_account(self) -> AccountIn:
        try:
            domain.handle_key(self.platform, self.handle)
        except domain.HandleError as exc:
            raise ValueError(f"handle {exc}") from None
        return self


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    platform: str
    handle: str
    url: str | None
    followers: int
    engagement_rate: float | None


class CreatorFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: StorableText | None = Field(default=None, max_length=320, examples=["ana@example.com"])
    bio: StorableText = Field(default="", max_length=5000)
    captions: StorableText = Field(default="", max_length=20000, description="One a line")
    niches: list[Niche] = Field(default_factory=list, max_length=20, examples=[["baking"]])
    audience_countries: dict[Country, Share] = Field(
        default_factory=dict, max_length=250, examples=[{"US": 0.61, "CA": 0.12}]
    )
    audience_ages: dict[str, Share] = Field(default_factory=dict, max_length=10)
    audience_genders: dict[str, Share] = Field(default_factory=dict, max_length=5)
    rates: dict[RateKind, Amount] = Field(
        default_factory=dict, max_length=20, description="Minor units of `currency` per deliverable"
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    notes: StorableText = Field(default="", max_length=5000)
    status: CreatorStatus = CreatorStatus.PROSPECT

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and value.strip() and "@" not in value:
            raise ValueError("is not an email address")
        return value.strip() or None if value is not None else None

    @field_validator("audience_countries")
    @classmethod
    def _countries(cls, value: dict[str, float]) -> dict[str, float]:
        return _split(value, None)

    @field_validator("audience_ages")
    @classmethod
    def _ages(cls, value: dict[str, float]) -> dict[str, float]:
        return _split(value, domain.AGE_BANDS)

    @field_validator("audience_genders")
    @classmethod
    def _genders(cls, value: dict[str, float]) -> dict[str, float]:
        return _split(value, domain.GENDERS)


class CreatorIn(CreatorFields):
    name: StorableText = Field(min_length=1, max_length=200, examples=["Ana Bakes"])
    accounts: list[AccountIn] = Field(min_length=1, max_length=12)


class CreatorPatch(BaseModel):
    """Fields to change; those left out stay. ``accounts``, when given, replaces them all."""

    model_config = ConfigDict(extra="forbid")

    name: StorableText | None = Field(default=None, min_length=1, max_length=200)
    email: StorableText | None = Field(default=None, max_length=320)
    bio: StorableText | None = Field(default=None, max_length=5000)
    captions: StorableText | None = Field(default=None, max_length=20000)
    niches: list[Niche] | None = Field(default=None, max_length=20)
    notes: StorableText | None = Field(default=None, max_length=5000)
    status: CreatorStatus | None = None
    accounts: list[AccountIn] | None = Field(default=None, min_length=1, max_length=12)


class CreatorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    email: str | None
    bio: str
    captions: str
    niches: list[str]
    audience_countries: dict[str, float]
    audience_ages: dict[str, float]
    audience_genders: dict[str, float]
    rates: dict[str, int]
    currency: str | None
    notes: str
    status: CreatorStatus
    profile_id: str | None
    source: str
    accounts: list[AccountOut]
    created_at: datetime
    updated_at: datetime


class CreatorPage(BaseModel):
    items: list[CreatorOut]
    next_cursor: str | None


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csv: str = Field(min_length=1, max_length=2_000_000, description="The file's text, UTF-8")


class RowProblem(BaseModel):
    line: int
    field: str
    detail: str
    existing_id: str | None = None


class ImportOut(BaseModel):
    imported: int
    linked: int
    errors: list[RowProblem]
    duplicates: list[RowProblem]


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform | None = None
    min_followers: Followers | None = None
    max_followers: Followers | None = None
    min_engagement: Rate | None = None
    country: Country | None = None
    min_country_share: Share | None = None
    niches: list[Niche] = Field(default_factory=list, max_length=10)
    statuses: list[CreatorStatus] = Field(default_factory=list, max_length=5)


class SearchIn(FiltersIn):
    query: StorableText = Field(default="", max_length=500, examples=["vegan baking"])
    avoid_terms: list[Annotated[StorableText, Field(max_length=60)]] = Field(
        default_factory=list, max_length=50, description="Brand-safety terms of your own"
    )
    limit: int = Field(default=20, ge=1, le=100)


class LookalikesIn(FiltersIn):
    creator_ids: list[Annotated[str, Field(max_length=40)]] = Field(min_length=1, max_length=10)
    avoid_terms: list[Annotated[StorableText, Field(max_length=60)]] = Field(
        default_factory=list, max_length=50
    )
    limit: int = Field(default=20, ge=1, le=100)


class FitPartOut(BaseModel):
    name: str
    weight: float
    score: float
    points: float
    reason: str


class SafetyFlagOut(BaseModel):
    category: str
    term: str
    count: int


class SearchHitOut(BaseModel):
    creator: CreatorOut
    relevance: float
    bm25_rank: int | None
    semantic_rank: int | None
    fit_score: float
    fit_parts: list[FitPartOut]
    safety_flags: list[SafetyFlagOut]


class SearchOut(BaseModel):
    total: int
    items: list[SearchHitOut]


class CustomerCreatorOut(BaseModel):
    profile_id: str
    name: str | None
    email: str | None
    traits: dict[str, str]
    creator_id: str | None
