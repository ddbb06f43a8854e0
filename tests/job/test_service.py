"""The job service: enqueueing, claiming, leases, failures, the dead letter, operator actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.db.engine import session_scope
from tessera.job.domain import ClaimedJob, FailureDecision, PeriodicSpec
from tessera.job.errors import (
    IdempotencyKeyReused,
    JobNotCancellable,
    JobNotFound,
    JobNotRetryable,
)
from tessera.job.repository import JobRepository
from tessera.job.service import JobService
from tessera.kit.errors import InvalidInput
from tessera.models.job import Job, JobStatus, PeriodicRun
from tessera.models.workspace import AuditEntry
from tests.job.conftest import START
from tests.support.factories import make_tenant

LEASE = timedelta(seconds=30)


def half() -> float:
    return 0.5


def all_jobs(session: Session) -> list[Job]:
    return list(
        session.scalars(
            select(Job).order_by(Job.id).execution_options(populate_existing=True)
        ).all()
    )


def claim_one(service: JobService, worker: str, now: Any = START) -> ClaimedJob:
    claimed = service.claim(worker, 1, LEASE, now)
    assert len(claimed) == 1
    return claimed[0]


# Enqueueing ---------------------------------------------------------------------------------


def test_a_new_job_is_queued_and_due_now(session: Session) -> None:
    """Enqueue without options: queued, due at creation, priority 100, 8 attempts allowed."""
    job = JobService(session).enqueue("order.placed", {"order_id": "ord_1"})

    assert (job.kind, job.payload, job.status) == ("order.placed", {"order_id": "ord_1"}, "queued")
    assert (job.priority, job.attempts, job.max_attempts) == (100, 0, 8)
    assert job.run_at == job.created_at
    assert job.id.startswith("job_")
    assert job.workspace_id is None


def test_the_same_idempotency_key_keeps_one_job(session: Session) -> None:
    """A second enqueue with the key returns the first job, unchanged, and adds no row."""
    service = JobService(session)
    first = service.enqueue("order.placed", {"n": 1}, idempotency_key="shopify:order:1001")

    second = service.enqueue("order.placed", {"n": 2}, idempotency_key="shopify:order:1001")

    assert second.id == first.id
    assert second.payload == {"n": 1}
    assert [job.id for job in all_jobs(session)] == [first.id]


def test_an_idempotency_key_of_another_kind_is_refused(session: Session) -> None:
    """Reusing a key for a different kind is a caller's bug: refused, nothing added."""
    service = JobService(session)
    first = service.enqueue("order.placed", idempotency_key="k-1")

    with pytest.raises(IdempotencyKeyReused) as caught:
        service.enqueue("order.refunded", idempotency_key="k-1")

    assert caught.value.extensions == {"field": "idempotency_key"}
    assert [job.id for job in all_jobs(session)] == [first.id]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kind": "placed"}, "kind"),
        ({"payload": {"when": START}}, "payload"),
        ({"payload": ["not", "an", "object"]}, "payload"),
        ({"run_at": START.replace(tzinfo=None)}, "run_at"),
        ({"priority": -1}, "priority"),
        ({"priority": 32768}, "priority"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_malformed_jobs_are_refused(
    session: Session, arguments: dict[str, Any], field: str
) -> None:
    """Each malformed argument is refused naming its field, and nothing is enqueued."""
    options: dict[str, Any] = {"kind": "order.placed", "payload": {}} | arguments

    with pytest.raises(InvalidInput) as caught:
        JobService(session).enqueue(options.pop("kind"), options.pop("payload"), **options)

    assert caught.value.extensions == {"field": field}
    assert all_jobs(session) == []


def test_a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    """The job is part of the caller's transaction: if the change fails, so does the job."""
    with pytest.raises(RuntimeError), session_scope(session_factory) as work:
        JobService(work).enqueue("order.placed", {"order_id": "ord_1"})
        raise RuntimeError("the order could not be saved")

    assert all_jobs(session) == []


def test_enqueue_many_adds_one_job_per_payload(session: Session) -> None:
    """Fan-out in one statement: one queued job per payload, in the given workspace."""
    tenant = make_tenant(session, "acme")

    count = JobService(session).enqueue_many(
        "listing.stock_pushed", [{"listing": n} for n in range(3)], workspace_id=tenant.workspace_id
    )

    jobs = all_jobs(session)
    assert count == 3
    assert sorted(job.payload["listing"] for job in jobs) == [0, 1, 2]
    assert {(job.status, job.workspace_id) for job in jobs} == {("queued", tenant.workspace_id)}


# Claiming -----------------------------------------------------------------------------------


def test_claims_take_due_jobs_by_priority_then_due_time(session: Session) -> None:
    """Lower priority first, then earlier run_at; jobs not yet due are left alone."""
    service = JobService(session)
    ids = {
        name: service.enqueue("test.ran", {"name": name}, run_at=at, priority=priority).id
        for name, at, priority in [
            ("late-normal", START - timedelta(minutes=1), 100),
            ("early-normal", START - timedelta(minutes=5), 100),
            ("urgent", START - timedelta(seconds=1), 10),
            ("future-urgent", START + timedelta(seconds=1), 0),
            ("background", START - timedelta(hours=1), 200),
        ]
    }
    names = {job_id: name for name, job_id in ids.items()}

    one_by_one = [names[claim_one(service, "w").id] for _ in range(4)]

    assert one_by_one == ["urgent", "early-normal", "late-normal", "background"]
    assert service.claim("w", 10, LEASE, START) == []


def test_a_batch_claim_comes_back_in_run_order(session: Session) -> None:
    """A batch is returned in the order its jobs should run."""
    service = JobService(session)
    low = service.enqueue("test.ran", priority=300, run_at=START)
    high = service.enqueue("test.ran", priority=1, run_at=START)
    middle = service.enqueue("test.ran", priority=50, run_at=START)

    claimed = service.claim("w", 10, LEASE, START)

    assert [job.id for job in claimed] == [high.id, middle.id, low.id]


def test_a_claim_leases_the_job_to_the_worker(session: Session) -> None:
    """Claiming marks the job running, names the worker, sets the lease and counts an attempt."""
    service = JobService(session)
    job = service.enqueue("test.ran", {"x": 1}, run_at=START)

    claimed = claim_one(service, "worker-a")

    stored = service.get_job(job.id)
    assert claimed == ClaimedJob(job.id, "test.ran", {"x": 1}, 1, 8, None)
    assert (stored.status, stored.locked_by, stored.attempts) == ("running", "worker-a", 1)
    assert stored.locked_until == START + LEASE
    assert stored.started_at == START


def test_a_leased_job_is_not_claimed_again_until_the_lease_expires(session: Session) -> None:
    """Another worker cannot take a job while its lease holds; once it lapses, it can."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START)
    claim_one(service, "worker-a")

    during = service.claim("worker-b", 10, LEASE, START + LEASE - timedelta(seconds=1))
    after = service.claim("worker-b", 10, LEASE, START + LEASE + timedelta(seconds=1))

    stored = service.get_job(job.id)
    assert during == []
    assert [(c.id, c.attempts) for c in after] == [(job.id, 2)]
    assert (stored.locked_by, stored.attempts, stored.status) == ("worker-b", 2, "running")


def test_a_stale_worker_cannot_overwrite_the_new_holders_result(session: Session) -> None:
    """After a re-claim, the first worker's complete, fail and release all do nothing."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START)
    stale = claim_one(service, "worker-a")
    fresh = claim_one(service, "worker-b", START + LEASE + timedelta(seconds=1))

    completed = service.complete(stale, "worker-a", START + timedelta(minutes=1))
    failed = service.fail(stale, "worker-a", "Boom", START + timedelta(minutes=1), half)
    released = service.release([stale], "worker-a")
    running = service.get_job(job.id)
    while_running = (running.status, running.locked_by, running.attempts)
    finished = service.complete(fresh, "worker-b", START + timedelta(minutes=2))

    stored = service.get_job(job.id)
    assert (completed, failed, released) == (False, None, 0)
    assert while_running == ("running", "worker-b", 2)
    assert finished is True
    assert (stored.status, stored.attempts, stored.last_error) == ("succeeded", 2, None)
    assert stored.finished_at == START + timedelta(minutes=2)


def test_the_same_worker_cannot_finish_an_older_attempt(session: Session) -> None:
    """The fence includes the attempt, so even the same worker name cannot finish attempt 1
    once attempt 2 was claimed."""
    service = JobService(session)
    service.enqueue("test.ran", run_at=START)
    first = claim_one(service, "worker-a")
    second = claim_one(service, "worker-a", START + LEASE + timedelta(seconds=1))

    assert service.complete(first, "worker-a", START) is False
    assert service.complete(second, "worker-a", START) is True


def test_a_batch_completes_in_one_statement_only_while_every_attempt_is_held(
    session: Session,
) -> None:
    """Completing a batch is refused when another worker claimed one of its jobs again (the
    caller then rolls back); with every attempt held it marks them all succeeded."""
    service = JobService(session)
    for name in ("a", "b", "c"):
        service.enqueue("test.ran", {"name": name}, run_at=START)
    batch = service.claim("worker-a", 3, LEASE, START)
    retaken = claim_one(service, "worker-b", START + LEASE + timedelta(seconds=1))
    held = [job for job in batch if job.id != retaken.id]
    done_at = START + timedelta(minutes=1)

    with session.begin_nested() as attempt:
        refused = service.complete_batch(batch, "worker-a", done_at)
        attempt.rollback()
    completed = service.complete_batch(held, "worker-a", done_at)

    stored = {job.id: job for job in all_jobs(session)}
    assert (refused, completed) == (False, True)
    assert [(stored[job.id].status, stored[job.id].finished_at) for job in held] == [
        ("succeeded", done_at),
        ("succeeded", done_at),
    ]
    assert (stored[retaken.id].status, stored[retaken.id].locked_by) == ("running", "worker-b")
    assert stored[retaken.id].attempts == 2


def test_an_expired_job_with_no_attempts_left_is_dead(session: Session) -> None:
    """A job whose worker died on its last attempt is not run again: it goes dead, saying why."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START, max_attempts=1)
    claim_one(service, "worker-a")
    later = START + LEASE + timedelta(seconds=1)

    claimed = service.claim("worker-b", 10, LEASE, later)

    stored = service.get_job(job.id)
    assert claimed == []
    assert (stored.status, stored.attempts, stored.finished_at) == ("dead", 1, later)
    assert stored.last_error is not None
    assert stored.last_error.startswith("LeaseExpired: the worker running attempt 1 stopped")


def test_renewing_extends_only_this_workers_running_leases(session: Session) -> None:
    """The heartbeat moves locked_until for the worker's own running jobs and no others."""
    service = JobService(session)
    mine = service.enqueue("test.ran", run_at=START, priority=1)
    theirs = service.enqueue("test.ran", run_at=START, priority=2)
    claim_one(service, "worker-a")
    claim_one(service, "worker-b")
    later = START + timedelta(seconds=20)

    held = service.renew_leases("worker-a", [mine.id, theirs.id], LEASE, later)

    assert held == 1
    assert service.get_job(mine.id).locked_until == later + LEASE
    assert service.get_job(theirs.id).locked_until == START + LEASE


def test_releasing_gives_a_claimed_job_back_without_counting_the_attempt(
    session: Session,
) -> None:
    """A job claimed but never started (worker shutting down) is queued again at attempt 0."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START)
    claimed = claim_one(service, "worker-a")

    released = service.release([claimed], "worker-a")

    stored = service.get_job(job.id)
    assert released == 1
    assert (stored.status, stored.attempts, stored.locked_until) == ("queued", 0, None)
    assert [c.id for c in service.claim("worker-b", 10, LEASE, START)] == [job.id]


# Failures -----------------------------------------------------------------------------------


def test_a_failure_queues_a_retry_after_the_backoff(session: Session) -> None:
    """Attempt 1 failed: queued again 7.5 s later (15 s ceiling, draw 0.5), error kept."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START)
    claimed = claim_one(service, "worker-a")

    decision = service.fail(claimed, "worker-a", "TimeoutError: shopify", START, half)

    stored = service.get_job(job.id)
    retry_at = START + timedelta(seconds=7.5)
    assert decision == FailureDecision(JobStatus.QUEUED, retry_at)
    assert (stored.status, stored.run_at, stored.attempts) == ("queued", retry_at, 1)
    assert stored.last_error == "TimeoutError: shopify"
    assert service.claim("worker-a", 10, LEASE, retry_at - timedelta(seconds=1)) == []
    assert [c.attempts for c in service.claim("worker-a", 10, LEASE, retry_at)] == [2]


def test_the_last_failed_attempt_moves_the_job_to_the_dead_letter_state(
    session: Session,
) -> None:
    """With max_attempts=2, the second failure is final: dead, finished, last error kept."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START, max_attempts=2)
    service.fail(claim_one(service, "w"), "w", "ValueError: first", START, half)
    second_try = START + timedelta(minutes=1)

    decision = service.fail(
        claim_one(service, "w", second_try), "w", "ValueError: second", second_try, half
    )

    stored = service.get_job(job.id)
    assert decision == FailureDecision(JobStatus.DEAD, None)
    assert (stored.status, stored.attempts, stored.finished_at) == ("dead", 2, second_try)
    assert stored.last_error == "ValueError: second"
    assert service.claim("w", 10, LEASE, second_try + timedelta(days=1)) == []


# Operator actions ---------------------------------------------------------------------------


def test_cancelling_a_queued_job_stops_it_and_is_audited(session: Session) -> None:
    """A cancelled job is never claimed, and the workspace's audit log says who cancelled it."""
    tenant = make_tenant(session, "acme")
    service = JobService(session)
    job = service.enqueue("test.ran", workspace_id=tenant.workspace_id, run_at=START)

    cancelled = service.cancel(job.id, tenant.workspace_id, actor="key_x", now=START)

    audit = session.scalars(select(AuditEntry).where(AuditEntry.subject == job.id)).all()
    assert (cancelled.status, cancelled.finished_at) == ("cancelled", START)
    assert service.claim("w", 10, LEASE, START + timedelta(days=1)) == []
    assert [(a.actor, a.action, a.details) for a in audit] == [
        ("key_x", "job.cancelled", {"kind": "test.ran"})
    ]


def test_a_running_job_cannot_be_cancelled(session: Session) -> None:
    """Cancelling a running job is refused with a clear reason, and the job runs on."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START)
    claim_one(service, "worker-a")

    with pytest.raises(JobNotCancellable, match="is running and cannot be cancelled"):
        service.cancel(job.id)

    stored = service.get_job(job.id)
    assert (stored.status, stored.locked_by) == ("running", "worker-a")


@pytest.mark.parametrize("finish", ["complete", "cancel"])
def test_a_finished_job_cannot_be_cancelled(session: Session, finish: str) -> None:
    """Succeeded and cancelled jobs are refused and stay as they were."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START)
    if finish == "complete":
        service.complete(claim_one(service, "w"), "w", START)
    else:
        service.cancel(job.id)
    before = service.get_job(job.id).status

    with pytest.raises(JobNotCancellable, match="only queued jobs can be cancelled"):
        service.cancel(job.id)

    assert service.get_job(job.id).status == before


def test_retrying_a_dead_job_queues_it_now_with_fresh_attempts(session: Session) -> None:
    """Retry keeps the attempt count and the last error, and allows 8 more attempts, due now."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START, max_attempts=1)
    service.fail(claim_one(service, "w"), "w", "KeyError: 'sku'", START, half)
    later = START + timedelta(hours=2)

    retried = service.retry(job.id, now=later)

    assert (retried.status, retried.run_at, retried.finished_at) == ("queued", later, None)
    assert (retried.attempts, retried.max_attempts) == (1, 9)
    assert retried.last_error == "KeyError: 'sku'"
    assert [c.attempts for c in service.claim("w", 10, LEASE, later)] == [2]


def test_retrying_a_cancelled_job_queues_it_again(session: Session) -> None:
    """A job cancelled by mistake can be queued again."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START)
    service.cancel(job.id)

    retried = service.retry(job.id, now=START)

    assert (retried.status, retried.attempts, retried.max_attempts) == ("queued", 0, 8)


@pytest.mark.parametrize("state", ["queued", "running", "succeeded"])
def test_only_dead_or_cancelled_jobs_can_be_retried(session: Session, state: str) -> None:
    """Retrying a job that will run or has run is refused, and the job is unchanged."""
    service = JobService(session)
    job = service.enqueue("test.ran", run_at=START)
    if state != "queued":
        claimed = claim_one(service, "w")
        if state == "succeeded":
            service.complete(claimed, "w", START)
    before = service.get_job(job.id)
    snapshot = (before.status, before.attempts, before.run_at, before.max_attempts)

    with pytest.raises(JobNotRetryable, match=f"is {state}; only dead or cancelled"):
        service.retry(job.id)

    after = service.get_job(job.id)
    assert (after.status, after.attempts, after.run_at, after.max_attempts) == snapshot


def test_jobs_of_another_workspace_and_system_jobs_are_not_found_when_scoped(
    session: Session,
) -> None:
    """Scoped to A, B's job and a system job are 'not found'; the operator view sees both."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    service = JobService(session)
    theirs = service.enqueue("test.ran", workspace_id=b.workspace_id)
    system = service.enqueue("job.pruned")

    for job in (theirs, system):
        with pytest.raises(JobNotFound):
            service.get_job(job.id, a.workspace_id)
        with pytest.raises(JobNotFound):
            service.cancel(job.id, a.workspace_id)
        with pytest.raises(JobNotFound):
            service.retry(job.id, a.workspace_id)

    assert service.get_job(theirs.id).status == "queued"
    assert service.get_job(system.id).status == "queued"


def test_listing_filters_by_workspace_and_status_and_pages_newest_first(
    session: Session,
) -> None:
    """Two at a time, only A's queued jobs, newest first, each once."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    service = JobService(session)
    queued = [
        service.enqueue("test.ran", {"n": n}, workspace_id=a.workspace_id).id for n in range(3)
    ]
    cancelled = service.enqueue("test.ran", workspace_id=a.workspace_id)
    service.cancel(cancelled.id)
    service.enqueue("test.ran", workspace_id=b.workspace_id)

    seen: list[str] = []
    cursor = None
    while True:
        page = service.list_jobs(a.workspace_id, JobStatus.QUEUED, cursor, 2)
        seen.extend(job.id for job in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == list(reversed(queued))
    assert len(service.list_jobs(None, None, None, 200).items) == 5


# Periodic jobs ------------------------------------------------------------------------------


def test_a_periodic_job_is_enqueued_once_per_slot(session: Session) -> None:
    """Asking again within the slot adds nothing; the next slot adds the next job."""
    service = JobService(session)
    spec = PeriodicSpec("report.refreshed", timedelta(minutes=5), priority=150)

    first = service.enqueue_due_periodic([spec], START + timedelta(seconds=10))
    again = service.enqueue_due_periodic([spec], START + timedelta(minutes=4))
    second = service.enqueue_due_periodic([spec], START + timedelta(minutes=5, seconds=1))

    assert [(j.kind, j.payload, j.priority) for j in first] == [
        ("report.refreshed", {"slot": "2031-01-15T12:00:00+00:00"}, 150)
    ]
    assert first[0].idempotency_key == "periodic:report.refreshed:2031-01-15T12:00:00+00:00"
    assert again == []
    assert [j.payload for j in second] == [{"slot": "2031-01-15T12:05:00+00:00"}]
    run = session.get(PeriodicRun, "report.refreshed", populate_existing=True)
    assert run is not None
    assert run.next_run_at == START + timedelta(minutes=10)


def test_missed_periodic_slots_are_not_made_up(session: Session) -> None:
    """After a day with no worker, an hourly job runs once, for the current slot."""
    service = JobService(session)
    spec = PeriodicSpec("report.refreshed", timedelta(hours=1))
    service.enqueue_due_periodic([spec], START)

    caught_up = service.enqueue_due_periodic([spec], START + timedelta(days=1, minutes=30))

    assert [j.payload for j in caught_up] == [{"slot": "2031-01-16T12:00:00+00:00"}]
    assert len(all_jobs(session)) == 2


def test_a_worker_that_saw_an_old_next_run_time_does_not_advance_it(session: Session) -> None:
    """The conditional UPDATE: only the value a worker saw can be moved on, so of two workers
    that both saw the slot due, the second changes nothing (and so enqueues nothing)."""
    service = JobService(session)
    spec = PeriodicSpec("report.refreshed", timedelta(minutes=5))
    service.enqueue_due_periodic([spec], START)  # next_run_at is now 12:05
    repository = JobRepository(session)

    stale = repository.advance_periodic_run(
        "report.refreshed", START, START + timedelta(minutes=5), START
    )
    current = repository.advance_periodic_run(
        "report.refreshed", START + timedelta(minutes=5), START + timedelta(minutes=10), START
    )

    assert (stale, current) == (False, True)


# Counts for dashboards ----------------------------------------------------------------------


def test_jobs_are_counted_by_status_for_one_workspace(session: Session) -> None:
    """Every status is present, zeros too; another workspace's and system jobs are not counted."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    service = JobService(session)
    service.enqueue("test.ran", workspace_id=a.workspace_id, run_at=START, priority=1)
    service.enqueue("test.ran", workspace_id=a.workspace_id, run_at=START)
    service.cancel(service.enqueue("test.ran", workspace_id=a.workspace_id).id)
    service.enqueue("test.ran", workspace_id=b.workspace_id)
    service.enqueue("job.pruned")
    claim_one(service, "w")

    counts = service.count_by_status(a.workspace_id)

    assert counts == {
        JobStatus.QUEUED: 1,
        JobStatus.RUNNING: 1,
        JobStatus.SUCCEEDED: 0,
        JobStatus.DEAD: 0,
        JobStatus.CANCELLED: 1,
    }


def test_finished_jobs_are_counted_per_clock_hour(session: Session) -> None:
    """Succeeded and dead jobs of the last 3 clock hours, per hour, oldest first, zeros too;
    jobs that ended earlier, unfinished ones and other workspaces' are left out."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    service = JobService(session)

    def finish(workspace_id: str, at: timedelta, dead: bool = False) -> None:
        moment = START + at
        service.enqueue("test.ran", workspace_id=workspace_id, run_at=moment, max_attempts=1)
        claimed = claim_one(service, "w", moment)
        if dead:
            service.fail(claimed, "w", "ValueError: x", moment, half)
        else:
            service.complete(claimed, "w", moment)

    for at in (timedelta(minutes=5), timedelta(seconds=-1), timedelta(hours=-1)):
        finish(a.workspace_id, at)
    finish(a.workspace_id, timedelta(minutes=-30), dead=True)
    finish(a.workspace_id, timedelta(hours=-2, seconds=-1))
    finish(b.workspace_id, timedelta(minutes=1))
    service.enqueue("test.ran", workspace_id=a.workspace_id)

    counts = service.finished_per_hour(a.workspace_id, START + timedelta(minutes=30), hours=3)

    assert [(c.hour.hour, c.status.value, c.count) for c in counts] == [
        (10, "succeeded", 0),
        (10, "dead", 0),
        (11, "succeeded", 2),
        (11, "dead", 1),
        (12, "succeeded", 1),
        (12, "dead", 0),
    ]
