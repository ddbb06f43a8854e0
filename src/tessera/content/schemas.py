"""Input and output shapes of ``/v1/assets``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RuleOut(BaseModel):
    channel: str
    rule: str
    passed: bool
    reason: str


class DuplicateOut(BaseModel):
    asset_id: str
    version_id: str
    distance: int = Field(description="Perceptual-hash bits apart (0: the same picture)")


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    number: int
    parent_version_id: str | None
    status: str
    filename: str
    media_type: str
    kind: str
    size_bytes: int
    sha256: str
    width: int
    height: int
    duration_seconds: float | None
    codec: str | None
    bitrate: int | None
    fps: float | None
    audio_codec: str | None
    perceptual_hash: str
    duplicate_of_version_id: str | None
    duplicate_distance: int | None
    uploaded_by: str
    uploaded_at: datetime
    spec_results: list[RuleOut]


class AssetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    kind: str
    status: str
    creator_id: str | None
    deliverable_id: str | None
    version_count: int
    created_at: datetime
    updated_at: datetime
    channels: dict[str, bool] = Field(
        default_factory=dict, description="The latest version's pass (true) per channel"
    )


class UploadOut(BaseModel):
    asset: AssetOut
    version: VersionOut
    near_duplicate: DuplicateOut | None


class AssetPage(BaseModel):
    items: list[AssetOut]
    next_cursor: str | None


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "request_revision", "reject"]
    comment: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, ge=1, le=1_000_000)


class ReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    version_id: str
    decision: str
    comment: str
    actor: str
    reviewed_at: datetime


class RenditionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    preset: str
    master_version_id: str = Field(description="The version it was made from (its lineage)")
    media_type: str
    size_bytes: int
    width: int
    height: int
    created_at: datetime
    spec_results: list[RuleOut]


class RenditionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presets: list[str] | None = Field(default=None, max_length=20)
    version: int | None = Field(default=None, ge=1, le=1_000_000)


class AssetDetail(AssetOut):
    versions: list[VersionOut]
    reviews: list[ReviewOut]
    renditions: list[RenditionOut]


class SpecReportOut(BaseModel):
    version_id: str
    version: int
    passed: dict[str, bool]
    results: list[RuleOut]
    renditions: list[RenditionOut]


def rules(results: list[dict[str, Any]]) -> list[RuleOut]:
    return [RuleOut.model_validate(r) for r in results]
