"""Journeys: their immutable versions, the people inside them, and each step a person passed.

A ``journey`` points at the version it runs (``live_version``); every save adds a
``journey_version`` row that never changes, and an instance keeps the version it entered with,
so publishing a new one moves nobody already inside.

A ``journey_instance`` is one person's (and one entry key's) way through one journey. It is
inside while ``left_at`` is NULL, and a partial unique index keeps one inside per (journey,
profile, key) however many triggers race; ``entry_message_id`` is unique per journey, so an
event announced twice enters once. ``visit`` counts the steps it has been at; each visit is a
job whose idempotency key is (instance, visit), and ``journey_step_run`` is unique on
(instance, visit), so a visit ends with one outcome even when its job runs twice.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow

INSIDE = "left_at IS NULL"


class JourneyStatus(enum.StrEnum):
    DRAFT = "draft"  # never published: nobody enters
    LIVE = "live"  # people enter and move on
    PAUSED = "paused"  # nobody enters; people inside stay where they are until resumed
    ARCHIVED = "archived"  # over: everyone inside has left, nothing can change it


class Journey(Base):
    __tablename__ = "journey"
    __table_args__ = (Index("ix_journey_workspace", "workspace_id", "id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("jrn"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[JourneyStatus] = mapped_column(
        StrEnumColumn(JourneyStatus), default=JourneyStatus.DRAFT
    )
    live_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    # Moved on by each resume, so the jobs that wake parked people get keys of their own.
    resumes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JourneyVersion(Base):
    __tablename__ = "journey_version"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("jrv"))
    journey_id: Mapped[str] = mapped_column(ForeignKey("journey.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JourneyInstance(Base):
    __tablename__ = "journey_instance"
    __table_args__ = (
        Index(
            "uq_journey_instance_inside",
            "journey_id",
            "profile_id",
            "entry_key",
            unique=True,
            postgresql_where=text(INSIDE),
            sqlite_where=text(INSIDE),
        ),
        UniqueConstraint("journey_id", "entry_message_id"),
        Index(
            "ix_journey_instance_profile_inside",
            "workspace_id",
            "profile_id",
            postgresql_where=text(INSIDE),
            sqlite_where=text(INSIDE),
        ),
        Index("ix_journey_instance_journey", "journey_id", "id"),
        Index("ix_journey_instance_person", "journey_id", "profile_id", "entry_key"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("jri"))
    workspace_id: Mapped[str] = mapped_column(PrefixedId)
    journey_id: Mapped[str] = mapped_column(ForeignKey("journey.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # No foreign key: profiles are the identity graph's (ADR 0010), and merges move people.
    profile_id: Mapped[str] = mapped_column(PrefixedId)
    entry_key: Mapped[str] = mapped_column(String(200), default="")  # "" when not keyed
    entry_message_id: Mapped[str] = mapped_column(String(200))
    current_step: Mapped[str] = mapped_column(String(64))
    visit: Mapped[int] = mapped_column(Integer, default=1)
    # While at a wait_for: the event awaited and, when the wait is keyed, the key it must carry.
    awaiting_event: Mapped[str | None] = mapped_column(String(200), nullable=True)
    awaiting_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_parked: Mapped[bool] = mapped_column(default=False)  # its journey was paused
    is_holdout: Mapped[bool] = mapped_column(default=False)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    exit_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class JourneyStepRun(Base):
    """One visit's outcome: which step, what happened, and when (the visit's own time)."""

    __tablename__ = "journey_step_run"
    __table_args__ = (
        UniqueConstraint("instance_id", "visit"),
        Index("ix_journey_step_run_journey_step", "journey_id", "step"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("jsr"))
    instance_id: Mapped[str] = mapped_column(ForeignKey("journey_instance.id", ondelete="CASCADE"))
    journey_id: Mapped[str] = mapped_column(PrefixedId)
    visit: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
