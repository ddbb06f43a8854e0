"""API shapes of Collect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.models.collect import ChannelKind, QuarantineStatus, SourceKind


class RejectedOut(BaseModel):
    index: int
    reason: str
    field: str | None
    quarantine_id: str
    message_id: str | None = None


class CollectResponse(BaseModel):
    """Segment answers ``{"success": true}``; Tessera adds what happened to each message."""

    success: bool = True
    received: int
    accepted: int
    duplicates: int
    rejected: list[RejectedOut]


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    message_id: str
    type: str
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    channel: str
    source_id: str | None
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime
    payload: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class QuarantineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    origin: str
    reason: str
    field: str | None
    raw: str
    is_truncated: bool
    status: QuarantineStatus
    source_id: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


class QuarantinePage(BaseModel):
    items: list[QuarantineOut]
    next_cursor: str | None


class QuarantineGroupOut(BaseModel):
    group: str = Field(description="Pass back as `group=` to list this group's entries")
    source_id: str | None
    source_name: str
    kind: str
    field: str | None
    entries: int
    sample_reason: str
    newest: datetime


class BulkReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(min_length=1, max_length=500, description="Entries to replay as stored")


class BulkDiscardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(min_length=1, max_length=500)
    why: str = Field(min_length=1, max_length=300, description="Kept with every entry")


class BulkOutcomeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    entry_id: str
    is_done: bool
    detail: str


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payload: Any = Field(
        default=None, description="The fixed record; omit to replay the stored payload as is"
    )


class DiscardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    why: str = Field(min_length=1, max_length=300)


class ChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    key: str
    kind: ChannelKind
    name: str
    external_refs: list[str]


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ChannelKind
    name: str = Field(min_length=1, max_length=200)
    key: str | None = Field(default=None, max_length=80)
    external_refs: list[str] = Field(
        default_factory=list, description="POS location ids of a store, a partner's file name"
    )


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: SourceKind
    name: str
    default_channel: str | None
    created_at: datetime
    last_seen_at: datetime | None


class SourceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_channel: str | None
