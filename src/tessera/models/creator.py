"""Create's creators: a profile per creator with their platform accounts.

A creator's audience split, niches and rates are JSON documents on the row (read whole, never
queried into); what discovery filters on by the number (followers, engagement) sits on
``creator_account``, one row per platform account, whose ``handle_key`` (lowercase, no ``@``,
no URL) is unique per platform in a workspace: the same TikTok handle is one creator.
``embedding`` is the WordLlama vector of the bio and captions (256 float16 values), written
with the text it was computed from so search never embeds the corpus at query time.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class CreatorStatus(enum.StrEnum):
    PROSPECT = "prospect"  # found, not yet contacted
    ACTIVE = "active"  # working with the brand
    PAUSED = "paused"
    DECLINED = "declined"  # said no, or the brand did
    ARCHIVED = "archived"


class Creator(Base):
    """One creator (a person or a duo behind accounts), in one workspace."""

    __tablename__ = "creator"
    __table_args__ = (
        Index("ix_creator_workspace_status", "workspace_id", "status", "id"),
        Index("ix_creator_email", "workspace_id", "email_key"),
        Index("ix_creator_profile", "workspace_id", "profile_id"),
        Index("ix_creator_updated", "workspace_id", "updated_at"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("crt"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    email_key: Mapped[str | None] = mapped_column(String(320), nullable=True)  # lowercased
    bio: Mapped[str] = mapped_column(Text, default="")
    captions: Mapped[str] = mapped_column(Text, default="")  # recent captions, one a line
    niches: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    # {"US": 0.62, "GB": 0.11}: shares of the audience, ISO 3166-1 alpha-2, summing to <= 1
    audience_countries: Mapped[dict[str, float]] = mapped_column(JSONDocument, default=dict)
    audience_ages: Mapped[dict[str, float]] = mapped_column(JSONDocument, default=dict)
    audience_genders: Mapped[dict[str, float]] = mapped_column(JSONDocument, default=dict)
    # {"tiktok_video": 45000}: minor units of ``currency`` per deliverable kind
    rates: Mapped[dict[str, int]] = mapped_column(JSONDocument, default=dict)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CreatorStatus] = mapped_column(
        StrEnumColumn(CreatorStatus), default=CreatorStatus.PROSPECT
    )
    # The customer profile this creator is (no foreign key: profiles are the identity
    # graph's and merges move them, ADR 0010); found by email or handle.
    profile_id: Mapped[str | None] = mapped_column(PrefixedId, nullable=True)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    source: Mapped[str] = mapped_column(String(40), default="manual")  # manual, import, api
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreatorAccount(Base):
    """A creator's account on one platform: the handle, its followers and engagement."""

    __tablename__ = "creator_account"
    __table_args__ = (
        UniqueConstraint("workspace_id", "platform", "handle_key", name="uq_creator_account"),
        Index("ix_creator_account_creator", "creator_id"),
        Index("ix_creator_account_followers", "workspace_id", "platform", "followers"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("cra"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    creator_id: Mapped[str] = mapped_column(ForeignKey("creator.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(30))
    handle: Mapped[str] = mapped_column(String(100))  # as given, without "@"
    handle_key: Mapped[str] = mapped_column(String(100))  # lowercase: what duplicates match on
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    followers: Mapped[int] = mapped_column(BigInteger, default=0)
    # (likes + comments) / followers over recent posts, as a fraction (0.034 is 3.4 %)
    engagement_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
