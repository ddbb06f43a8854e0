"""Trigger-to-send latency of a journey on PostgreSQL at an offered event rate, with one and two
``tessera worker`` processes.

A published journey enters on ``Checkout Started`` (keyed by cart) and its first step sends an
email. A driver ingests the events at ``--rate`` per second for ``--seconds`` through
``CollectService.ingest`` (what ``POST /v1/track`` calls once the request is parsed), in ten
batches a second, each event a new person and cart. The workers run what follows: the identity
graph's stitch job, the journey's trigger job (the person enters), and the step job that
sends. An event's latency is from the moment its batch was handed to ingest to the moment its
send step recorded its outcome (``journey_step_run.recorded_at``, written in the step's
transaction, just before it commits).

What "send" means here: the step hands the message to the registered ``Sender`` in its
transaction (ADR 0022). The worker registers none yet, so the step records ``send_pending``
(``RecordIntent``); once the message package is wired in, the step writes its outbox row
instead, in the same transaction, and this measures to that row. The provider call happens in
a later job and is not in the figure.

``python -m bench.bench_journeys [--rate 200] [--seconds 10] [--processes 1 2]
[--concurrency 8]``; ``--rate 1000`` for the Engage target. Needs PostgreSQL
(TESSERA_BENCH_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench._database import bench_database_url, server_settings
from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.journey.service import JourneyService
from tessera.kit.time import utcnow
from tessera.message.templates import TemplateDraft, TemplateService
from tessera.models.journey import JourneyInstance, JourneyStepRun
from tessera.workspace.service import WorkspaceService

ROOT = Path(__file__).resolve().parent.parent
BATCHES_PER_SECOND = 10
WORKERS_START_SECONDS = 4.0  # the workers import and connect before the first event
DRAIN_SECONDS = 300.0  # how long the workers get after the last event
JOURNEY: dict[str, Any] = {
    "name": "Bench: send on checkout",
    "entry": {"kind": "event", "event": "Checkout Started", "key": "properties.cart_id"},
    "start": "send",
    "steps": [
        {"id": "send", "type": "send_email", "template": "bench_cart", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}
console = Console()


@dataclass(frozen=True)
class Result:
    processes: int
    concurrency: int
    offered: float  # events per second the driver managed to hand over
    events: int
    sent: int
    latencies: list[float]  # seconds, sorted

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        index = min(len(self.latencies) - 1, round(share * (len(self.latencies) - 1)))
        return self.latencies[index]


def setup(factory: sessionmaker[Session]) -> str:
    """A fresh workspace with the journey published; returns the workspace's id."""
    with session_scope(factory) as session:
        workspace = WorkspaceService(session).create_workspace(
            "Bench Journeys", f"bench-journeys-{secrets.token_hex(4)}"
        )
        TemplateService(session).create(
            workspace.id,
            TemplateDraft(
                name="bench_cart",
                channel="email",
                subject="Your cart, {{ profile.first_name }}",
                body="You left something behind, {{ profile.first_name }}.",
            ),
            actor="bench",
        )
        journeys = JourneyService(session)
        journey = journeys.create(workspace.id, JOURNEY, actor="bench")
        journeys.publish(workspace.id, journey.id, actor="bench")
        return workspace.id


