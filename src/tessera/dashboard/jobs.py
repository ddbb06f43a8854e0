"""Read-only views of a workspace's background jobs, for the overview and Settings → Jobs.

The list of jobs comes from ``tessera.job``'s service. The two aggregates the overview needs
(jobs per status, jobs finished per hour) are not offered by it yet, so these two grouped
SELECTs on the ``job`` table live here, in one module, until ``JobService`` has them; then the
pages call it and this file shrinks to nothing. Nothing here writes.

Only the workspace's own jobs are shown; system jobs (no workspace) belong to no brand's page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tessera.job.service import JobService
from tessera.models.job import Job, JobStatus

FINISHED = (JobStatus.SUCCEEDED, JobStatus.DEAD)


@dataclass(frozen=True)
class HourCount:
    hour: datetime  # start of the hour, UTC
    status: JobStatus
    count: int


def counts_by_status(session: Session, workspace_id: str) -> dict[JobStatus, int]:
    """How many of the workspace's jobs are in each status (every status present, zeros too)."""
    rows = session.execute(
        select(Job.status, func.count())
        .where(Job.workspace_id == workspace_id)
        .group_by(Job.status)
    ).all()
    counts = dict.fromkeys(JobStatus, 0)
    counts.update({JobStatus(status): int(count) for status, count in rows})
    return counts


def recent(
    session: Session, workspace_id: str, status: JobStatus | None = None, limit: int = 100
) -> Sequence[Job]:
    """The workspace's newest jobs, optionally of one status (through the job service)."""
    return JobService(session).list_jobs(workspace_id, status, limit=limit).items


def finished_per_hour(
    session: Session, workspace_id: str, now: datetime, hours: int = 24
) -> list[HourCount]:
    """Jobs that succeeded or died in each of the last ``hours`` clock hours, oldest first.

    Every hour and both statuses are present, with zero counts, so a chart's axis always spans
    the whole window. Hours are counted in the database (one grouped query, whatever the volume).
    """
    current = now.replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    hour_number = _hour_number(session)
    rows = session.execute(
        select(hour_number, Job.status, func.count())
        .where(
            Job.workspace_id == workspace_id,
            Job.status.in_(FINISHED),
            Job.finished_at >= first,
        )
        .group_by(hour_number, Job.status)
    ).all()
    counted = {(int(number), JobStatus(status)): int(count) for number, status, count in rows}
    buckets = []
    for offset in range(hours):
        hour = first + timedelta(hours=offset)
        number = int(hour.timestamp()) // 3600
        for status in FINISHED:
            buckets.append(HourCount(hour, status, counted.get((number, status), 0)))
    return buckets


def _hour_number(session: Session) -> ColumnElement[int]:
    """Hours since the Unix epoch of ``finished_at``, on either backend, whatever its zone."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite stores UTC wall time as text (see tessera.db.types.UTCDateTime).
        seconds: ColumnElement[int] = cast(func.strftime("%s", Job.finished_at), Integer)
        return seconds // 3600
    return cast(func.floor(func.extract("epoch", Job.finished_at) / 3600), Integer)
