"""Shared fixtures: every database test runs on SQLite and, when TESSERA_TEST_DATABASE_URL is
set, on PostgreSQL. Each test runs inside a transaction that is rolled back at the end; tests
that need other processes to see their rows use ``committed_database_url`` instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tessera.app import create_app
from tessera.config import Settings, load_settings
from tessera.db.engine import make_engine
from tessera.db.migrate import upgrade
from tessera.kit.process import PROCESS
from tessera.models import Base
from tests.support.databases import BACKENDS, POSTGRES_URL, fresh_postgres
from tests.support.fed_demo import drop_databases, fed_demo, fed_demos  # noqa: F401 - fixtures

# Hypothesis's deadline and its "input generation is slow" check time each example on the
# wall clock; the suite must pass on a machine whose cores are busy, so neither applies.
hypothesis_settings.register_profile(
    "tessera", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("tessera")


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test run, migrated once (None without a server).

    It is created next to TESSERA_TEST_DATABASE_URL's database with this process's id in its
    name, so concurrent test runs on one server never share tables, and dropped at the end.
    """
    if not POSTGRES_URL:
        yield None
        return
    with fresh_postgres(POSTGRES_URL) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database of each backend, shared by the session."""
    if request.param == "postgresql":
        url: str | None = request.getfixturevalue("migrated_postgres")
        assert url
        return url
    path: Path = tmp_path_factory.mktemp("db") / "tessera.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions inside one outer transaction, rolled back when the test ends."""
    with engine.connect() as connection:
        transaction = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        yield factory
        transaction.rollback()


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        environment="test",
        log_json=False,
        secret_key="test-secret-key-with-enough-length",
    )


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def clean_tables(url: str) -> None:
    """Empty every table (committed tests share the database with the others)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def committed_database_url(database_url: str) -> Iterator[str]:
    """The database URL for tests whose rows other processes must see; emptied afterwards."""
    clean_tables(database_url)
    yield database_url
    clean_tables(database_url)


@pytest.fixture
def postgres_url(migrated_postgres: str | None) -> Iterator[str]:
    """For tests that only make sense on PostgreSQL (several processes, SKIP LOCKED).

    CI always sets TESSERA_TEST_DATABASE_URL; on a machine without PostgreSQL these tests are
    skipped with that reason rather than run against something they do not test.
    """
    if migrated_postgres is None:
        pytest.skip("needs PostgreSQL: set TESSERA_TEST_DATABASE_URL (CI does)")
    clean_tables(migrated_postgres)
    yield migrated_postgres
    clean_tables(migrated_postgres)


@pytest.fixture(autouse=True)
def _fresh_process_memory() -> Iterator[None]:
    """Each test starts from an empty process memory (tessera.kit.process): no cache, graph
    memory or channel client of another test's (their local servers are gone) is seen."""
    yield
    PROCESS.reset()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """At the end of the run (in xdist's controller, once every worker is done), drop the fed
    demo's database that the run's processes shared (tests/support/fed_demo.py)."""
    if not hasattr(session.config, "workerinput"):
        drop_databases()
