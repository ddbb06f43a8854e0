"""Claims of many jobs at once (one statement on PostgreSQL), and the worker's pooled
connections, which it pings only after they sat idle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.job.registry import Registry
from tessera.job.runner import JobOutcome
from tessera.job.service import JobService
from tests.job.conftest import START, Clock, MakeWorker

LEASE = timedelta(seconds=30)
registry = Registry()
ran: list[str] = []


@registry.job_handler("test.claimed")
def claimed_job(session: Session, payload: dict[str, Any]) -> None:
    """Not batchable: each job runs in its own transaction."""
    ran.append(payload["name"])
    if payload.get("fail"):
        raise ConnectionError(f"the channel is down for {payload['name']}")


def test_a_claim_takes_expired_leases_first_then_due_jobs_by_priority(session: Session) -> None:
    """One claim: the expired lease with attempts left comes first, the one without goes dead
    saying which attempt, then due queued jobs by priority; jobs not due yet stay queued."""
    service = JobService(session)
    again = service.enqueue("test.claimed", {"name": "again"}, run_at=START, max_attempts=3)
    last = service.enqueue("test.claimed", {"name": "last"}, run_at=START, max_attempts=1)
    assert {job.id for job in service.claim("worker-a", 2, LEASE, START)} == {again.id, last.id}
    later = START + LEASE + timedelta(seconds=1)
    low = service.enqueue("test.claimed", {"name": "low"}, run_at=START, priority=200)
    high = service.enqueue("test.claimed", {"name": "high"}, run_at=START, priority=10)
    normal = service.enqueue("test.claimed", {"name": "normal"}, run_at=START)
    future = service.enqueue("test.claimed", {"name": "future"}, run_at=later + timedelta(1))

    claimed = service.claim("worker-b", 3, LEASE, later)

    assert sorted(job.id for job in claimed) == sorted([again.id, high.id, normal.id])
    order = [job.id for job in claimed]
    assert order.index(high.id) < order.index(normal.id)  # run order: priority, then due time
    assert {job.id: job.attempts for job in claimed}[again.id] == 2
    dead = service.get_job(last.id)
    assert (dead.status, dead.finished_at) == ("dead", later)
    assert (dead.last_error or "").startswith("LeaseExpired: the worker running attempt 1 ")
    assert [service.get_job(job.id).status for job in (low, future)] == ["queued", "queued"]
    assert service.get_job(again.id).locked_by == "worker-b"


def test_a_due_job_waiting_behind_many_undue_jobs_of_a_higher_priority_is_claimed(
    session: Session,
) -> None:
    """Timers waiting for days at priority 100 do not hide a job due now at priority 200."""
    service = JobService(session)
    service.enqueue_many(
        "test.claimed",
        ({"name": f"timer-{n}"} for n in range(300)),
        run_at=START + timedelta(days=1),
    )
    due = service.enqueue("test.claimed", {"name": "pruned"}, run_at=START, priority=200)

    claimed = service.claim("worker-a", 20, LEASE, START)

    assert [job.id for job in claimed] == [due.id]


def test_a_failing_job_of_a_claim_retries_alone_and_the_others_commit(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """Jobs claimed together but run each in its own transaction: the one that fails is
    queued again with its error, the others succeed once."""
    service = JobService(session)
    ids = {
        name: service.enqueue("test.claimed", {"name": name, **extra}, run_at=clock.now).id
        for name, extra in [("a", {}), ("b", {"fail": True}), ("c", {})]
    }
    session.commit()
    ran.clear()

    executions = make_worker(registry).run_until_idle()

    assert ran == ["a", "b", "c"]
    assert [execution.outcome for execution in executions] == [
        JobOutcome.SUCCEEDED,
        JobOutcome.RETRYING,
        JobOutcome.SUCCEEDED,
    ]
    stored = {name: service.get_job(job_id) for name, job_id in ids.items()}
    assert {name: (job.status.value, job.attempts) for name, job in stored.items()} == {
        "a": ("succeeded", 1),
        "b": ("queued", 1),
        "c": ("succeeded", 1),
    }
    assert (stored["b"].last_error or "").startswith("ConnectionError: the channel is down")


def test_two_open_claims_never_take_the_same_job(postgres_url: str) -> None:
    """Two workers claim at once, the first not yet committed: the second skips its rows and
    takes the others; every job is claimed once, on its first attempt."""
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as session:
            JobService(session).enqueue_many(
                "test.claimed", ({"name": str(n)} for n in range(10)), run_at=START
            )
        first = factory()
        try:
            mine = JobService(first).claim("worker-a", 6, LEASE, START)
            with session_scope(factory) as session:
                theirs = JobService(session).claim("worker-b", 6, LEASE, START)
            first.commit()
        finally:
            first.close()
        with session_scope(factory) as session:
            rest = JobService(session).claim("worker-c", 6, LEASE, START)
    finally:
        engine.dispose()

    assert (len(mine), len(theirs), rest) == (6, 4, [])
    assert not {job.id for job in mine} & {job.id for job in theirs}
    assert {job.attempts for job in [*mine, *theirs]} == {1}


def test_a_stale_claim_cannot_complete_after_another_worker_took_the_job(
    session: Session,
) -> None:
    """A lease that ran out is claimed again (attempt 2): the first worker's completion is
    refused, the second's counts, so the job's effect commits once per lease."""
    service = JobService(session)
    service.enqueue("test.claimed", {"name": "slow"}, run_at=START)
    stale = service.claim("worker-a", 5, LEASE, START)[0]
    later = START + LEASE + timedelta(seconds=1)
    fresh = service.claim("worker-b", 5, LEASE, later)[0]

    assert (stale.id, stale.attempts, fresh.attempts) == (fresh.id, 1, 2)
    assert service.complete(stale, "worker-a", later) is False
    assert service.complete_batch([stale], "worker-a", later) is False
    assert service.complete(fresh, "worker-b", later) is True
    assert service.get_job(fresh.id).status == "succeeded"


def _backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(url: str, pid: int) -> None:
    admin = make_engine(url)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(
    postgres_url: str,
) -> None:
    """A connection back in the pool longer than ``ping_after_idle`` is pinged on checkout; a
    dead one is replaced, and the caller's transaction never sees it."""
    engine = make_engine(postgres_url, ping_after_idle=0.0, pool_size=1)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as session:
            killed = _backend_pid(session)
        _kill(postgres_url, killed)
        with session_scope(factory) as session:
            assert _backend_pid(session) != killed
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(postgres_url: str) -> None:
    """Within ``ping_after_idle`` there is no ping: a connection that died in that moment
    fails the statement (and a job's attempt retries), which is the round trip saved."""
    engine = make_engine(postgres_url, ping_after_idle=3600.0, pool_size=1)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as session:
            killed = _backend_pid(session)
        _kill(postgres_url, killed)
        with pytest.raises(OperationalError), session_scope(factory) as session:
            _backend_pid(session)
        with session_scope(factory) as session:  # the pool replaced its connections
            assert _backend_pid(session) != killed
    finally:
        engine.dispose()
