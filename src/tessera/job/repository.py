"""Every SQL statement of the job domain.

State changes are single conditional statements whose affected row count decides: a claim
takes only rows still claimable, and completion, failure and release happen only while the
row is still ``running`` under the same ``locked_by`` and ``attempts`` (the fence). Statuses
are written into the SQL as literals, not bound parameters, so that SQLite and PostgreSQL
(also with a prepared, generic plan) can use the partial indexes on ``status``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Integer,
    Result,
    delete,
    func,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from tessera.db.base import RepositoryBase
from tessera.job.domain import ClaimedJob
from tessera.models.job import Job, JobStatus, PeriodicRun

LEASE_EXPIRED_ERROR = (
    "LeaseExpired: the worker running attempt {attempts} stopped renewing its lease "
    "(it died, hung or lost the database); no attempts are left"
)
_NO_SYNC = {"synchronize_session": False}


def _is(status: JobStatus) -> ColumnElement[bool]:
    return Job.status == literal_column(f"'{status.value}'")


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


_JOB_TABLE = cast(sa.Table, Job.__table__)
_table = _JOB_TABLE.c
# A job's completion, built once: run in every job's transaction, it is compiled and cached
# once, and runs on the session's connection without the ORM's per-statement bookkeeping
# (about a third of a no-op job's Python time).
_COMPLETE = (
    update(_JOB_TABLE)
    .where(
        _table.id == sa.bindparam("b_id"),
        _table.locked_by == sa.bindparam("b_worker"),
        _table.attempts == sa.bindparam("b_attempts"),
        _table.status == literal_column(f"'{JobStatus.RUNNING.value}'"),
    )
    .values(
        status=literal_column(f"'{JobStatus.SUCCEEDED.value}'"),
        finished_at=sa.bindparam("b_now"),
        locked_until=None,
    )
)


def _claimed(rows: Sequence[Any]) -> list[ClaimedJob]:
    rows = sorted(rows, key=lambda row: (row.priority, row.run_at, row.id))
    return [
        ClaimedJob(
            id=row.id,
            kind=row.kind,
            payload=dict(row.payload or {}),
            attempts=row.attempts,
            max_attempts=row.max_attempts,
            workspace_id=row.workspace_id,
        )
        for row in rows
    ]


# The claim on PostgreSQL, one statement. ``expired`` locks running rows whose lease ran out
# (their worker died); ``dead`` sends those with no attempts left to the dead letter state. The
# due queued rows are read per priority: ``priorities`` walks the distinct priorities of queued
# rows down the (priority, run_at) index, one descent each, and ``queued`` takes each one's
# earliest due rows by a range scan of that index. Ordering the whole index by (priority,
# run_at) and filtering ``run_at <= now`` instead reads every waiting row of a priority before
# reaching the next one: with a million timers waiting at priority 100, 60 ms for each claim
# that finds nothing due at 100 (every idle poll; every claim of a priority-200 job). Rows
# locked here but not taken are free again when the claim commits.
CLAIM_IN_ONE = """
WITH RECURSIVE expired AS MATERIALIZED (
    SELECT id, attempts, max_attempts FROM job
    WHERE status = 'running' AND locked_until < :now
    ORDER BY locked_until LIMIT :limit FOR UPDATE SKIP LOCKED
), dead AS (
    UPDATE job SET status = 'dead', finished_at = :now, locked_until = NULL,
        last_error = replace(CAST(:lease_error AS text), '{attempts}', job.attempts::text)
    FROM expired WHERE job.id = expired.id AND expired.attempts >= expired.max_attempts
), priorities AS (
    (SELECT priority FROM job WHERE status = 'queued' ORDER BY priority LIMIT 1)
    UNION ALL
    SELECT (SELECT job.priority FROM job
            WHERE job.status = 'queued' AND job.priority > priorities.priority
            ORDER BY job.priority LIMIT 1)
    FROM priorities WHERE priorities.priority IS NOT NULL
), queued AS MATERIALIZED (
    SELECT due.id, due.priority, due.run_at FROM priorities
    CROSS JOIN LATERAL (
        SELECT id, priority, run_at FROM job
        WHERE status = 'queued' AND priority = priorities.priority AND run_at <= :now
        ORDER BY run_at LIMIT :limit FOR UPDATE SKIP LOCKED
    ) AS due
), chosen AS (
    SELECT id FROM (
        SELECT id, 0 AS turn, NULL::smallint AS priority, NULL::timestamptz AS run_at
        FROM expired WHERE attempts < max_attempts
        UNION ALL
        SELECT id, 1, priority, run_at FROM queued
    ) AS candidates
    ORDER BY turn, priority, run_at LIMIT :limit
)
UPDATE job SET status = 'running', locked_by = :worker, locked_until = :locked_until,
    attempts = job.attempts + 1, started_at = :now
