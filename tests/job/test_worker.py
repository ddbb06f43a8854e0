"""The worker, in-process: handlers run in the job's transaction, failures retry and die,
a stale worker's writes vanish, batchable jobs share a transaction without sharing their
failures, periodic jobs run once per slot, old jobs are pruned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tessera.job.registry import Registry
from tessera.job.runner import Execution, JobOutcome
from tessera.job.service import JobService
from tessera.job.tasks import prune_succeeded_jobs
from tessera.models.job import Job, JobStatus
from tests.job.conftest import Clock, MakeWorker

registry = Registry()
calls: list[dict[str, Any]] = []


@registry.job_handler("test.noted")
def note(session: Session, payload: dict[str, Any]) -> None:
    """Writes a follow-up job (a database write), then fails if the payload says so."""
    calls.append(payload)
    JobService(session).enqueue("test.followed", {"after": payload.get("name")})
    if payload.get("fail"):
        raise ConnectionError(f"the channel is down for {payload['name']}")


@registry.job_handler("test.followed")
def follow(session: Session, payload: dict[str, Any]) -> None:
    """Does nothing; exists so follow-up jobs succeed."""


batched_runs: list[tuple[str, Session]] = []


@registry.job_handler("test.batched", batchable=True)
def batched(session: Session, payload: dict[str, Any]) -> None:
    """Writes a follow-up job, then fails in Python or in SQL if the payload says so."""
    batched_runs.append((payload["name"], session))
    JobService(session).enqueue("test.followed", {"after": payload["name"]})
    if payload.get("fail") == "python":
        raise ConnectionError(f"the channel is down for {payload['name']}")
    if payload.get("fail") == "sql":
        session.execute(text("SELECT no_such_column FROM job"))


def kinds(session: Session, kind: str) -> list[Job]:
    return list(
        session.scalars(
            select(Job).where(Job.kind == kind).execution_options(populate_existing=True)
        ).all()
    )


def outcomes(executions: list[Execution]) -> list[tuple[str, int, JobOutcome]]:
    return [(e.kind, e.attempt, e.outcome) for e in executions]


def test_a_handler_runs_with_its_payload_and_its_writes_commit_with_the_job(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """The job succeeds, and the job its handler enqueued exists and runs too."""
    job = JobService(session).enqueue("test.noted", {"name": "a"}, run_at=clock.now)
    session.commit()
    calls.clear()

    executions = make_worker(registry).run_until_idle()

    stored = JobService(session).get_job(job.id)
    assert calls == [{"name": "a"}]
    assert outcomes(executions) == [
        ("test.noted", 1, JobOutcome.SUCCEEDED),
        ("test.followed", 1, JobOutcome.SUCCEEDED),
    ]
    assert (stored.status, stored.finished_at, stored.locked_until) == (
        "succeeded",
        clock.now,
        None,
    )
    assert [j.payload for j in kinds(session, "test.followed")] == [{"after": "a"}]


def test_a_failed_attempt_rolls_back_its_writes_and_retries_after_the_backoff(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """The failing handler's follow-up job vanishes; the job is due again 7.5 s later."""
    job = JobService(session).enqueue("test.noted", {"name": "b", "fail": True}, run_at=clock.now)
    session.commit()
    worker = make_worker(registry)

    executions = worker.run_until_idle()

    stored = JobService(session).get_job(job.id)
    assert outcomes(executions) == [("test.noted", 1, JobOutcome.RETRYING)]
    assert kinds(session, "test.followed") == []
    assert (stored.status, stored.attempts) == ("queued", 1)
    assert stored.run_at == clock.now + timedelta(seconds=7.5)
    assert stored.last_error is not None
    first_line, *trace = stored.last_error.splitlines()
    assert first_line == "ConnectionError: the channel is down for b"
    assert any("in note" in line for line in trace)
    assert worker.run_until_idle() == []


