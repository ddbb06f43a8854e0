"""The worker process, built by one function: ``build_worker``.

It imports the modules whose ``@job_handler`` and ``@periodic`` decorators register the job
kinds (every domain's ``tasks.py``, listed in ``TASK_MODULES``, plus any named in
``TESSERA_JOB_MODULES``), makes an engine whose pool fits the worker's threads, and returns a
``Worker``. ``tessera worker`` runs it with signal handling; tests and scripts may run one
in-process.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from tessera.cli_support import context, friendly_errors
from tessera.config import Settings, get_settings
from tessera.db.engine import make_engine, make_session_factory
from tessera.job.registry import import_handler_modules
from tessera.job.runner import Worker
from tessera.kit.logging import configure_logging, get_logger
from tessera.kit.process import PROCESS

log = get_logger("tessera.worker")

# Each domain with background work adds its tasks module here.
TASK_MODULES: tuple[str, ...] = (
    "tessera.job.tasks",
    "tessera.inventory.tasks",
    "tessera.feed.tasks",
    "tessera.identity.graph.tasks",
    "tessera.identity.match.tasks",
    "tessera.journey.tasks",
    "tessera.message.tasks",
    "tessera.segment.tasks",
    "tessera.loyalty.tasks",
    "tessera.rights.tasks",
    "tessera.analytics.report.tasks",
)


def build_worker(
    settings: Settings | None = None,
    session_factory: sessionmaker[Session] | None = None,
    *,
    concurrency: int = 4,
    shutdown_grace: float = 25.0,
    name: str | None = None,
) -> Worker:
    """A worker with every handler registered, on ``session_factory`` or a new engine."""
    settings = settings or get_settings()
    import_handler_modules([*TASK_MODULES, *settings.job_modules])
    if session_factory is None:
        extra: dict[str, Any] = (
            {} if settings.is_sqlite else {"pool_size": concurrency + 2, "ping_after_idle": 1.0}
        )
        session_factory = make_session_factory(make_engine(settings.database_url, **extra))
    return Worker(
        session_factory,
        settings,
        concurrency=concurrency,
        shutdown_grace=shutdown_grace,
        name=name,
    )


@friendly_errors
def worker_command(
    ctx: typer.Context,
    concurrency: int = typer.Option(
        4, min=1, max=32, help="Jobs run at once (threads); SQLite always runs one"
    ),
    grace: float = typer.Option(
        25.0, min=0, help="Seconds running jobs get to finish after SIGTERM or Ctrl-C"
    ),
) -> None:
    """Run background jobs and timers until SIGTERM or Ctrl-C (a second one exits at once)."""
    cli = context(ctx)
    settings = cli.get_settings()
    configure_logging(settings.log_level, settings.log_json)
    worker = build_worker(
        settings, cli.session_factory, concurrency=concurrency, shutdown_grace=grace
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            log.warning("worker_forced_exit", signal=signal.Signals(signum).name)
            os._exit(1)
        log.info("worker_stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("worker_memory", parts={p.name: p.entries for p in PROCESS.describe()})
        PROCESS.close()