FROM chosen WHERE job.id = chosen.id
RETURNING job.id, job.kind, job.payload, job.attempts, job.max_attempts, job.workspace_id,
    job.priority, job.run_at
"""


# A job's completion that fails its transaction when the fence does not hold (division by
# zero: no row matched), so that the COMMIT can follow it in the same round trip
# (``complete_and_commit``): a lost lease turns the COMMIT into a rollback.
COMPLETE_OR_FAIL = """
WITH done AS (
    UPDATE job SET status = 'succeeded', finished_at = %(now)s, locked_until = NULL
    WHERE id = %(id)s AND locked_by = %(worker)s AND attempts = %(attempts)s
        AND status = 'running'
    RETURNING 1
)
SELECT 1 / (SELECT count(*) FROM done)
"""


class JobRepository(RepositoryBase):
    # Writing jobs -----------------------------------------------------------------------------

    def insert_job(self, values: Mapping[str, Any]) -> bool:
        """Insert one job; with an idempotency key already taken, insert nothing (False)."""
        if values.get("idempotency_key") is None:
            self.session.execute(self._insert().values(**values))
            return True
        statement = (
            self._insert()
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Job.idempotency_key])
        )
        return _rowcount(self.session.execute(statement)) == 1

    def insert_jobs(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many jobs in one executemany (no idempotency keys)."""
        if rows:
            self.session.execute(self._insert(), list(rows))

    def insert_jobs_once(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many keyed jobs in one executemany; rows whose key is taken are skipped."""
        if rows:
            statement = self._insert().on_conflict_do_nothing(index_elements=[Job.idempotency_key])
            self.session.execute(statement, list(rows))

    def _insert(self) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(Job)
        return sqlite.insert(Job)

    # Reading jobs -----------------------------------------------------------------------------

    def job(self, job_id: str, workspace_id: str | None) -> Job | None:
        """A job by id, fresh from the database; within one workspace unless None."""
        query = select(Job).where(Job.id == job_id)
        if workspace_id is not None:
            query = query.where(Job.workspace_id == workspace_id)
        return self.session.scalar(query.execution_options(populate_existing=True))

    def job_by_key(self, idempotency_key: str) -> Job | None:
        return self.session.scalar(
            select(Job)
            .where(Job.idempotency_key == idempotency_key)
            .execution_options(populate_existing=True)
        )

    def jobs(
        self,
        workspace_id: str | None,
        status: JobStatus | None,
        after_id: str | None,
        limit: int,
        kind: str | None = None,
    ) -> Sequence[Job]:
        """Jobs newest first; within one workspace unless None (then all, system jobs too)."""
        query = select(Job)
        if workspace_id is not None:
            query = query.where(Job.workspace_id == workspace_id)
        if status is not None:
            query = query.where(_is(status))
        if kind is not None:
            query = query.where(Job.kind == kind)
        if after_id:
            query = query.where(Job.id < after_id)
        return self.session.scalars(
            query.order_by(Job.id.desc()).limit(limit).execution_options(populate_existing=True)
        ).all()

    def kinds(self, workspace_id: str) -> list[str]:
        rows = self.session.scalars(
            select(Job.kind).where(Job.workspace_id == workspace_id).distinct().order_by(Job.kind)
        )
        return list(rows)

    def count_by_status(self, workspace_id: str) -> dict[JobStatus, int]:
        rows = self.session.execute(
            select(Job.status, func.count())
            .where(Job.workspace_id == workspace_id)
            .group_by(Job.status)
        ).all()
        return {JobStatus(status): int(count) for status, count in rows}

    def finished_per_hour(
        self, workspace_id: str, since: datetime
    ) -> dict[tuple[int, JobStatus], int]:
        """Succeeded and dead jobs finished since ``since``, counted per hour since 1970."""
        hour = self._hour_number(Job.finished_at)
        rows = self.session.execute(
            select(hour, Job.status, func.count())
            .where(
                Job.workspace_id == workspace_id,
                Job.status.in_([JobStatus.SUCCEEDED, JobStatus.DEAD]),
                Job.finished_at >= since,
            )
            .group_by(hour, Job.status)
        ).all()
        return {(int(number), JobStatus(status)): int(count) for number, status, count in rows}

    def _hour_number(self, column: Any) -> ColumnElement[int]:
        if self.dialect == "sqlite":  # UTC wall time as text (see tessera.db.types.UTCDateTime)
            seconds: ColumnElement[int] = sa.cast(func.strftime("%s", column), Integer)
            return seconds // 3600
        return sa.cast(func.floor(func.extract("epoch", column) / 3600), Integer)

    # Claiming and leases ----------------------------------------------------------------------

    def claim(
        self, worker: str, now: datetime, locked_until: datetime, limit: int
    ) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs for ``worker``: expired leases first, then queued rows.

        Due means queued with ``run_at <= now`` (in priority, then ``run_at`` order), or running
        with a lease that expired (its worker died). An expired job with no attempts left goes
        to the dead letter state instead. On PostgreSQL rows locked by another worker's claim
        are skipped (``FOR UPDATE SKIP LOCKED``), so concurrent claims never wait or overlap;
        SQLite has one writer at a time (``BEGIN IMMEDIATE``) and runs the steps one by one;
        PostgreSQL runs them as one statement (``_claim_in_one``).
        """
        if self.dialect == "postgresql":
            return self._claim_in_one(worker, now, locked_until, limit)
        claimed: list[ClaimedJob] = []
        expired = self.session.execute(
            select(Job.id, Job.attempts, Job.max_attempts)
            .where(_is(JobStatus.RUNNING), Job.locked_until < now)
            .order_by(Job.locked_until)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        exhausted = [row for row in expired if row.attempts >= row.max_attempts]
        for row in exhausted:
            self.session.execute(
                update(Job)
                .where(Job.id == row.id, _is(JobStatus.RUNNING))
                .values(
                    status=JobStatus.DEAD,
                    finished_at=now,
                    locked_until=None,
                    last_error=LEASE_EXPIRED_ERROR.format(attempts=row.attempts),
                ),
                execution_options=_NO_SYNC,
            )
        again = [row.id for row in expired if row.attempts < row.max_attempts]
        if again:
            claimed += self._take(
                Job.id.in_(again) & _is(JobStatus.RUNNING), worker, now, locked_until
            )
        if len(claimed) < limit:
            queued = (
                select(Job.id)
                .where(_is(JobStatus.QUEUED), Job.run_at <= now)
                .order_by(Job.priority, Job.run_at)
                .limit(limit - len(claimed))
                .with_for_update(skip_locked=True)
            )
            claimed += self._take(Job.id.in_(queued.scalar_subquery()), worker, now, locked_until)
        return claimed

    def _claim_in_one(
        self, worker: str, now: datetime, locked_until: datetime, limit: int
    ) -> list[ClaimedJob]:
        """``claim`` in one statement (``CLAIM_IN_ONE``): expired leases first, then due
        queued rows in priority, then ``run_at`` order, up to ``limit``."""
        rows = self.session.execute(
            text(CLAIM_IN_ONE),
            {
                "now": now,
                "limit": limit,
                "worker": worker,
                "locked_until": locked_until,
                "lease_error": LEASE_EXPIRED_ERROR,
            },
        ).all()
        return _claimed(rows)

    def _take(
        self,
        which: ColumnElement[bool],
        worker: str,
        now: datetime,
        locked_until: datetime,
    ) -> list[ClaimedJob]:
        rows = self.session.execute(
            update(Job)
            .where(which)
            .values(
                status=JobStatus.RUNNING,
                locked_by=worker,
                locked_until=locked_until,
                attempts=Job.attempts + 1,
                started_at=now,
            )
            .returning(
                Job.id,
                Job.kind,
                Job.payload,
                Job.attempts,
                Job.max_attempts,
                Job.workspace_id,
                Job.priority,
                Job.run_at,
            ),
            execution_options=_NO_SYNC,
        ).all()
        return _claimed(rows)

    def take_queued(
        self, kind: str, workspace_id: str, now: datetime, limit: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """Mark up to ``limit`` due queued jobs of ``kind`` in the workspace succeeded, in the
        caller's transaction, and return (id, payload) in the order they would have run.
        Jobs another worker is claiming are skipped (``SKIP LOCKED`` on PostgreSQL)."""
        due = (
            select(Job.id)
            .where(
                _is(JobStatus.QUEUED),
                Job.kind == kind,
                Job.workspace_id == workspace_id,
                Job.run_at <= now,
            )
            .order_by(Job.priority, Job.run_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = self.session.execute(
            update(Job)
            .where(Job.id.in_(due.scalar_subquery()))
            .values(
                status=JobStatus.SUCCEEDED,
                attempts=Job.attempts + 1,
                started_at=now,
                finished_at=now,
                locked_until=None,
            )
            .returning(Job.id, Job.payload, Job.priority, Job.run_at),
            execution_options=_NO_SYNC,
        ).all()
        rows = sorted(rows, key=lambda row: (row.priority, row.run_at, row.id))
        return [(row.id, dict(row.payload or {})) for row in rows]

    def extend_leases(self, job_ids: Sequence[str], worker: str, locked_until: datetime) -> int:
        """Renew ``worker``'s leases on these jobs; rows being written right now are skipped.

        A row locked by its own completion is about to leave ``running`` and needs no renewal,
        so the heartbeat never waits on a job's transaction (and never deadlocks with one).
        """
        mine = (
            select(Job.id)
            .where(Job.id.in_(sorted(job_ids)), Job.locked_by == worker, _is(JobStatus.RUNNING))
            .order_by(Job.id)
            .with_for_update(skip_locked=True)
        )
        result = self.session.execute(
            update(Job).where(Job.id.in_(mine.scalar_subquery())).values(locked_until=locked_until),
            execution_options=_NO_SYNC,
        )
        return _rowcount(result)

    def _fenced(self, job_id: str, worker: str, attempts: int) -> ColumnElement[bool]:
        return (
            (Job.id == job_id)
            & (Job.locked_by == worker)
            & (Job.attempts == attempts)
            & _is(JobStatus.RUNNING)
        )

    def complete(self, job_id: str, worker: str, attempts: int, now: datetime) -> bool:
        """Mark the job succeeded if ``worker`` still holds this attempt."""
        result = self.session.connection().execute(
            _COMPLETE, {"b_id": job_id, "b_worker": worker, "b_attempts": attempts, "b_now": now}
        )
        return result.rowcount == 1

    def complete_and_commit(self, job_id: str, worker: str, attempts: int, now: datetime) -> bool:
        """PostgreSQL: ``complete`` and the transaction's COMMIT sent together (libpq's
        pipeline mode), one round trip instead of two. When ``worker`` no longer holds the
        attempt, the statement fails, the server skips the COMMIT, and this returns False with
        the transaction aborted (the caller rolls it back)."""
        driver: Any = self.session.connection().connection.driver_connection
        params = {"id": job_id, "worker": worker, "attempts": attempts, "now": now}
        try:
            with driver.pipeline(), driver.cursor() as cursor:
                cursor.execute(COMPLETE_OR_FAIL, params)
                driver.commit()
        except psycopg.errors.DivisionByZero:
            return False
        return True

    def complete_all(self, jobs: Sequence[tuple[str, int]], worker: str, now: datetime) -> bool:
        """Mark every (id, attempts) succeeded in one statement if ``worker`` still holds each
        of these attempts; False when it holds fewer (then the caller must roll back)."""
        result = self.session.execute(
            update(Job)
            .where(
                Job.locked_by == worker,
                _is(JobStatus.RUNNING),
                tuple_(Job.id, Job.attempts).in_(list(jobs)),
            )
            .values(status=JobStatus.SUCCEEDED, finished_at=now, locked_until=None),
            execution_options=_NO_SYNC,
        )
        return _rowcount(result) == len(jobs)

    def fail(
        self,
        job_id: str,
        worker: str,
        attempts: int,
        status: JobStatus,
        run_at: datetime | None,
        error: str,
        now: datetime,
    ) -> bool:
        """Record a failed attempt (queued for a retry, or dead) if ``worker`` still holds it."""
        values: dict[str, Any] = {"status": status, "last_error": error, "locked_until": None}
        if status is JobStatus.DEAD:
            values["finished_at"] = now
        else:
            values["run_at"] = run_at
        result = self.session.execute(
            update(Job).where(self._fenced(job_id, worker, attempts)).values(**values),
            execution_options=_NO_SYNC,
        )
        return _rowcount(result) == 1

    def release(self, job_id: str, worker: str, attempts: int) -> bool:
        """Give back a claimed job that never started; its attempt is not counted."""
        result = self.session.execute(
            update(Job)
            .where(self._fenced(job_id, worker, attempts))
            .values(status=JobStatus.QUEUED, attempts=Job.attempts - 1, locked_until=None),
            execution_options=_NO_SYNC,
        )
        return _rowcount(result) == 1

    # Operator actions -------------------------------------------------------------------------

    def cancel(self, job_id: str, now: datetime) -> bool:
        """Cancel the job if it is still queued."""
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, _is(JobStatus.QUEUED))
            .values(status=JobStatus.CANCELLED, finished_at=now),
            execution_options=_NO_SYNC,
        )
        return _rowcount(result) == 1

    def requeue(self, job_id: str, now: datetime, more_attempts: int) -> bool:
        """Queue a dead or cancelled job again, due now, allowing ``more_attempts`` more runs."""
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_([JobStatus.DEAD, JobStatus.CANCELLED]))
            .values(
                status=JobStatus.QUEUED,
                run_at=now,
                max_attempts=Job.attempts + more_attempts,
                finished_at=None,
                locked_until=None,
            ),
            execution_options=_NO_SYNC,
        )
        return _rowcount(result) == 1

    def delete_succeeded(self, finished_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` succeeded jobs that finished before ``finished_before``."""
        oldest = (
            select(Job.id)
            .where(_is(JobStatus.SUCCEEDED), Job.finished_at < finished_before)
            .order_by(Job.finished_at)
            .limit(limit)
        )
        result = self.session.execute(
            delete(Job).where(Job.id.in_(oldest.scalar_subquery())),
            execution_options=_NO_SYNC,
        )
        return _rowcount(result)

    # Periodic jobs ----------------------------------------------------------------------------

    def periodic_runs(self, names: Sequence[str]) -> dict[str, datetime]:
        rows = self.session.execute(
            select(PeriodicRun.name, PeriodicRun.next_run_at).where(PeriodicRun.name.in_(names))
        ).all()
        return {row.name: row.next_run_at for row in rows}

    def start_periodic_run(self, name: str, next_run_at: datetime) -> None:
        """Create the periodic row unless another worker already did."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        self.session.execute(
            insert(PeriodicRun)
            .values(name=name, next_run_at=next_run_at)
            .on_conflict_do_nothing(index_elements=[PeriodicRun.name])
        )

    def advance_periodic_run(
        self, name: str, seen: datetime, next_run_at: datetime, now: datetime
    ) -> bool:
        """Move ``next_run_at`` on from the value this worker saw; False if another moved it."""
        result = self.session.execute(
            update(PeriodicRun)
            .where(PeriodicRun.name == name, PeriodicRun.next_run_at == seen)
            .values(next_run_at=next_run_at, last_enqueued_at=now),
            execution_options=_NO_SYNC,
        )
        return _rowcount(result) == 1
