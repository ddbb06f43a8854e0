"""Due timers fired per second through ``tessera worker`` with many instances waiting, next to
the ceiling, and how late each fired.

A journey's delay is a job due at a time (``run_at``): a waiting instance is one queued job due
later. Each run fills the job table with ``--instances`` waiting timers (default 100,000;
``--instances 1000000`` for the Engage target), most due days from now, and ``--due`` of them
due within the measured window: spread evenly over ``--window`` seconds starting a few seconds
after the workers start (``--window 0``: all at once, a burst). A timer fires when a worker
claims its job (``started_at``); its lateness is ``started_at - run_at``. The handler does
nothing and is not batchable, like ``journey.step_due``: each timer runs in its own
transaction.

The ceiling is the same firing with nothing of ours around it: the ``--due`` timers all due, and
bare ``UPDATE job SET status = 'succeeded' ... WHERE id = (the earliest due queued row, FOR
UPDATE SKIP LOCKED)`` statements, one timer per transaction, from as many connections as the
workers use, with the same waiting rows in the table: the due timers it fires per second.

It also times the worker's claim when nothing is due (every idle poll runs it) and prints the
plan PostgreSQL picks for it, so an index that stops serving the claim at this size shows.

``python -m bench.bench_timers [--instances 100000] [--due 5000] [--window 10]
[--processes 1] [--concurrency 8]``. Needs PostgreSQL (TESSERA_BENCH_DATABASE_URL).
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

from bench._database import bench_database_url, server_settings
from tessera.db.engine import make_engine, make_session_factory
from tessera.job.registry import job_handler
from tessera.job.repository import CLAIM_IN_ONE, JobRepository
from tessera.kit.time import utcnow

ROOT = Path(__file__).resolve().parent.parent
LEAD_SECONDS = 10.0  # the first timer is due this long after the workers start (imports)
KIND = "bench.timer_fired"
console = Console()

# Waiting timers, due one to thirty days from now; then the measured ones, due at
# :start + i * :step. Both inserted by the server (generate_series): a million rows in seconds.
INSERT_TIMERS = """
INSERT INTO job (id, kind, payload, status, priority, run_at, attempts, max_attempts, created_at)
SELECT :prefix || lpad(i::text, 9, '0'), :kind, '{}'::jsonb, 'queued', 100,
       :start + (i::bigint * :step) * interval '1 microsecond', 0, 8, now()
FROM generate_series(0, :count - 1) AS i
"""
BARE_FIRE = """
UPDATE job SET status = 'succeeded', started_at = now(), finished_at = now()
WHERE id = (SELECT id FROM job WHERE status = 'queued' AND run_at <= now()
            ORDER BY priority, run_at LIMIT 1 FOR UPDATE SKIP LOCKED)
"""


@job_handler(KIND)
def timer_fired(session: Session, payload: dict[str, Any]) -> None:
    """Does nothing, in its own transaction: the bench measures firing, not the step."""


@dataclass(frozen=True)
class Result:
    what: str
    connections: str
    fired: int
    seconds: float
    lateness: tuple[float, float, float] | None = None  # p50, p99, max seconds

    @property
    def rate(self) -> float:
        return self.fired / self.seconds


def fill(engine: Engine, instances: int, due: int) -> None:
    """Empty the job table and insert ``instances - due`` timers waiting for days."""
    waiting = instances - due
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("DELETE FROM job"))
        connection.execute(text("DELETE FROM periodic_run"))
        connection.execute(
            text(INSERT_TIMERS),
            {
                "prefix": "job_w",
                "kind": KIND,
                "start": utcnow() + timedelta(days=1),
                "step": max(1, int(29 * 86_400 * 1e6 / max(waiting, 1))),
                "count": waiting,
            },
        )
        connection.execute(text("VACUUM ANALYZE job"))


def add_due(engine: Engine, due: int, start: Any, window: float) -> None:
    """Insert the ``due`` measured timers, due from ``start`` over ``window`` seconds."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("DELETE FROM job WHERE id LIKE 'job_d%'"))
        connection.execute(
            text(INSERT_TIMERS),
            {
                "prefix": "job_d",
                "kind": KIND,
                "start": start,
                "step": int(window * 1e6 / due),
                "count": due,
            },
        )
        connection.execute(text("ANALYZE job"))


def idle_claim(engine: Engine) -> tuple[float, str]:
    """Milliseconds the worker's claim takes when nothing is due (best of five), and the scans
    in its plan."""
    factory = make_session_factory(engine)
    best = float("inf")
    for _ in range(5):
        with factory() as session:
            now = utcnow()
            began = time.perf_counter()
            JobRepository(session).claim("bench", now, now + timedelta(seconds=30), 20)
            best = min(best, time.perf_counter() - began)
            session.rollback()
    now = utcnow()
    params = {
        "now": now,
        "limit": 20,
        "worker": "bench",
        "locked_until": now,
        "lease_error": "",
    }
    with engine.connect() as connection:
        plan = connection.execute(text(f"EXPLAIN {CLAIM_IN_ONE}"), params).all()
    scans = sorted(
        {
            line.strip().split(" on ")[0] + " on " + line.split(" on ")[1].split()[0]
            for (line,) in plan
            if " on " in line and "Scan" in line
        }
    )
    return best * 1000, "; ".join(scan.lstrip("-> ") for scan in scans)


# The ceiling ----------------------------------------------------------------------------------


def _fire_until_none(url: str, start: Any) -> None:
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        driver.autocommit = True
        start.wait()
        with driver.cursor() as cursor:
            while True:
                cursor.execute(BARE_FIRE)
                if cursor.rowcount == 0:
                    return
    finally:
        raw.close()
        engine.dispose()