def test_a_job_that_keeps_failing_ends_dead_with_its_last_error(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """Three attempts allowed: retried twice with growing backoff, then dead."""
    job = JobService(session).enqueue(
        "test.noted", {"name": "c", "fail": True}, run_at=clock.now, max_attempts=3
    )
    session.commit()
    worker = make_worker(registry)

    first = worker.run_until_idle()
    clock.advance(seconds=7.5)
    second = worker.run_until_idle()
    clock.advance(seconds=15)
    third = worker.run_until_idle()

    stored = JobService(session).get_job(job.id)
    assert outcomes(first + second + third) == [
        ("test.noted", 1, JobOutcome.RETRYING),
        ("test.noted", 2, JobOutcome.RETRYING),
        ("test.noted", 3, JobOutcome.DEAD),
    ]
    assert (stored.status, stored.attempts, stored.finished_at) == ("dead", 3, clock.now)
    assert stored.last_error is not None
    assert stored.last_error.startswith("ConnectionError: the channel is down for c\n")
    assert kinds(session, "test.followed") == []


def test_a_job_of_a_kind_this_worker_cannot_handle_fails_and_says_so(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """A kind without a handler (an older worker during a deploy) is retried, not lost."""
    job = JobService(session).enqueue("catalog.synced", run_at=clock.now)
    session.commit()

    executions = make_worker(registry).run_until_idle()

    stored = JobService(session).get_job(job.id)
    assert outcomes(executions) == [("catalog.synced", 1, JobOutcome.RETRYING)]
    assert stored.status == "queued"
    assert stored.last_error is not None
    assert stored.last_error.startswith(
        "tessera.job.runner.NoHandler: no handler for 'catalog.synced' is registered"
    )


def test_a_stale_workers_run_is_rolled_back_and_the_new_holders_counts(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """Worker A's lease lapsed and B re-claimed the job: A's completion is refused and its
    writes vanish; B's run commits. The job's effect is applied once."""
    job = JobService(session).enqueue("test.noted", {"name": "d"}, run_at=clock.now)
    session.commit()
    a = make_worker(registry, name="worker-a")
    b = make_worker(registry, name="worker-b")
    [held_by_a] = a.claim()
    clock.advance(seconds=31)
    [held_by_b] = b.claim()

    stale = a.execute(held_by_a)
    fresh = b.execute(held_by_b)

    stored = JobService(session).get_job(job.id)
    assert (stale.outcome, fresh.outcome) == (JobOutcome.LOST, JobOutcome.SUCCEEDED)
    assert (stored.status, stored.attempts, stored.locked_by) == ("succeeded", 2, "worker-b")
    assert len(kinds(session, "test.followed")) == 1


def test_running_until_idle_with_a_limit_gives_back_the_rest(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """Stopping after one job releases the other claimed jobs uncounted."""
    service = JobService(session)
    for name in ("e1", "e2", "e3"):
        service.enqueue("test.followed", {"name": name}, run_at=clock.now)
    session.commit()

    executions = make_worker(registry).run_until_idle(max_jobs=1)

    jobs = kinds(session, "test.followed")
    assert len(executions) == 1
    assert sorted((j.status.value, j.attempts) for j in jobs) == [
        ("queued", 0),
        ("queued", 0),
        ("succeeded", 1),
    ]


def test_a_periodic_job_runs_once_per_slot(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """Two workers ticking in the same minute enqueue one run; the next minute, one more."""
    ticks = Registry()
    slots: list[str] = []

    @ticks.periodic("report.refreshed", every=timedelta(minutes=1))
    def refresh(session: Session, payload: dict[str, Any]) -> None:
        slots.append(payload["slot"])

    a = make_worker(ticks, name="worker-a")
    b = make_worker(ticks, name="worker-b")

    a.run_until_idle()
    b.run_until_idle()
    clock.advance(seconds=30)
    a.run_until_idle()
    clock.advance(seconds=30)
    b.run_until_idle()

    assert slots == ["2031-01-15T12:00:00+00:00", "2031-01-15T12:01:00+00:00"]


def test_pruning_deletes_succeeded_jobs_older_than_seven_days_only(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """job.pruned removes succeeded jobs finished more than 7 days before its slot; recent
    successes and dead jobs stay."""
    pruning = Registry()
    pruning.job_handler("test.followed")(follow)
    pruning.job_handler("test.noted")(note)
    pruning.periodic("job.pruned", every=timedelta(hours=1))(prune_succeeded_jobs)
    service = JobService(session)
    now = clock.now
    finished: dict[str, str] = {}
    for name, days_ago in (("old", 8), ("older", 30), ("recent", 6)):
        clock.now = now - timedelta(days=days_ago)
        finished[name] = service.enqueue("test.followed", run_at=clock.now).id
        session.commit()
        make_worker(pruning, run_periodic=False).run_until_idle()
    clock.now = now - timedelta(days=40)
    dead = service.enqueue(
        "test.noted", {"name": "x", "fail": True}, max_attempts=1, run_at=clock.now
    )
    session.commit()
    make_worker(pruning, run_periodic=False).run_until_idle()
    clock.now = now

    executions = make_worker(pruning).run_until_idle()

    remaining = {job.id: job.status for job in kinds(session, "test.followed")}
    assert outcomes(executions) == [("job.pruned", 1, JobOutcome.SUCCEEDED)]
    assert remaining == {finished["recent"]: JobStatus.SUCCEEDED}
    assert service.get_job(dead.id).status == "dead"


def test_batchable_jobs_run_in_one_transaction_in_priority_then_due_order(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """Jobs of a batchable kind claimed together run in one transaction (one session), in
    priority order, then by run_at; each one's writes commit with it."""
    service = JobService(session)
    for name, priority, seconds_ago in [
        ("late", 100, 1),
        ("urgent", 5, 0),
        ("early", 100, 30),
        ("background", 200, 60),
    ]:
        service.enqueue(
            "test.batched",
            {"name": name},
            priority=priority,
            run_at=clock.now - timedelta(seconds=seconds_ago),
        )
    session.commit()
    batched_runs.clear()

    executions = make_worker(registry).run_until_idle()

    assert [name for name, _ in batched_runs] == ["urgent", "early", "late", "background"]
    assert len({id(used) for _, used in batched_runs}) == 1
    assert outcomes(executions)[:4] == [("test.batched", 1, JobOutcome.SUCCEEDED)] * 4
    assert [j.status.value for j in kinds(session, "test.batched")] == ["succeeded"] * 4
    assert sorted(j.payload["after"] for j in kinds(session, "test.followed")) == [
        "background",
        "early",
        "late",
        "urgent",
    ]


def test_a_failing_job_in_a_batch_retries_alone_and_the_others_commit(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """A handler of the batch raises: the batch is rolled back and its jobs run again one by
    one, so the job that raised (in Python or in SQL) is queued for a retry and the others'
    writes commit once each."""
    service = JobService(session)
    ids = {
        name: service.enqueue("test.batched", {"name": name, **extra}, run_at=clock.now).id
        for name, extra in [
            ("a", {}),
            ("b", {"fail": "python"}),
            ("c", {}),
            ("d", {"fail": "sql"}),
            ("e", {}),
        ]
    }
    session.commit()
    batched_runs.clear()

    executions = make_worker(registry).run_until_idle()

    stored = {name: service.get_job(job_id) for name, job_id in ids.items()}
    assert [name for name, _ in batched_runs] == ["a", "b", "a", "b", "c", "d", "e"]
    assert outcomes(executions)[:5] == [
        ("test.batched", 1, JobOutcome.SUCCEEDED),
        ("test.batched", 1, JobOutcome.RETRYING),
        ("test.batched", 1, JobOutcome.SUCCEEDED),
        ("test.batched", 1, JobOutcome.RETRYING),
        ("test.batched", 1, JobOutcome.SUCCEEDED),
    ]
    assert {name: (job.status.value, job.attempts) for name, job in stored.items()} == {
        "a": ("succeeded", 1),
        "b": ("queued", 1),
        "c": ("succeeded", 1),
        "d": ("queued", 1),
        "e": ("succeeded", 1),
    }
    assert stored["b"].run_at == clock.now + timedelta(seconds=7.5)
    assert (stored["b"].last_error or "").startswith("ConnectionError: the channel is down for b\n")
    assert "no_such_column" in (stored["d"].last_error or "")
    assert sorted(j.payload["after"] for j in kinds(session, "test.followed")) == ["a", "c", "e"]


def test_a_batch_holding_a_job_another_worker_took_over_keeps_each_effect_once(
    session: Session, clock: Clock, make_worker: MakeWorker
) -> None:
    """Worker A's leases lapsed and B took over one job of A's batch: A's batch cannot commit
    as a whole, so its jobs run again one by one; the job B holds is refused to A, the others
    succeed for A, and every job's follow-up exists once."""
    service = JobService(session)
    for name in ("f1", "f2", "f3"):
        service.enqueue("test.batched", {"name": name}, run_at=clock.now)
    session.commit()
    a = make_worker(registry, name="worker-a")
    b = make_worker(registry, name="worker-b")
    held_by_a = a.claim()
    clock.advance(seconds=31)
    [held_by_b] = b.claim(1)

    stale = a.execute_batch(held_by_a)
    fresh = b.execute(held_by_b)

    jobs = {job.id: job for job in kinds(session, "test.batched")}
    assert {e.job_id: e.outcome for e in stale} == {
        job.id: JobOutcome.LOST if job.id == held_by_b.id else JobOutcome.SUCCEEDED
        for job in held_by_a
    }
    assert fresh.outcome is JobOutcome.SUCCEEDED
    assert {job_id: (job.status.value, job.locked_by) for job_id, job in jobs.items()} == {
        job.id: ("succeeded", "worker-b" if job.id == held_by_b.id else "worker-a")
        for job in held_by_a
    }
    assert sorted(j.payload["after"] for j in kinds(session, "test.followed")) == [
        "f1",
        "f2",
        "f3",
    ]
