"""Durable jobs and timers: rows in the application database (transactional outbox).

A job is enqueued in the same transaction as the change that causes it, so it exists if and only
if that change committed. ``idempotency_key`` is unique: enqueueing the same key twice keeps one.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for run_at (includes retries after a failure)
    RUNNING = "running"  # claimed by a worker holding a lease until locked_until
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # failed max_attempts times; last_error kept
    CANCELLED = "cancelled"


class Job(Base):
    __tablename__ = "job"
    # Partial indexes keep the hot paths small however many finished jobs the table holds:
    # claiming reads queued rows in (priority, run_at) order and running rows by lease expiry;
    # pruning reads succeeded rows by finish time.
    __table_args__ = (
        Index(
            "ix_job_queued",
            "priority",
            "run_at",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
        Index(
            "ix_job_running_lease",
            "locked_until",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        Index(
            "ix_job_succeeded_finished",
            "finished_at",
            postgresql_where=text("status = 'succeeded'"),
            sqlite_where=text("status = 'succeeded'"),
        ),
        Index("ix_job_workspace", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("job"))
    # No foreign key (ADR 0011): every use case writes its jobs, and a key check locks the
    # workspace's row KEY SHARE in every one of its concurrent transactions.
    workspace_id: Mapped[str | None] = mapped_column(PrefixedId, nullable=True)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    status: Mapped[JobStatus] = mapped_column(StrEnumColumn(JobStatus), default=JobStatus.QUEUED)
    priority: Mapped[int] = mapped_column(SmallInteger, default=100)  # lower runs first
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PeriodicRun(Base):
    """The next due time of each periodic job; advanced by one conditional UPDATE per slot."""

    __tablename__ = "periodic_run"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
