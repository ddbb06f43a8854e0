"""Real worker processes against a committed database: every job runs exactly once across
processes, a worker killed mid-job loses nothing, periodic jobs enqueue once per slot, and
SIGTERM stops a worker cleanly. The multi-process proofs need PostgreSQL (SKIP LOCKED, many
writers); the rest run on both backends."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tessera.config import load_settings
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.job.registry import Registry
from tessera.job.runner import Worker
from tessera.job.service import JobService
from tests.job.probes import batched, create_probe_table, recorded

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 30.0


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    """An engine on the committed PostgreSQL database, with an empty probe table."""
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        create_probe_table(connection)
    yield engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE job_probe"))
    engine.dispose()


@pytest.fixture
def committed(committed_database_url: str) -> Iterator[Engine]:
    """An engine on the committed database of each backend, with an empty probe table."""
    engine = make_engine(committed_database_url)
    with engine.begin() as connection:
        create_probe_table(connection)
    yield engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE job_probe"))
    engine.dispose()


class Workers:
    """``tessera worker`` processes started for one test and always stopped after it."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(
        self, engine: Engine, modules: str, concurrency: int = 4, lease: float = 30.0
    ) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "TESSERA_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "TESSERA_JOB_MODULES": modules,
            "TESSERA_JOB_LEASE_SECONDS": str(lease),
            "TESSERA_WORKER_POLL_SECONDS": "0.1",
            "TESSERA_LOG_LEVEL": "WARNING",
            # This checkout's source first: the venv's editable install may point at another.
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
        with (self.log_dir / f"worker-{len(self.processes)}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tessera", "worker", "--concurrency", str(concurrency)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> int:
        """SIGTERM, then the exit code (the test fails if it does not exit in time)."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        return process.wait(timeout=STOP_TIMEOUT)

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.log_dir.glob("*.log")))

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.kill_all()


def wait_until(condition: Callable[[], bool], timeout: float, workers: Workers) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not done after {timeout} s; worker logs:\n{workers.logs()[-4000:]}")
        time.sleep(0.1)


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def unfinished(engine: Engine, kind: str) -> int:
    return int(
        scalar(
            engine,
            "SELECT count(*) FROM job WHERE kind = :kind AND status IN ('queued', 'running')",
            kind=kind,
        )
    )


def running(engine: Engine, kind: str) -> int:
    return int(
        scalar(
            engine, "SELECT count(*) FROM job WHERE kind = :kind AND status = 'running'", kind=kind
        )
    )


def enqueue(engine: Engine, kind: str, payloads: list[dict[str, Any]]) -> None:
    with session_scope(make_session_factory(engine)) as session:
        JobService(session).enqueue_many(kind, payloads)


@pytest.mark.parametrize("kind", ["probe.recorded", "probe.batched"])
def test_ten_thousand_jobs_on_two_worker_processes_each_run_exactly_once(
    pg: Engine, workers: Workers, kind: str
) -> None:
    """Two `tessera worker` processes share 10,000 jobs, one by one or in batches: each job's
    effect is recorded once, each job succeeded on its first attempt, and both processes did
    part of the work."""
    enqueue(pg, kind, [{"key": f"k{n}"} for n in range(10_000)])
    processes = [workers.start(pg, "tests.job.probes", concurrency=8) for _ in range(2)]

    wait_until(lambda: unfinished(pg, kind) == 0, 120, workers)
    codes = [workers.stop(process) for process in processes]

    assert codes == [0, 0]
    assert rows(
        pg, "SELECT count(*), count(DISTINCT job_key), count(DISTINCT pid) FROM job_probe"
    ) == [(10_000, 10_000, 2)]
    assert rows(
        pg,
        "SELECT status, attempts, count(*) FROM job WHERE kind = :kind GROUP BY status, attempts",
        kind=kind,
    ) == [("succeeded", 1, 10_000)]


def test_a_worker_killed_mid_job_loses_nothing(pg: Engine, workers: Workers) -> None:
    """SIGKILL a worker while it holds jobs: once their leases expire, another worker runs
    them again, and every job's effect is recorded exactly once."""
    enqueue(pg, "probe.recorded", [{"key": f"k{n}", "hold": 0.2} for n in range(20)])
    doomed = workers.start(pg, "tests.job.probes", concurrency=2, lease=2.0)
    wait_until(lambda: scalar(pg, "SELECT count(*) FROM job_probe") >= 2, 30, workers)

    doomed.kill()
    doomed.wait()
    held = {
        job_id
        for (job_id,) in rows(
            pg, "SELECT id FROM job WHERE status = 'running' AND kind = 'probe.recorded'"
        )
    }
    finished_before = scalar(pg, "SELECT count(*) FROM job WHERE status = 'succeeded'")
    rescuer = workers.start(pg, "tests.job.probes", concurrency=4, lease=2.0)
    wait_until(lambda: unfinished(pg, "probe.recorded") == 0, 60, workers)
    code = workers.stop(rescuer)

    attempts = dict(rows(pg, "SELECT id, attempts FROM job WHERE kind = 'probe.recorded'"))
    assert code == 0
    assert held != set()
    assert finished_before >= 2
    assert rows(pg, "SELECT count(*), count(DISTINCT job_key) FROM job_probe") == [(20, 20)]
    assert rows(pg, "SELECT DISTINCT status FROM job WHERE kind = 'probe.recorded'") == [
        ("succeeded",)
    ]
    assert {job_id: attempts[job_id] for job_id in held} == {job_id: 2 for job_id in held}
    assert {n for job_id, n in attempts.items() if job_id not in held} == {1}


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(
    pg: Engine, workers: Workers
) -> None:
    """SIGKILL a worker while it runs batches of a batchable kind: the uncommitted batch
    vanishes whole, another worker takes the jobs over once their leases expire, and every
    job's effect is recorded exactly once."""
    enqueue(pg, "probe.batched", [{"key": f"k{n}", "hold": 0.02} for n in range(200)])
    doomed = workers.start(pg, "tests.job.probes", concurrency=2, lease=2.0)
    wait_until(lambda: scalar(pg, "SELECT count(*) FROM job_probe") >= 20, 30, workers)

    doomed.kill()
    doomed.wait()
    held = {
        job_id
        for (job_id,) in rows(
            pg, "SELECT id FROM job WHERE status = 'running' AND kind = 'probe.batched'"
        )
    }
    finished_before = scalar(
        pg, "SELECT count(*) FROM job WHERE status = 'succeeded' AND kind = 'probe.batched'"
    )
    recorded_before = scalar(pg, "SELECT count(*) FROM job_probe")
    rescuer = workers.start(pg, "tests.job.probes", concurrency=4, lease=2.0)
    wait_until(lambda: unfinished(pg, "probe.batched") == 0, 60, workers)
    code = workers.stop(rescuer)

    attempts = dict(rows(pg, "SELECT id, attempts FROM job WHERE kind = 'probe.batched'"))
    assert code == 0
    assert held != set()
    assert finished_before >= 20
    assert recorded_before == finished_before
    assert rows(pg, "SELECT count(*), count(DISTINCT job_key) FROM job_probe") == [(200, 200)]
    assert rows(pg, "SELECT DISTINCT status FROM job WHERE kind = 'probe.batched'") == [
        ("succeeded",)
    ]
    assert {job_id: attempts[job_id] for job_id in held} == {job_id: 2 for job_id in held}
    assert {n for job_id, n in attempts.items() if job_id not in held} == {1}


def test_a_periodic_job_is_enqueued_once_per_slot_by_three_workers(
    pg: Engine, workers: Workers
) -> None:
    """Three workers ticking every 0.1 s for a few seconds enqueue each one-second slot once:
    no slot twice, each on a whole second, and each ran once. A slot during which no worker
    woke (a machine whose cores are all busy can starve them for a second) is skipped, as
    cron skips a minute it slept through, so slots need not be consecutive."""
    processes = [workers.start(pg, "tests.job.probe_periodic") for _ in range(3)]
    wait_until(
        lambda: scalar(pg, "SELECT count(*) FROM job WHERE kind = 'probe.ticked'") >= 3, 30, workers
    )

    codes = [workers.stop(process) for process in processes]

    slots = [
        datetime.fromisoformat(slot)
        for (slot,) in rows(
            pg, "SELECT payload ->> 'slot' FROM job WHERE kind = 'probe.ticked' ORDER BY 1"
        )
    ]
    gaps = [later - earlier for earlier, later in itertools.pairwise(slots)]
    succeeded = scalar(
        pg, "SELECT count(*) FROM job WHERE kind = 'probe.ticked' AND status = 'succeeded'"
    )
    assert codes == [0, 0, 0]
    assert len(slots) >= 3
    assert all(slot.microsecond == 0 for slot in slots)
    assert all(gap >= timedelta(seconds=1) and gap.microseconds == 0 for gap in gaps)
    assert rows(pg, "SELECT count(*), count(DISTINCT job_key) FROM job_probe") == [
        (succeeded, succeeded)
    ]


def test_concurrent_enqueues_with_one_key_keep_one_job(pg: Engine) -> None:
    """Two transactions enqueue the same key at once: the second waits for the first to
    commit, then gets its job. One row, one id."""
    factory = make_session_factory(pg)
    first_inserted = threading.Event()
    ids: dict[str, str] = {}

    def slow_first() -> None:
        with session_scope(factory) as session:
            ids["first"] = JobService(session).enqueue("test.ran", idempotency_key="same").id
            first_inserted.set()
            time.sleep(0.5)

    thread = threading.Thread(target=slow_first)
    thread.start()
    first_inserted.wait(10)
    with session_scope(factory) as session:
        ids["second"] = JobService(session).enqueue("test.ran", idempotency_key="same").id
    thread.join()

    assert ids["second"] == ids["first"]
    assert rows(pg, "SELECT count(*) FROM job WHERE idempotency_key = 'same'") == [(1,)]


def test_sigterm_finishes_the_running_job_and_gives_back_the_rest(
    committed: Engine, workers: Workers
) -> None:
    """On SIGTERM a worker stops claiming, lets its running job finish, releases the jobs it
    claimed but had not started (attempt not counted), and exits 0."""
    enqueue(committed, "probe.recorded", [{"key": f"k{n}", "wait": 2.0} for n in range(3)])
    worker = workers.start(committed, "tests.job.probes", concurrency=1)
    wait_until(lambda: running(committed, "probe.recorded") == 3, 30, workers)
    time.sleep(0.3)

    code = workers.stop(worker)

    assert code == 0
    assert sorted(
        rows(committed, "SELECT status, attempts FROM job WHERE kind = 'probe.recorded'")
    ) == [("queued", 0), ("queued", 0), ("succeeded", 1)]
    assert scalar(committed, "SELECT count(*) FROM job_probe") == 1


def test_the_heartbeat_keeps_a_long_job_leased(committed: Engine) -> None:
    """A job running three times longer than its lease is not claimed again: the worker's
    heartbeat renews the lease while the handler runs (in-process Worker.run)."""
    registry = Registry()
    registry.job_handler("probe.recorded")(recorded)
    enqueue(committed, "probe.recorded", [{"key": f"k{n}", "wait": 1.8} for n in range(2)])
    settings = load_settings(
        database_url=committed.url.render_as_string(hide_password=False),
        job_lease_seconds=0.6,
        worker_poll_seconds=0.05,
    )
    worker = Worker(make_session_factory(committed), settings, registry=registry, concurrency=2)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while unfinished(committed, "probe.recorded") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(STOP_TIMEOUT)

    assert not thread.is_alive()
    assert rows(committed, "SELECT status, attempts FROM job WHERE kind = 'probe.recorded'") == [
        ("succeeded", 1),
        ("succeeded", 1),
    ]
    assert scalar(committed, "SELECT count(*) FROM job_probe") == 2


def test_the_heartbeat_keeps_a_long_batch_leased(committed: Engine) -> None:
    """A batch running five times longer than its lease is not claimed again: the heartbeat
    renews the leases of every job in it while the batch's transaction is open."""
    registry = Registry()
    registry.job_handler("probe.batched", batchable=True)(batched)
    enqueue(committed, "probe.batched", [{"key": f"k{n}", "wait": 0.6} for n in range(5)])
    settings = load_settings(
        database_url=committed.url.render_as_string(hide_password=False),
        job_lease_seconds=0.6,
        worker_poll_seconds=0.05,
    )
    worker = Worker(make_session_factory(committed), settings, registry=registry, concurrency=2)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while unfinished(committed, "probe.batched") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(STOP_TIMEOUT)

    assert not thread.is_alive()
    assert (
        rows(committed, "SELECT status, attempts FROM job WHERE kind = 'probe.batched'")
        == [("succeeded", 1)] * 5
    )
    assert rows(committed, "SELECT count(*), count(DISTINCT job_key) FROM job_probe") == [(5, 5)]
