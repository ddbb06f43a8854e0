"""The worker: claims due jobs in batches, runs each handler in its own transaction (or a batch
of one batchable kind in one), keeps its leases alive, enqueues periodic jobs, and stops cleanly.

Transactions, and why:

- A claim is one short transaction that commits before any handler runs, so other workers see
  the rows as taken (and, on PostgreSQL, its row locks are held for milliseconds, not for as
  long as a handler runs).
- Each job runs in one ``session_scope``: the handler's writes and the job's completion commit
  together. Completion is fenced (``locked_by`` and ``attempts`` must still match); if this
  worker's lease expired and another worker claimed the job again, the fence fails, the
  transaction rolls back, and the stale run's writes vanish with it. So for writes that stay
  in the database, a job's effect is applied exactly once. The price: a handler's transaction
  stays open while it runs, so handlers should do slow outside calls (HTTP, SMTP) quickly or
  split the job in two.
- A failure rolls the handler's transaction back and records the failure in a new one (retry
  with backoff, or dead).
- Neighbouring claimed jobs of a kind registered ``batchable`` run in one transaction and
  complete with one fenced UPDATE: the round trips and the commit, most of a short job's cost,
  are paid once per batch. A batch in which a handler fails, or that cannot commit, keeps
  nothing, and its jobs run again one by one as above; so each job's database effect still
  commits exactly once, and a failure retries only the job that failed.
- The loop claims the next batch while the threads run the current ones (at most one waiting
  batch per thread), so a thread that finishes finds work without waiting for a round trip.
  A claim that came back full of batchable work makes the next one larger (up to
  ``CLAIM_GROWTH`` times the batch size); any other claim brings it back to the batch size,
  so slow single jobs are not hoarded by one worker while another idles.
- A heartbeat thread renews the leases of the jobs this worker holds every third of a lease,
  in its own transaction. If the process dies, the leases run out and any worker claims the
  jobs again (counting another attempt).

On SQLite, transactions take the database's single write lock when they begin (see
``tessera.db.engine``), so jobs run one at a time whatever ``concurrency`` says.
"""

from __future__ import annotations

import enum
import os
import random as random_module
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from queue import Empty, SimpleQueue
from typing import TypeVar

import structlog
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings, get_settings
from tessera.db.engine import session_scope
from tessera.job.domain import (
    ClaimedJob,
    describe_error,
    group_batches,
    next_claim_limit,
)
from tessera.job.registry import Registry
from tessera.job.registry import registry as default_registry
from tessera.job.service import JobService
from tessera.kit.logging import get_logger
from tessera.kit.time import utcnow
from tessera.models.job import JobStatus

log = get_logger("tessera.worker")
T = TypeVar("T")
PERIODIC_TICK_SECONDS = 1.0
CLAIM_GROWTH = 10  # the largest claim, as a multiple of TESSERA_WORKER_BATCH_SIZE


class JobOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"  # failed; queued again with backoff
    DEAD = "dead"  # failed its last attempt
    LOST = "lost"  # this worker no longer held the job (lease expired), or the database failed


@dataclass(frozen=True, slots=True)
class Execution:
    """One attempt this worker made, and how it ended."""

    job_id: str
    kind: str
    attempt: int
    outcome: JobOutcome


class LeaseLost(Exception):
    """The job was claimed again by another worker while this one ran it."""


class NoHandler(Exception):
    """No handler for the job's kind is registered in this worker process."""


