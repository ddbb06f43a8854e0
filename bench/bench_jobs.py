"""Jobs per second through ``tessera worker`` on PostgreSQL, next to the ceiling.

The ceiling is what the database gives the same work with nothing of ours around it: bare
``UPDATE job SET status = 'succeeded', finished_at = now() WHERE id = %s`` statements, one per
transaction (each job's completion is one transaction), sent with the same driver (psycopg 3,
through the engine's raw connection) to the same server, from as many connections as the
workers use. A job costs more than that: a share of a batch claim (``FOR UPDATE SKIP LOCKED``),
a share of the transaction that runs its batch (the no-op kind is registered batchable) and of
the batch's fenced completion, and Python around it.

Each run: ``--jobs`` no-op jobs (kind ``bench.noop``, batchable, or ``bench.noop_alone``, each
in its own transaction like a journey's step; ``--kinds``; registered below, the worker
processes import this module through TESSERA_JOB_MODULES) are enqueued due a few seconds
ahead, so the workers are started and idle when the work appears; the rate is jobs divided by
the time from that moment to the last ``finished_at``.

``python -m bench.bench_jobs [--jobs 20000] [--concurrency 8] [--kinds batchable alone]
[--processes 1 2]``; ``python -m bench`` calls
``main()``. Needs PostgreSQL: TESSERA_BENCH_DATABASE_URL, default a local ``tessera_bench``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench._database import bench_database_url
from tessera.config import get_settings
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.job.registry import job_handler
from tessera.job.service import JobService
from tessera.kit.time import utcnow

ROOT = Path(__file__).resolve().parent.parent
LEAD_SECONDS = 4.0  # jobs become due this long after they are enqueued: workers start first
UNFINISHED = "SELECT count(*) FROM job WHERE status IN ('queued', 'running')"
console = Console()


@job_handler("bench.noop", batchable=True)
def noop(session: Session, payload: dict[str, Any]) -> None:
    """Does nothing: the benchmark measures the queue, not a handler. Batchable, like the short
    handlers a busy queue is made of (a feed push)."""


@job_handler("bench.noop_alone")
def noop_alone(session: Session, payload: dict[str, Any]) -> None:
    """Does nothing, in a transaction of its own per job: the path of every kind not registered
    batchable (a journey's trigger and step, a message send), where only the claim is shared."""


KINDS = {"batchable": "bench.noop", "alone": "bench.noop_alone"}


@dataclass(frozen=True)
class Result:
    what: str
    connections: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


# The ceiling ----------------------------------------------------------------------------------


def _update_each(url: str, ids: list[str]) -> None:
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        driver.autocommit = True
        with driver.cursor() as cursor:
            for job_id in ids:
                cursor.execute(
                    "UPDATE job SET status = 'succeeded', finished_at = now() WHERE id = %s",
                    (job_id,),
                )
    finally:
        raw.close()
        engine.dispose()


def _ceiling_process(url: str, ids: list[str], threads: int, start: Any) -> None:
    """One process of the ceiling: ``threads`` connections, each updating its share of ids."""
    start.wait()
    shares = [ids[index::threads] for index in range(threads)]
    workers = [threading.Thread(target=_update_each, args=(url, share)) for share in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def ceiling(url: str, engine: Engine, jobs: int, processes: int, threads: int) -> Result:
    _reset(engine)
    ids = _enqueue(engine, jobs, due_in=timedelta(days=1))
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    children = [
        context.Process(target=_ceiling_process, args=(url, ids[index::processes], threads, start))
        for index in range(processes)
    ]
    for child in children:
        child.start()
    time.sleep(2.0)  # let the children import and connect before the clock starts
    began = time.perf_counter()
    start.set()
    for child in children:
        child.join()
    seconds = time.perf_counter() - began
    done = _scalar(engine, "SELECT count(*) FROM job WHERE status = 'succeeded'")
    assert done == jobs, f"the ceiling updated {done} of {jobs} rows"
    return Result(
        "bare UPDATE ... WHERE id, one per transaction",
        f"{processes} x {threads}",
        jobs,
        seconds,
    )


# The workers ----------------------------------------------------------------------------------


def workers(
    url: str, engine: Engine, jobs: int, processes: int, concurrency: int, kind: str
) -> Result:
    _reset(engine)
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": url,
        "TESSERA_JOB_MODULES": "bench.bench_jobs",
        "TESSERA_WORKER_POLL_SECONDS": "0.05",
        "TESSERA_LOG_LEVEL": "WARNING",
        # This checkout's source first: the venv's editable install may point at another.
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    command = [sys.executable, "-m", "tessera", "worker", "--concurrency", str(concurrency)]
    started = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    try:
        due = utcnow() + timedelta(seconds=LEAD_SECONDS)
        _enqueue(engine, jobs, due_at=due, kind=KINDS[kind])
        deadline = time.monotonic() + LEAD_SECONDS + 600
        while _scalar(engine, UNFINISHED) and time.monotonic() < deadline:
            time.sleep(0.2)
        finished, succeeded, attempts = _row(
            engine,
            "SELECT max(finished_at), count(*) FILTER (WHERE status = 'succeeded'), max(attempts) "
            f"FROM job WHERE kind = '{KINDS[kind]}'",
        )
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in started]
    assert succeeded == jobs and attempts == 1, f"{succeeded} of {jobs} succeeded"
    assert codes == [0] * processes, f"workers exited with {codes}"
    noun = "process" if processes == 1 else "processes"
    return Result(
        f"tessera worker, {processes} {noun}, {kind}",
        f"{processes} x {concurrency}",
        jobs,
        (finished - due).total_seconds(),
    )


# Helpers --------------------------------------------------------------------------------------


def _reset(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("DELETE FROM job"))
        connection.execute(text("DELETE FROM periodic_run"))
        connection.execute(text("VACUUM ANALYZE job"))


def _enqueue(
    engine: Engine,
    jobs: int,
    due_at: Any = None,
    due_in: timedelta | None = None,
    kind: str = "bench.noop",
) -> list[str]:
    run_at = due_at or utcnow() + (due_in or timedelta(0))
    with session_scope(make_session_factory(engine)) as session:
        JobService(session).enqueue_many(kind, ({} for _ in range(jobs)), run_at=run_at)
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT id FROM job ORDER BY id"))]


def _scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def _row(engine: Engine, sql: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql)).one()


