"""API shapes of segments and audiences. A rule travels as the JSON ``rules.parse_rule``
checks (its kinds are documented on the models in ``segment.rules``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RULE_EXAMPLE: dict[str, Any] = {
    "kind": "all",
    "rules": [
        {"kind": "orders", "min_spent": 50000, "currency": "USD"},
        {"kind": "event", "event": "Product Viewed", "min_count": 2, "within_days": 30},
    ],
}
RuleBody = Field(
    description="A rule: trait, event, orders or channel conditions joined by all/any/not",
    examples=[RULE_EXAMPLE],
)


class SegmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    rule: dict[str, Any] = RuleBody


class SegmentPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    rule: dict[str, Any] | None = Field(
        default=None, description="A new rule (queues a refresh)", examples=[RULE_EXAMPLE]
    )


class PreviewIn(BaseModel):
    rule: dict[str, Any] = RuleBody


class PreviewOut(BaseModel):
    matching: int = Field(description="People among those scanned the rule holds for now")
    scanned: int = Field(description="People scanned (the first 5,000 by id)")
    sample: list[str] = Field(description="Up to ten matching profile ids")


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    rule: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None


class SegmentListItem(SegmentOut):
    members: int


class SegmentList(BaseModel):
    items: list[SegmentListItem]


class SizeOut(BaseModel):
    day: date
    members: int


class SegmentDetail(SegmentListItem):
    sample: list[str] = Field(description="The ten people who entered most recently")
    sizes: list[SizeOut] = Field(description="Members per day, as each refresh counted them")


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    profile_id: str
    entered_at: datetime


class MemberPage(BaseModel):
    items: list[MemberOut]
    next_cursor: str | None


class AudienceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    segment_id: str | None = Field(
        default=None, max_length=40, description="Feed it from this segment's members"
    )


class AudienceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    source_segment_id: str | None
    created_at: datetime


class AudienceListItem(AudienceOut):
    members: int


class AudienceList(BaseModel):
    items: list[AudienceListItem]


class AudienceDetail(AudienceListItem):
    profile_ids: list[str]


class AudienceChangeOut(BaseModel):
    changed: bool


ExportFormat = Literal["meta", "tiktok"]
