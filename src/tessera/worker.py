"""The worker process, built by one function: ``build_worker``.

It imports the modules whose ``@job_handler`` and ``@periodic`` decorators register the job
kinds (every domain's ``tasks.py``, listed in ``TASK_MODULES``, plus any named in
``TESSERA_JOB_MODULES``), makes an engine whose pool fits the worker's threads, and returns a
``Worker``. ``tessera worker`` runs it with signal handling; tests and scripts may run one
in-process.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings, get_settings
from tessera.db.engine import make_engine, make_session_factory
from tessera.job.registry import import_handler_modules
from tessera.job.worker import Worker

# Each domain with background work adds its tasks module here.
TASK_MODULES: tuple[str, ...] = (
    "tessera.job.tasks",
    "tessera.inventory.tasks",
    "tessera.feeds.tasks",
    "tessera.identity.tasks",
    "tessera.identity.match_tasks",
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
        extra = {} if settings.is_sqlite else {"pool_size": concurrency + 2}
        session_factory = make_session_factory(make_engine(settings.database_url, **extra))
    return Worker(
        session_factory,
        settings,
        concurrency=concurrency,
        shutdown_grace=shutdown_grace,
        name=name,
    )