def _ceiling_process(url: str, threads: int, start: Any) -> None:
    workers = [threading.Thread(target=_fire_until_none, args=(url, start)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def ceiling(url: str, engine: Engine, due: int, processes: int, threads: int) -> Result:
    add_due(engine, due, utcnow() - timedelta(minutes=1), 0.0)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    children = [
        context.Process(target=_ceiling_process, args=(url, threads, start))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    time.sleep(2.0)  # let the children import and connect before the clock starts
    began = time.perf_counter()
    start.set()
    for child in children:
        child.join()
    seconds = time.perf_counter() - began
    fired = _scalar(
        engine, "SELECT count(*) FROM job WHERE id LIKE 'job_d%' AND status = 'succeeded'"
    )
    assert fired == due, f"the ceiling fired {fired} of {due}"
    return Result(
        "bare UPDATE of the earliest due row, one per transaction",
        f"{processes} x {threads}",
        due,
        seconds,
    )


# The workers ----------------------------------------------------------------------------------


def workers(
    url: str, engine: Engine, due: int, window: float, processes: int, concurrency: int
) -> Result:
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": url,
        "TESSERA_JOB_MODULES": "bench.bench_timers",
        "TESSERA_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    command = [sys.executable, "-m", "tessera", "worker", "--concurrency", str(concurrency)]
    first = utcnow() + timedelta(seconds=LEAD_SECONDS)
    add_due(engine, due, first, window)
    started = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    unfired = "SELECT count(*) FROM job WHERE id LIKE 'job_d%' AND status <> 'succeeded'"
    try:
        deadline = time.monotonic() + LEAD_SECONDS + window + 900
        while _scalar(engine, unfired) and time.monotonic() < deadline:
            time.sleep(0.5)
        stats = _row(
            engine,
            "SELECT count(*), max(attempts), max(finished_at), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY late), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY late), max(late) "
            "FROM (SELECT attempts, finished_at, extract(epoch FROM started_at - run_at) AS late "
            "      FROM job WHERE id LIKE 'job_d%' AND status = 'succeeded') AS fired",
        )
        waiting = _scalar(
            engine, "SELECT count(*) FROM job WHERE id LIKE 'job_w%' AND status = 'queued'"
        )
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in started]
    fired, attempts, last, p50, p99, worst = stats
    assert fired == due and attempts == 1, f"{fired} of {due} fired, up to {attempts} attempts"
    assert codes == [0] * processes, f"workers exited with {codes}"
    assert waiting, "the waiting timers must stay waiting"
    noun = "process" if processes == 1 else "processes"
    return Result(
        f"tessera worker, {processes} {noun}",
        f"{processes} x {concurrency}",
        due,
        (last - first).total_seconds(),
        (float(p50), float(p99), float(worst)),
    )


# Helpers --------------------------------------------------------------------------------------


def _scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def _row(engine: Engine, sql: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql)).one()


def report(results: list[Result], options: argparse.Namespace) -> None:
    table = Table(
        title=f"Timers on PostgreSQL, {options.instances:,} waiting: firing next to the ceiling"
    )
    for column in ("what", "processes x connections", "fired", "seconds", "per second"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for column in ("of ceiling", "late p50", "late p99", "late max"):
        table.add_column(column, justify="right")
    peers = {r.connections: r for r in results if r.lateness is None}
    for result in results:
        peer = peers.get(result.connections)
        share = "" if peer is None or peer is result else f"{result.rate / peer.rate:.0%}"
        late = [f"{value:.2f} s" for value in result.lateness] if result.lateness else ["", "", ""]
        table.add_row(
            result.what,
            result.connections,
            f"{result.fired:,}",
            f"{result.seconds:.1f}",
            f"{result.rate:,.0f}",
            share,
            *late,
        )
    console.print(table)
    offered = "all at once" if options.window == 0 else f"{options.due / options.window:,.0f}/s"
    console.print(
        f"{options.due:,} timers due over {options.window:g} s (offered {offered}); the workers' "
        "rate is timers over the time from the first due moment to the last completion, so it "
        "is capped by the offered rate. Lateness: claim time minus due time. "
        f"{os.cpu_count()} cores, shared by the workers and PostgreSQL."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_timers", description=__doc__)
    parser.add_argument("--instances", type=int, default=100_000, help="timers in the table")
    parser.add_argument("--due", type=int, default=5_000, help="timers fired per run")
    parser.add_argument("--window", type=float, default=10.0, help="seconds they fall due over")
    parser.add_argument("--processes", type=int, default=1, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=8, help="threads per worker")
    options = parser.parse_args(argv)
    if not 0 < options.due < options.instances:
        parser.error("--due must be between 1 and --instances")
    url = bench_database_url(console)
    if url is None:
        return 0
    engine = make_engine(url)
    try:
        console.print(f"{server_settings(url)}; filling {options.instances:,} timers…")
        fill(engine, options.instances, options.due)
        millis, plan = idle_claim(engine)
        console.print(f"the claim, nothing due: {millis:.1f} ms (best of 5); its scans: {plan}")
        results = []
        with console.status("bare UPDATEs…"):
            results.append(
                ceiling(url, engine, options.due, options.processes, options.concurrency)
            )
        with console.status("tessera worker…"):
            results.append(
                workers(
                    url,
                    engine,
                    options.due,
                    options.window,
                    options.processes,
                    options.concurrency,
                )
            )
        report(results, options)
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("DELETE FROM job"))
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