def report(results: list[Result], concurrency: int) -> None:
    table = Table(title="Jobs on PostgreSQL: tessera worker next to the bare-UPDATE ceiling")
    for column in ("what", "processes x connections", "rows", "seconds", "per second"):
        table.add_column(column, justify="left" if column == "what" else "right")
    table.add_column("of ceiling", justify="right")
    by_connections = {r.connections: r for r in results if r.what.startswith("bare")}
    for result in results:
        peer = by_connections.get(result.connections)
        share = "" if peer is None or peer is result else f"{result.rate / peer.rate:.0%}"
        table.add_row(
            result.what,
            result.connections,
            f"{result.rows:,}",
            f"{result.seconds:.1f}",
            f"{result.rate:,.0f}",
            share,
        )
    console.print(table)
    console.print(
        f"Each worker runs {concurrency} batches at once (threads, one connection each); a "
        "batch is a claim's no-op jobs in one transaction, and claims grow from "
        f"{get_settings().worker_batch_size} jobs while they come back full. Its ceiling is the "
        "bare UPDATE from as many connections. "
        f"{os.cpu_count()} cores, shared by the workers and PostgreSQL."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_jobs", description=__doc__)
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per run")
    parser.add_argument("--concurrency", type=int, default=8, help="threads per worker")
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=sorted(KINDS),
        default=["batchable", "alone"],
        help="no-op jobs run in batches (batchable) or each in its own transaction (alone)",
    )
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2], help="worker processes per run"
    )
    options = parser.parse_args(argv)
    url = bench_database_url(console)
    if url is None:
        return 0
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            server = connection.execute(text("SHOW server_version")).scalar_one()
        console.print(f"PostgreSQL {server}; {options.jobs:,} jobs per run")
        results = []
        for processes in options.processes:
            with console.status(f"bare UPDATEs from {processes} x {options.concurrency}…"):
                results.append(ceiling(url, engine, options.jobs, processes, options.concurrency))
            for kind in options.kinds:
                with console.status(f"{processes} worker process(es), {kind} jobs…"):
                    results.append(
                        workers(url, engine, options.jobs, processes, options.concurrency, kind)
                    )
        report(results, options.concurrency)
    finally:
        _reset(engine)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
