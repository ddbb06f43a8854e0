"""Segments, their materialised members, and audiences.

A ``segment`` holds a rule over a person's traits, events, orders and channels (validated by
``segment.rules``). ``segment_member`` is who matches it now: one row per (segment, profile),
kept by a unique constraint however many workers recompute one person at once; its
``entered_at`` is when the person last came in. ``segment_evaluation`` is one row per
(workspace, profile): recomputing a person first upserts it, which takes its row lock, so two
workers evaluating one person take turns and the second reads what the first committed.
``segment_size`` is a segment's member count per day, for the size-over-time chart.

An ``audience`` is a named list of people: filled by hand or by journeys (``audience_add``),
or fed by a segment (``source_segment_id``), and exported to ad platforms.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class Segment(Base):
    __tablename__ = "segment"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        Index("ix_segment_workspace", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("seg"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    rule: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # Bumped by every rule change, so the refresh it queues has a key of its own.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SegmentMember(Base):
    __tablename__ = "segment_member"
    __table_args__ = (
        UniqueConstraint("segment_id", "profile_id"),
        Index("ix_segment_member_profile", "workspace_id", "profile_id"),
        Index("ix_segment_member_page", "segment_id", "entered_at", "profile_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("sgm"))
    workspace_id: Mapped[str] = mapped_column(PrefixedId)
    segment_id: Mapped[str] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    # No foreign key: profiles are the identity graph's (ADR 0010); merges and erasure
    # reach this table through the segment and privacy services.
    profile_id: Mapped[str] = mapped_column(PrefixedId)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentEvaluation(Base):
    __tablename__ = "segment_evaluation"
    __table_args__ = (UniqueConstraint("workspace_id", "profile_id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("sge"))
    workspace_id: Mapped[str] = mapped_column(PrefixedId)
    profile_id: Mapped[str] = mapped_column(PrefixedId)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentSize(Base):
    __tablename__ = "segment_size"
    __table_args__ = (UniqueConstraint("segment_id", "day"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("sgs"))
    segment_id: Mapped[str] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    members: Mapped[int] = mapped_column(Integer)


class Audience(Base):
    __tablename__ = "audience"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        Index("ix_audience_workspace", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("aud"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    source_segment_id: Mapped[str | None] = mapped_column(
        ForeignKey("segment.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AudienceMember(Base):
    __tablename__ = "audience_member"
    __table_args__ = (
        UniqueConstraint("audience_id", "profile_id"),
        Index("ix_audience_member_profile", "workspace_id", "profile_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("aum"))
    workspace_id: Mapped[str] = mapped_column(PrefixedId)
    audience_id: Mapped[str] = mapped_column(ForeignKey("audience.id", ondelete="CASCADE"))
    profile_id: Mapped[str] = mapped_column(PrefixedId)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
