"""The fed demo, built once per backend for the whole test run and shared by the tests that
only read it.

Seeding the small brand, feeding 30 shoppers through the live API and one worker pass take
half a minute to over a minute a backend; tests/demo's five fed-demo modules check different
sides of the same result. The first process of the run (an xdist worker, or pytest alone) that
asks for a backend's demo builds it in a database of its own (no test's ``clean_tables``
reaches it) under a file lock; the other workers wait for it and reuse it.
``pytest_sessionfinish`` of tests/conftest.py drops it at the end of the run. A test that
writes to it rolls back.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from tempfile import mkdtemp

import pytest
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import load_settings
from tessera.content.storage import ContentFiles, LocalStore, Staging
from tessera.db import make_engine, make_session_factory, session_scope
from tessera.db.admin import drop_database, recreate_database
from tessera.db.migrate import upgrade
from tessera.demo.feed import feed_demo
from tessera.demo.generator import DemoBrand, DemoSize, generate_brand
from tessera.demo.omnichannel import generate_omnichannel
from tessera.demo.people import Omnichannel
from tessera.demo.seed import seed_demo
from tessera.kit.time import utcnow
from tessera.worker import build_worker
from tests.support.databases import BACKENDS, POSTGRES_URL
from tests.support.live import live_server

SEED, SHOPPERS = 3, 30


@dataclass(frozen=True)
class FedDemo:
    """The brand and its seeded workspace, the generated data fed into it, the time it was
    generated up to, and sessions on its database (each test commits nothing it keeps)."""

    brand: DemoBrand
    database_url: str
    workspace_id: str
    data: Omnichannel
    now: datetime
    factory: sessionmaker[Session]


def run_id() -> int:
    """This test run's process: the xdist controller (every worker's parent), or pytest's own
    process without xdist."""
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def postgres_name() -> tuple[str, str]:
    """The server URL and the name of the run's fed demo database on PostgreSQL."""
    assert POSTGRES_URL
    base = load_settings(database_url=POSTGRES_URL).database_url
    return base, f"{make_url(base).database}_{run_id()}_demo"


def drop_databases() -> None:
    """Drop the run's fed demo database on PostgreSQL, if one was made (the run's end)."""
    if POSTGRES_URL:
        drop_database(*postgres_name())


def fresh_database(backend: str, folder: Path) -> str:
    """An empty, migrated database for the fed demo, made again if a failed build left one."""
    if backend == "postgresql":
        url = recreate_database(*postgres_name())
    else:
        for leftover in folder.glob("demo.db*"):
            leftover.unlink()
        url = f"sqlite:///{folder / 'demo.db'}"
    upgrade(url)
    return url


def build(url: str) -> tuple[str, datetime]:
    """The small brand seeded through its services, the shoppers fed through the live API,
    then one worker pass (stitch, route, loyalty, segments, journeys) until idle; returns the
    workspace and the time the data runs up to."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        files = demo_files(Path(mkdtemp(prefix="fed-demo-content-")))
        seeded = seed_demo(session, generate_brand(SEED, DemoSize.named("small")), files)
    now = utcnow()
    with live_server(url) as base_url:
        feed_demo(base_url, seeded.tokens, generate_omnichannel(SEED, SHOPPERS, now))
    build_worker(load_settings(database_url=url), factory).run_until_idle()
    engine.dispose()
    return seeded.workspace_id, now


def demo_files(root: Path) -> ContentFiles:
    """Where a test demo keeps its content library's files."""
    return ContentFiles(LocalStore(root / "objects"), Staging(root / "staging"), 1 << 24, 1 << 24)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (other processes of the run wait for it)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class FedDemos:
    """Each backend's fed demo: built by the first process of the run to ask for it, read
    from its database by every process after that (in whatever order the tests come)."""

    def __init__(self, stack: ExitStack, folder: Path) -> None:
        self.stack = stack
        self.folder = folder
        self.opened: dict[str, FedDemo] = {}

    def get(self, backend: str) -> FedDemo:
        if backend not in self.opened:
            self.opened[backend] = self.open(backend)
        return self.opened[backend]

    def open(self, backend: str) -> FedDemo:
        built = self.folder / f"{backend}.json"
        with locked(self.folder / f"{backend}.lock"):
            if not built.exists():
                url = fresh_database(backend, self.folder)
                workspace_id, now = build(url)
                built.write_text(
                    json.dumps({"url": url, "workspace": workspace_id, "now": now.isoformat()})
                )
        found = json.loads(built.read_text())
        engine = make_engine(found["url"])
        self.stack.callback(engine.dispose)
        now = datetime.fromisoformat(found["now"])
        return FedDemo(
            brand=generate_brand(SEED, DemoSize.named("small")),
            database_url=found["url"],
            workspace_id=found["workspace"],
            # The generator is a pure function of seed, size and end: the data fed, again.
            data=generate_omnichannel(SEED, SHOPPERS, now),
            now=now,
            factory=make_session_factory(engine),
        )


@pytest.fixture(scope="session")
def fed_demos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedDemos]:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's temporary folder is inside the run's, which they share.
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "fed_demo"
    folder.mkdir(exist_ok=True)
    with ExitStack() as stack:
        yield FedDemos(stack, folder)


@pytest.fixture(params=BACKENDS)
def fed_demo(request: pytest.FixtureRequest, fed_demos: FedDemos) -> FedDemo:
    """The fed demo on each backend, shared by the run: read it, or roll back what you write."""
    return fed_demos.get(request.param)
