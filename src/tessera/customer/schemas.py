"""API shapes of the customer 360 and of privacy: search, profile, timeline, consent, erasure.

Money is integer minor units beside an ISO 4217 code; a person who bought in two currencies has
one total per currency (never a sum across them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tessera.models.identity import ConsentStatus, ErasureMode, ProfileStatus

TimelineKind = Literal["event", "order", "consent", "merge", "unmerge"]


class ProfileSummary(BaseModel):
    """One search hit: enough for a clerk to tell people apart."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    last_seen: datetime | None
    matched_by: str = Field(
        description="What matched, best first: id, email, phone, loyalty_id, order_number... "
        "typed whole; name (both names); surname; partial_name, partial_email, partial_phone"
    )


class ProfileSearchResult(BaseModel):
    query: str
    items: list[ProfileSummary]


class IdentifierOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    type: str
    value: str
    raw: str
    source: str | None
    origin_profile_id: str
    first_seen: datetime
    last_seen: datetime


class MoneyTotal(BaseModel):
    currency: str
    amount: int = Field(description="Minor units")


class ComputedTraits(BaseModel):
    """What the data says about the person, computed when asked."""

    first_seen: datetime | None
    last_seen: datetime | None
    channels: list[str]
    event_count: int
    order_count: int
    revenue: list[MoneyTotal] = Field(description="Orders' totals less refunds, per currency")
    average_order_value: list[MoneyTotal]


class MergeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    survivor_profile_id: str
    absorbed_profile_id: str
    cause_kind: str
    cause_ref: str
    evidence: dict[str, Any]
    actor: str | None
    created_at: datetime
    undone_at: datetime | None
    undone_by: str | None


class ConsentOut(BaseModel):
    id: str
    identifier_id: str
    identifier_type: str
    identifier_value: str
    purpose: str
    channel: str
    status: ConsentStatus
    recorded_at: datetime
    source: str
    wording: str
    evidence: dict[str, Any]
    actor: str | None
    created_at: datetime


class ConsentList(BaseModel):
    current: list[ConsentOut] = Field(
        description="The newest answer per identifier, purpose and channel"
    )
    history: list[ConsentOut] = Field(description="Every answer recorded, newest first")


class ConsentCreate(BaseModel):
    """A person's yes or no, attached to one of the profile's identifiers."""

    model_config = ConfigDict(extra="forbid")

    identifier_type: str = Field(min_length=1, max_length=60, examples=["email"])
    identifier_value: str = Field(min_length=1, max_length=320, examples=["ana@example.com"])
    purpose: str = Field(min_length=1, max_length=60, examples=["marketing"])
    channel: str = Field(min_length=1, max_length=80, examples=["email"])
    status: ConsentStatus
    source: str = Field(min_length=1, max_length=300, examples=["https://brand.example/signup"])
    wording: str = Field(default="", max_length=2000)
    recorded_at: datetime | None = Field(
        default=None, description="When the person said it; now when omitted"
    )
    evidence: dict[str, Any] = Field(default_factory=dict)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """PostgreSQL stores no NUL character, in text or JSON: refuse it here, as a 422."""
        if _has_nul(value):
            raise ValueError("must not contain the NUL character")
        return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class Profile360(BaseModel):
    """Everything known about one person, merged profiles answered by their survivor."""

    id: str
    requested_id: str = Field(description="The id asked for; differs when it was merged")
    status: ProfileStatus
    name: str | None
    traits: dict[str, Any]
    trait_stamps: dict[str, Any]
    computed: ComputedTraits
    identifiers: list[IdentifierOut]
    consents: list[ConsentOut]
    merges: list[MergeOut]
    absorbed_profile_ids: list[str]
    created_at: datetime
    updated_at: datetime


class TimelineItem(BaseModel):
    id: str
    kind: TimelineKind
    occurred_at: datetime
    channel: str | None
    title: str
    detail: dict[str, Any]


class TimelinePage(BaseModel):
    items: list[TimelineItem]
    next_cursor: str | None


class EraseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ErasureMode = Field(
        default=ErasureMode.DELETE,
        description="delete: remove the person's events and orders too; anonymise: keep them "
        "(counts and revenue) without anything that says who",
    )


class ErasureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    profile_id: str
    mode: ErasureMode
    counts: dict[str, Any]
    actor: str | None
    created_at: datetime