def worker_name() -> str:
    """Unique per worker instance: host, process id and a random suffix."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


class Worker:
    """Runs jobs from the database; usable in-process (``run_until_idle``) or as a service.

    ``clock`` and ``random`` are injectable so tests can move time and fix the jitter.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings | None = None,
        *,
        registry: Registry | None = None,
        concurrency: int = 1,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        random: Callable[[], float] | None = None,
        run_periodic: bool = True,
        shutdown_grace: float = 25.0,
    ) -> None:
        self.settings = settings or get_settings()
        self.session_factory = session_factory
        self.registry = registry or default_registry
        self.name = (name or worker_name())[:120]
        self.clock = clock
        self.random = random or random_module.Random().random
        self.run_periodic = run_periodic
        self.shutdown_grace = shutdown_grace
        self.lease = timedelta(seconds=self.settings.job_lease_seconds)
        self.poll_seconds = self.settings.worker_poll_seconds
        self.batch_size = self.settings.worker_batch_size
        bind = session_factory.kw.get("bind")
        is_sqlite = bind is not None and bind.dialect.name == "sqlite"
        self.concurrency = 1 if is_sqlite else max(1, concurrency)
        self._active: dict[str, ClaimedJob] = {}
        self._batches = 0  # claimed batches queued or running in ``run``
        self._lock = threading.Lock()
        self._freed = threading.Event()
        self._log = log.bind(worker=self.name)

    # The steps, each usable on its own -------------------------------------------------------

    def claim(self, limit: int | None = None) -> list[ClaimedJob]:
        """Claim up to ``limit`` (default: the batch size) due jobs and hold their leases."""
        with session_scope(self.session_factory) as session:
            jobs = JobService(session, self.settings).claim(
                self.name, limit or self.batch_size, self.lease, self.clock()
            )
        with self._lock:
            self._active.update((job.id, job) for job in jobs)
        return jobs

    def execute(self, job: ClaimedJob) -> Execution:
        """Run one claimed job's handler and record the outcome; never raises for the job."""
        with structlog.contextvars.bound_contextvars(
            job_id=job.id, job_kind=job.kind, attempt=job.attempts
        ):
            started = time.perf_counter()
            try:
                outcome = self._run_handler(job)
            except LeaseLost:
                self._log.warning("job_lease_lost")
                outcome = JobOutcome.LOST
            except Exception as exc:
                outcome = self._record_failure(job, exc)
            finally:
                with self._lock:
                    self._active.pop(job.id, None)
            if outcome is JobOutcome.SUCCEEDED:
                duration_ms = round((time.perf_counter() - started) * 1000, 2)
                self._log.info("job_succeeded", duration_ms=duration_ms)
        return Execution(job.id, job.kind, job.attempts, outcome)

    def _run_handler(self, job: ClaimedJob) -> JobOutcome:
        handler = self.registry.handler(job.kind)
        with session_scope(self.session_factory) as session:
            if handler is None:
                raise NoHandler(f"no handler for {job.kind!r} is registered in this worker")
            handler(session, job.payload)
            jobs = JobService(session, self.settings)
            if not jobs.complete_and_commit(job, self.name, self.clock()):
                raise LeaseLost(f"{job.id} was claimed again by another worker")
        return JobOutcome.SUCCEEDED

    def _record_failure(self, job: ClaimedJob, error: Exception) -> JobOutcome:
        text = describe_error(error)
        try:
            with session_scope(self.session_factory) as session:
                decision = JobService(session, self.settings).fail(
                    job, self.name, text, self.clock(), self.random
                )
        except Exception:
            self._log.exception("job_failure_not_recorded", error=text)
            return JobOutcome.LOST
        if decision is None:
            self._log.warning("job_lease_lost", error=text)
            return JobOutcome.LOST
        if decision.status is JobStatus.DEAD:
            self._log.error("job_dead", error=text)
            return JobOutcome.DEAD
        assert decision.run_at is not None
        self._log.warning("job_failed", error=text, retry_at=decision.run_at.isoformat())
        return JobOutcome.RETRYING

    def execute_batch(self, jobs: Sequence[ClaimedJob]) -> list[Execution]:
        """Run claimed jobs of one batchable kind in one transaction and record every outcome;
        never raises for the jobs.

        The handlers run one after another and one fenced UPDATE marks them all succeeded
        before the commit. If a handler raises, or the batch cannot commit (this worker lost
        a job's lease, the database failed), none of it is kept and every job runs again
        alone through ``execute``: the failure is then recorded against the job that failed,
        only it retries, and the others commit. Jobs that ran before the failure run twice,
        which handlers allow; their database writes still commit once.
        """
        if len(jobs) == 1:
            return [self.execute(jobs[0])]
        started = time.perf_counter()
        try:
            self._run_batch(jobs)
        except Exception as exc:
            self._log.warning(
                "job_batch_split", job_kind=jobs[0].kind, jobs=len(jobs), error=describe_error(exc)
            )
            return [self.execute(job) for job in jobs]
        finally:
            with self._lock:
                for job in jobs:
                    self._active.pop(job.id, None)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        self._log.info(
            "job_batch_succeeded", job_kind=jobs[0].kind, jobs=len(jobs), duration_ms=duration_ms
        )
        return [Execution(job.id, job.kind, job.attempts, JobOutcome.SUCCEEDED) for job in jobs]

    def _run_batch(self, jobs: Sequence[ClaimedJob]) -> None:
        # No SAVEPOINT per job: it would keep the others' work when one fails, but it costs
        # two more round trips for every job that writes, and about 0.1 ms of session
        # bookkeeping for every job even when it does not (measured on the bench's 2-core
        # machine), while failures are rare and a failed batch simply runs again job by job.
        handler = self.registry.handler(jobs[0].kind)
        if handler is None:
            raise NoHandler(f"no handler for {jobs[0].kind!r} is registered in this worker")
        with session_scope(self.session_factory) as session:
            for job in jobs:
                with structlog.contextvars.bound_contextvars(
                    job_id=job.id, job_kind=job.kind, attempt=job.attempts
                ):
                    handler(session, job.payload)
            if not JobService(session, self.settings).complete_batch(jobs, self.name, self.clock()):
                raise LeaseLost("a job of the batch was claimed again by another worker")

    def tick(self) -> list[str]:
        """Enqueue the periodic jobs whose slot has come; returns the new jobs' ids."""
        specs = self.registry.periodic_specs()
        if not specs:
            return []
        with session_scope(self.session_factory) as session:
            jobs = JobService(session, self.settings).enqueue_due_periodic(specs, self.clock())
            return [job.id for job in jobs]

    def release(self, jobs: Iterable[ClaimedJob]) -> int:
        """Give back claimed jobs that this worker will not run."""
        jobs = list(jobs)
        if not jobs:
            return 0
        with session_scope(self.session_factory) as session:
            released = JobService(session, self.settings).release(jobs, self.name)
        with self._lock:
            for job in jobs:
                self._active.pop(job.id, None)
        return released

    def renew_leases(self) -> int:
        """Extend the leases of every job this worker holds; returns how many it still holds."""
        with self._lock:
            job_ids = list(self._active)
        if not job_ids:
            return 0
        with session_scope(self.session_factory) as session:
            held = JobService(session, self.settings).renew_leases(
                self.name, job_ids, self.lease, self.clock()
            )
        if held < len(job_ids):
            self._log.info("leases_not_renewed", held=held, asked=len(job_ids))
        return held

    # Running ----------------------------------------------------------------------------------

    def run_until_idle(self, max_jobs: int | None = None) -> list[Execution]:
        """Claim and run due jobs in this thread until none is due; for tests and scripts.

        No threads and no heartbeat: one connection at a time, so it works on a test's
        transaction-bound session factory. Periodic jobs are enqueued first when due.
        """
        executions: list[Execution] = []
        while True:
            if self.run_periodic:
                self.tick()
            jobs = self.claim()
            if not jobs:
                return executions
            if max_jobs is not None and len(jobs) > max_jobs - len(executions):
                room = max_jobs - len(executions)
                self.release(jobs[room:])
                jobs = jobs[:room]
            for batch in self.batches(jobs):
                executions += self.execute_batch(batch)
            if max_jobs is not None and len(executions) >= max_jobs:
                return executions

    def batches(self, jobs: Sequence[ClaimedJob]) -> list[list[ClaimedJob]]:
        """Claimed jobs grouped into what runs in one transaction (``execute_batch``)."""
        return group_batches(jobs, self.registry.is_batchable)

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set, then stop claiming, give back claimed jobs that have not
        started, let running ones finish for up to ``shutdown_grace`` seconds, and return.

        Jobs still running after the grace period are left to their leases: their threads are
        daemons, so the process can exit, and another worker runs the jobs again once the
        leases expire.
        """
        queue: SimpleQueue[list[ClaimedJob] | None] = SimpleQueue()
        threads = [
            threading.Thread(
                target=self._work, args=(queue,), name=f"tessera-job-{index}", daemon=True
            )
            for index in range(self.concurrency)
        ]
        heartbeat_stop = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(heartbeat_stop,), name="tessera-heartbeat", daemon=True
        )
        for thread in [*threads, heartbeat]:
            thread.start()
        self._log.info(
            "worker_started",
            concurrency=self.concurrency,
            lease_seconds=self.lease.total_seconds(),
            kinds=self.registry.kinds(),
        )
        last_tick = 0.0
        claim_limit = self.batch_size
        try:
            while not stop.is_set():
                if self.run_periodic and time.monotonic() - last_tick >= PERIODIC_TICK_SECONDS:
                    last_tick = time.monotonic()
                    self._safely("periodic_tick_failed", self.tick)
                self._freed.clear()
                # Claim while at most one batch per thread waits, so the next batch is claimed
                # while the current ones run, and no worker hoards more than it can start soon.
                if self._held_batches() <= self.concurrency:
                    limit = claim_limit
                    claimed = self._safely("claim_failed", partial(self.claim, limit)) or []
                    batches = self.batches(claimed)
                    claim_limit = next_claim_limit(
                        limit, claimed, batches, self.batch_size, self.batch_size * CLAIM_GROWTH
                    )
                    with self._lock:
                        self._batches += len(batches)
                    for batch in batches:
                        queue.put(batch)
                    if len(claimed) == limit:
                        continue  # more may be due: claim again once a slot frees
                if self._active_count():
                    self._freed.wait(self.poll_seconds)
                else:
                    stop.wait(self.poll_seconds)
        finally:
            self._shut_down(queue, threads, heartbeat, heartbeat_stop)

    def _work(self, queue: SimpleQueue[list[ClaimedJob] | None]) -> None:
        while (batch := queue.get()) is not None:
            try:
                self.execute_batch(batch)
            except BaseException:  # a handler's SystemExit must not kill the pool
                self._log.exception("job_crashed_thread", job_ids=[job.id for job in batch])
            finally:
                with self._lock:
                    self._batches -= 1
                self._freed.set()

    def _heartbeat(self, stop: threading.Event) -> None:
        interval = self.lease.total_seconds() / 3
        while not stop.wait(interval):
            self._safely("lease_renewal_failed", self.renew_leases)

    def _shut_down(
        self,
        queue: SimpleQueue[list[ClaimedJob] | None],
        threads: list[threading.Thread],
        heartbeat: threading.Thread,
        heartbeat_stop: threading.Event,
    ) -> None:
        unstarted: list[ClaimedJob] = []
        while True:
            try:
                batch = queue.get_nowait()
            except Empty:
                break
            if batch is not None:
                unstarted += batch
        released = self._safely("release_failed", lambda: self.release(unstarted)) or 0
        for _ in threads:
            queue.put(None)
        deadline = time.monotonic() + self.shutdown_grace
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            abandoned = sorted(self._active)
        if abandoned:
            self._log.warning("worker_abandoned_jobs", job_ids=abandoned)
        heartbeat_stop.set()
        heartbeat.join(timeout=5)
        self._log.info("worker_stopped", released=released, abandoned=len(abandoned))

    def _active_count(self) -> int:
        with self._lock:
            return len(self._active)

    def _held_batches(self) -> int:
        with self._lock:
            return self._batches

    def _safely(self, event: str, step: Callable[[], T]) -> T | None:
        """Run a step of the loop; a database outage is logged and retried, not fatal."""
        try:
            return step()
        except Exception:
            self._log.exception(event)
            return None
