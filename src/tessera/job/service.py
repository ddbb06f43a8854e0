"""Use cases of the job system. Never commits: the caller's scope does.

Two kinds of caller use this service. Domains and operators enqueue, list, retry and cancel
jobs (``enqueue`` ... ``cancel``). The worker claims, renews, completes and fails them
(``claim`` ... ``enqueue_due_periodic``); each of those runs in the transaction the worker
opens for it, and each state change is one conditional UPDATE whose row count decides, so
any number of workers can call them at once.

``workspace_id`` arguments scope a lookup: a string limits it to that workspace (the API always
passes the caller's), and None is the operator's view of every job, system jobs included (the
CLI).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tessera.config import Settings, get_settings
from tessera.job import domain
from tessera.job.domain import ClaimedJob, FailureDecision, PeriodicSpec
from tessera.job.errors import (
    IdempotencyKeyReused,
    JobNotCancellable,
    JobNotFound,
    JobNotRetryable,
)
from tessera.job.repository import JobRepository
from tessera.kit.errors import InvalidInput
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.job import Job, JobStatus
from tessera.workspace.service import WorkspaceService


class JobService:
    def __init__(self, session: Session, settings: Settings | None = None) -> None:
        self.session = session
        self.repository = JobRepository(session)
        self._settings = settings

    @property
    def default_max_attempts(self) -> int:
        """TESSERA_JOB_MAX_ATTEMPTS: attempts a job gets when the caller names none."""
        return (self._settings or get_settings()).job_max_attempts

    # Enqueueing -------------------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        workspace_id: str | None = None,
        run_at: datetime | None = None,
        priority: int = domain.DEFAULT_PRIORITY,
        idempotency_key: str | None = None,
        max_attempts: int | None = None,
    ) -> Job:
        """Add a job to the caller's transaction: it exists if and only if that commits.

        ``run_at`` delays it (a timer); a lower ``priority`` runs first. With an
        ``idempotency_key`` that an earlier job already holds, nothing is added and that job is
        returned instead, whatever its status: a retried request or a re-run handler enqueues
        its follow-up once. On PostgreSQL the check is ``INSERT ... ON CONFLICT DO NOTHING``,
        so two transactions racing with one key also keep one job (the second waits for the
        first to commit, then finds its job).

        Refuses a malformed kind, a payload that is not a JSON object, a naive ``run_at``, a
        priority outside 0-32767, ``max_attempts`` outside 1-100, and a key already used by a
        job of another kind (that is a bug in the caller, not a retry).
        """
        values = self._new_job_values(
            kind, payload, workspace_id, run_at, priority, max_attempts, idempotency_key
        )
        for _ in range(3):  # a conflicting job can be pruned between the two statements
            if self.repository.insert_job(values):
                return self._load(values["id"])
            assert idempotency_key is not None
            existing = self.repository.job_by_key(idempotency_key)
            if existing is not None:
                if existing.kind != kind:
                    raise IdempotencyKeyReused(
                        f"idempotency key {idempotency_key!r} belongs to a {existing.kind} job",
                        field="idempotency_key",
                    )
                return existing
        raise JobNotFound(f"the job holding idempotency key {idempotency_key!r} keeps vanishing")

    def enqueue_many(
        self,
        kind: str,
        payloads: Iterable[dict[str, Any]],
        *,
        workspace_id: str | None = None,
        run_at: datetime | None = None,
        priority: int = domain.DEFAULT_PRIORITY,
        max_attempts: int | None = None,
    ) -> int:
        """Add one job of ``kind`` per payload in one statement; returns how many.

        For fan-out (push a stock change to every listing). Takes no idempotency keys: enqueue
        one fan-out job with a key and let its handler call this. Refuses what ``enqueue``
        refuses.
        """
        rows = [
            self._new_job_values(kind, payload, workspace_id, run_at, priority, max_attempts, None)
            for payload in payloads
        ]
        self.repository.insert_jobs(rows)
        return len(rows)

    def enqueue_many_once(
        self,
        kind: str,
        jobs: Iterable[tuple[dict[str, Any], str, datetime]],
        *,
        workspace_id: str | None = None,
        priority: int = domain.DEFAULT_PRIORITY,
    ) -> None:
        """Add one job of ``kind`` per (payload, idempotency key, run at), in one statement;
        a key an earlier job holds adds nothing for it (``INSERT ... ON CONFLICT DO NOTHING``,
        so racing transactions keep one job per key, as with ``enqueue``).

        For a handler that schedules many follow-ups at once (a journey's trigger job: one
        step job per person who entered), where ``enqueue``'s insert and read back per job
        were most of the cost. Unlike ``enqueue``, a key held by a job of another kind is not
        refused: use keys namespaced by their kind. Refuses what ``enqueue`` refuses.
        """
        rows = [
            self._new_job_values(kind, payload, workspace_id, run_at, priority, None, key)
            for payload, key, run_at in jobs
        ]
        self.repository.insert_jobs_once(rows)

    def _new_job_values(
        self,
        kind: str,
        payload: dict[str, Any] | None,
        workspace_id: str | None,
        run_at: datetime | None,
        priority: int,
        max_attempts: int | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        if not domain.is_valid_kind(kind):
            raise InvalidInput(
                f"job kind must be dotted lowercase past tense like 'order.placed', got {kind!r}",
                field="kind",
            )
        payload = {} if payload is None else payload
        if not isinstance(payload, dict):
            raise InvalidInput("payload must be a JSON object", field="payload")
        try:
            json.dumps(payload, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"payload is not JSON: {exc}", field="payload") from None
        if run_at is not None and run_at.tzinfo is None:
            raise InvalidInput("run_at must be timezone-aware", field="run_at")
        if priority not in domain.PRIORITY_RANGE:
            raise InvalidInput("priority must be between 0 and 32767", field="priority")
        attempts = self.default_max_attempts if max_attempts is None else max_attempts
        if attempts not in domain.MAX_ATTEMPTS_RANGE:
            raise InvalidInput("max_attempts must be between 1 and 100", field="max_attempts")
        if idempotency_key is not None and not 0 < len(idempotency_key) <= 255:
            raise InvalidInput("idempotency_key must be 1-255 characters", field="idempotency_key")
        now = utcnow()
        return {
            "id": new_id("job"),
            "workspace_id": workspace_id,
            "kind": kind,
            "payload": payload,
            "status": JobStatus.QUEUED,
            "priority": priority,
            "run_at": run_at or now,
            "attempts": 0,
            "max_attempts": attempts,
            "idempotency_key": idempotency_key,
            "created_at": now,
        }

    def _load(self, job_id: str) -> Job:
        job = self.repository.job(job_id, None)
        assert job is not None, "inserted in this transaction a statement ago"
        return job

    # Reading ----------------------------------------------------------------------------------

    def get_job(self, job_id: str, workspace_id: str | None = None) -> Job:
        """One job; refuses (not found) a job of another workspace or a system job when scoped.

        Another workspace's job is "not found", never "forbidden", so ids do not leak.
        """
        job = self.repository.job(job_id, workspace_id)
        if job is None:
            raise JobNotFound(f"no job {job_id}" + (" in this workspace" if workspace_id else ""))
        return job

    def list_jobs(
        self,
        workspace_id: str | None = None,
        status: JobStatus | None = None,
        cursor: str | None = None,
        limit: int = 50,
        kind: str | None = None,
    ) -> Page[Job]:
        """Jobs newest first, optionally of one status and one kind, one page at a time.

        Refuses a limit outside 1-200, a cursor this service did not hand out, and a kind
        that is not a job kind's shape.
        """
        limit = clamp_limit(limit)
        if kind is not None and not domain.is_valid_kind(kind):
            raise InvalidInput("kind is not a job kind (dotted lowercase)", field="kind")
        rows = self.repository.jobs(workspace_id, status, decode_cursor(cursor), limit + 1, kind)
        return page_from(rows, limit)

    def kinds(self, workspace_id: str) -> list[str]:
        """The kinds of job the workspace has, for a filter's choices."""
        return self.repository.kinds(workspace_id)

    def attempts_of(self, idempotency_key: str) -> int:
        """How many times the job holding ``idempotency_key`` has been claimed (0 when no job
        holds it). The claim commits the count before the handler runs, so a handler whose
        outside effect the database cannot see reads its own job's count: more than one means
        an earlier attempt may have done it (the message send, ADR 0022)."""
        job = self.repository.job_by_key(idempotency_key)
        return job.attempts if job is not None else 0

    def count_by_status(self, workspace_id: str) -> dict[JobStatus, int]:
        """How many of the workspace's jobs are in each status; every status is present."""
        counts = dict.fromkeys(JobStatus, 0)
        counts.update(self.repository.count_by_status(workspace_id))
        return counts

    def finished_per_hour(
        self, workspace_id: str, now: datetime, hours: int = 24
    ) -> list[domain.HourCount]:
        """Jobs that succeeded or died in each of the last ``hours`` clock hours, oldest first,
        zeros included. Counted in the database, one grouped query whatever the volume.
        Refuses a window outside 1-168 hours."""
        if not 1 <= hours <= 168:
            raise InvalidInput("hours must be between 1 and 168", field="hours")
        first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
        counted = self.repository.finished_per_hour(workspace_id, first)
        return domain.hourly_counts(now, hours, counted)

    # Operator actions -------------------------------------------------------------------------

    def retry(
        self,
        job_id: str,
        workspace_id: str | None = None,
        actor: str = "system",
        now: datetime | None = None,
    ) -> Job:
        """Queue a dead or cancelled job again, due now.

        ``attempts`` is kept: it is the job's history and part of the fence that stops a stale
        worker from writing over a newer attempt. The job gets TESSERA_JOB_MAX_ATTEMPTS more
        attempts (``max_attempts`` becomes ``attempts`` plus that); its ``last_error`` stays
        until the next attempt ends. Refuses queued, running and succeeded jobs: those are
        already going to run or have run.
        """
        job = self.get_job(job_id, workspace_id)
        if not self.repository.requeue(job.id, now or utcnow(), self.default_max_attempts):
            job = self.get_job(job_id, workspace_id)
            raise JobNotRetryable(
                f"job {job.id} is {job.status.value}; only dead or cancelled jobs can be retried"
            )
        self._audit(job, actor, "job.retried")
        return self.get_job(job_id, workspace_id)

    def cancel(
        self,
        job_id: str,
        workspace_id: str | None = None,
        actor: str = "system",
        now: datetime | None = None,
    ) -> Job:
        """Cancel a queued job so no worker runs it.

        Refuses a running job: its handler is part-way through a transaction that will commit
        or roll back on its own, and stopping it from outside could leave a half-done effect
        outside the database. Wait for it to finish or fail, then cancel the retry. Refuses
        finished jobs too.
        """
        job = self.get_job(job_id, workspace_id)
        if not self.repository.cancel(job.id, now or utcnow()):
            job = self.get_job(job_id, workspace_id)
            if job.status is JobStatus.RUNNING:
                raise JobNotCancellable(
                    f"job {job.id} is running and cannot be cancelled; "
                    "wait for it to finish or fail"
                )
            raise JobNotCancellable(
                f"job {job.id} is {job.status.value}; only queued jobs can be cancelled"
            )
        self._audit(job, actor, "job.cancelled")
        return self.get_job(job_id, workspace_id)

    def _audit(self, job: Job, actor: str, action: str) -> None:
        if job.workspace_id is not None:
            WorkspaceService(self.session).record(
                job.workspace_id, actor, action, job.id, {"kind": job.kind}
            )

    def prune_succeeded(self, finished_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` succeeded jobs that finished before ``finished_before``.

        Dead and cancelled jobs are kept: they are what an operator needs to look at.
        Returns how many were deleted.
        """
        return self.repository.delete_succeeded(finished_before, limit)

    # The worker's side ------------------------------------------------------------------------

    def claim(self, worker: str, limit: int, lease: timedelta, now: datetime) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs for ``worker``, leased until ``now + lease``.

        Each claim counts an attempt. Due: queued with ``run_at`` reached (by priority, then
        ``run_at``), or running with an expired lease, whose worker is taken to be dead. An
        expired job with no attempts left goes to the dead letter state instead.
        """
        return self.repository.claim(worker, now, now + lease, limit)

    def take_queued(
        self, kind: str, workspace_id: str, limit: int, now: datetime | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """For a handler that does the work of queued jobs together with its own (a backlog of
        stitch batches drained in one pass): up to ``limit`` due queued jobs of ``kind`` in the
        workspace, marked succeeded in the caller's transaction, as (id, payload) in run order.
        If that transaction rolls back they are queued again, untouched."""
        return self.repository.take_queued(kind, workspace_id, now or utcnow(), limit)

    def renew_leases(
        self, worker: str, job_ids: Sequence[str], lease: timedelta, now: datetime
    ) -> int:
        """Extend ``worker``'s leases on the jobs it is running; returns how many it still holds."""
        if not job_ids:
            return 0
        return self.repository.extend_leases(job_ids, worker, now + lease)

    def complete(self, job: ClaimedJob, worker: str, now: datetime) -> bool:
        """Mark a claimed job succeeded, in the transaction that ran its handler.

        Refuses (returns False) when ``worker`` no longer holds this attempt: its lease expired
        and another worker claimed the job again. The caller must then roll back, so the stale
        run's writes vanish with it and only the newer attempt's count.
        """
        return self.repository.complete(job.id, worker, job.attempts, now)

    def complete_and_commit(self, job: ClaimedJob, worker: str, now: datetime) -> bool:
        """``complete``, then commit the caller's transaction (the handler's writes with it):
        on PostgreSQL both in one round trip, which is a third of a short job's.

        False when ``worker`` no longer holds this attempt; nothing is committed then and the
        caller must roll back. The session's pending objects are flushed first. A session
        bound to a connection (a test's outer transaction) takes the two-step way.
        """
        self.session.flush()
        own = isinstance(self.session.get_bind(), Engine)  # not a test's outer transaction
        if self.repository.dialect == "postgresql" and own:
            return self.repository.complete_and_commit(job.id, worker, job.attempts, now)
        if not self.repository.complete(job.id, worker, job.attempts, now):
            return False
        self.session.commit()
        return True

    def complete_batch(self, jobs: Sequence[ClaimedJob], worker: str, now: datetime) -> bool:
        """Mark the claimed jobs of a batch succeeded with one statement, in the transaction
        that ran their handlers.

        Refuses (returns False) when ``worker`` no longer holds every one of these attempts:
        the transaction then holds a stale run's writes and the caller must roll it back.
        """
        if not jobs:
            return True
        return self.repository.complete_all([(job.id, job.attempts) for job in jobs], worker, now)

    def fail(
        self,
        job: ClaimedJob,
        worker: str,
        error: str,
        now: datetime,
        random: Callable[[], float],
    ) -> FailureDecision | None:
        """Record a failed attempt: retry later with backoff, or dead after the last attempt.

        Returns what was decided, or None when ``worker`` no longer holds this attempt (then
        the newer attempt's outcome stands and this failure is not recorded).
        """
        decision = domain.decide_after_failure(job.attempts, job.max_attempts, now, random)
        held = self.repository.fail(
            job.id, worker, job.attempts, decision.status, decision.run_at, error, now
        )
        return decision if held else None

    def release(self, jobs: Iterable[ClaimedJob], worker: str) -> int:
        """Give back claimed jobs that never started (a worker shutting down); returns how many.

        Their attempt is not counted, and they are due again at once for any worker.
        """
        return sum(self.repository.release(job.id, worker, job.attempts) for job in jobs)

    def enqueue_due_periodic(self, specs: Sequence[PeriodicSpec], now: datetime) -> list[Job]:
        """Enqueue each periodic job whose slot has come, once per slot however many workers ask.

        Each spec's ``periodic_run`` row holds its next due time. A worker that finds it due
        moves it on with one conditional UPDATE (``WHERE next_run_at = <the value it saw>``);
        only the worker whose UPDATE changed the row enqueues, and the job's idempotency key
        ``periodic:<name>:<slot>`` would stop a second one anyway. Slots missed while no worker
        ran are not made up: the current slot runs once.
        """
        if not specs:
            return []
        seen = self.repository.periodic_runs([spec.name for spec in specs])
        enqueued: list[Job] = []
        for spec in specs:
            slot = domain.periodic_slot(now, spec.every)
            next_run_at = seen.get(spec.name)
            if next_run_at is None:
                self.repository.start_periodic_run(spec.name, slot)
                next_run_at = self.repository.periodic_runs([spec.name])[spec.name]
            if next_run_at > now:
                continue
            if not self.repository.advance_periodic_run(
                spec.name, next_run_at, slot + spec.every, now
            ):
                continue
            enqueued.append(
                self.enqueue(
                    spec.name,
                    {"slot": slot.isoformat()},
                    priority=spec.priority,
                    idempotency_key=domain.periodic_idempotency_key(spec.name, slot),
                )
            )
        return enqueued