def drive(
    factory: sessionmaker[Session], workspace_id: str, rate: int, seconds: float, run: str
) -> tuple[dict[str, datetime], float]:
    """Ingest ``rate`` events a second for ``seconds``; returns each cart's hand-over time and
    the rate achieved (the driver shares the cores with the workers and may fall behind)."""
    per_batch = max(1, rate // BATCHES_PER_SECOND)
    batches = max(1, round(seconds * rate / per_batch))
    sender = Sender(workspace_id, None)
    handed: dict[str, datetime] = {}
    began = time.perf_counter()
    for number in range(batches):
        due = began + number * per_batch / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        at = utcnow()
        messages = []
        for index in range(per_batch):
            cart = f"{run}-{number}-{index}"
            handed[cart] = at
            messages.append(
                {
                    "type": "track",
                    "event": "Checkout Started",
                    "messageId": f"m-{cart}",
                    "userId": f"u-{cart}",
                    "timestamp": at.isoformat(),
                    "properties": {"cart_id": cart, "total": 4200},
                }
            )
        with session_scope(factory) as session:
            CollectService(session).ingest(sender, messages, "bench", received_at=at)
    elapsed = time.perf_counter() - began
    return handed, len(handed) / max(elapsed, 1e-9)


def sent_at(factory: sessionmaker[Session], workspace_id: str) -> dict[str, datetime]:
    """Each cart's send step's recorded time."""
    with factory() as session:
        rows = session.execute(
            select(JourneyInstance.entry_key, JourneyStepRun.recorded_at)
            .join(JourneyStepRun, JourneyStepRun.instance_id == JourneyInstance.id)
            .where(JourneyInstance.workspace_id == workspace_id, JourneyStepRun.step == "send")
        ).all()
    return {key: at for key, at in rows}


def run_once(
    url: str, engine: Engine, rate: int, seconds: float, processes: int, concurrency: int
) -> Result:
    factory = make_session_factory(engine)
    workspace_id = setup(factory)
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": url,
        "TESSERA_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    command = [sys.executable, "-m", "tessera", "worker", "--concurrency", str(concurrency)]
    started = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    try:
        time.sleep(WORKERS_START_SECONDS)
        handed, offered = drive(factory, workspace_id, rate, seconds, secrets.token_hex(3))
        deadline = time.monotonic() + DRAIN_SECONDS
        sent = sent_at(factory, workspace_id)
        while len(sent) < len(handed) and time.monotonic() < deadline:
            time.sleep(0.5)
            sent = sent_at(factory, workspace_id)
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in started]
    assert codes == [0] * processes, f"workers exited with {codes}"
    latencies = sorted(
        (sent[cart] - at).total_seconds() for cart, at in handed.items() if cart in sent
    )
    return Result(processes, concurrency, offered, len(handed), len(sent), latencies)


def jobs_left(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM job WHERE status IN ('queued', 'running')")
            ).scalar_one()
        )


def report(results: list[Result], rate: int, seconds: float) -> None:
    table = Table(title=f"Journeys on PostgreSQL: trigger to send at {rate:,} events/s")
    columns = ("workers", "offered /s", "events", "sent", "p50", "p99", "max")
    for column in columns:
        table.add_column(column, justify="right")
    for result in results:
        noun = "process" if result.processes == 1 else "processes"
        table.add_row(
            f"{result.processes} {noun} x {result.concurrency}",
            f"{result.offered:,.0f}",
            f"{result.events:,}",
            f"{result.sent:,}",
            f"{result.percentile(0.5):.2f} s",
            f"{result.percentile(0.99):.2f} s",
            f"{result.latencies[-1] if result.latencies else float('nan'):.2f} s",
        )
    console.print(table)
    console.print(
        f"{seconds:g} s of Checkout Started events, each a new person, handed to "
        "CollectService.ingest in 10 batches a second; latency to the send step's recorded "
        "outcome (stitch, trigger and step jobs in between; the provider call is not in it). "
        f"{os.cpu_count()} cores, shared by the driver, the workers and PostgreSQL."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_journeys", description=__doc__)
    parser.add_argument("--rate", type=int, default=200, help="events offered per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long events arrive")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=8, help="threads per worker")
    options = parser.parse_args(argv)
    url = bench_database_url(console)
    if url is None:
        return 0
    engine = make_engine(url)
    try:
        console.print(f"{server_settings(url)}; {options.rate:,} events/s")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("DELETE FROM job"))
        results = []
        for processes in options.processes:
            with console.status(f"{processes} worker process(es)…"):
                results.append(
                    run_once(
                        url,
                        engine,
                        options.rate,
                        options.seconds,
                        processes,
                        options.concurrency,
                    )
                )
            if jobs_left(engine):
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(text("DELETE FROM job WHERE status IN ('queued', 'running')"))
        report(results, options.rate, options.seconds)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
