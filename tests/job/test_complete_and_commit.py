"""A job's completion and its transaction's commit in one round trip (PostgreSQL pipeline),
on a committed database of each backend: the handler's writes commit with the completion,
and a lost lease commits neither."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.job.runner import LeaseLost, Worker
from tessera.job.service import JobService
from tests.job.probes import create_probe_table


@pytest.fixture
def committed(committed_database_url: str) -> Iterator[Engine]:
    engine = make_engine(committed_database_url)
    with engine.begin() as connection:
        create_probe_table(connection)
        connection.execute(text("DELETE FROM job"))
    yield engine
    engine.dispose()


def _probe_and_complete(engine: Engine, worker: Worker, key: str) -> bool:
    [job] = worker.claim(1)
    factory = make_session_factory(engine)
    if key == "stolen":  # another worker claimed it again once the lease ran out
        with engine.begin() as connection:
            connection.execute(text("UPDATE job SET locked_by = 'someone else'"))
    try:
        with session_scope(factory) as session:
            session.execute(
                text("INSERT INTO job_probe (job_key, pid) VALUES (:key, 1)"), {"key": key}
            )
            if not JobService(session).complete_and_commit(job, worker.name, worker.clock()):
                raise LeaseLost(job.id)
    except LeaseLost:
        return False
    return True


@pytest.mark.parametrize("key", ["kept", "stolen"])
def test_the_handlers_writes_commit_with_the_completion_only_while_the_lease_holds(
    committed: Engine, key: str
) -> None:
    factory = make_session_factory(committed)
    with session_scope(factory) as session:
        JobService(session).enqueue("probe.recorded", {"key": key})
    worker = Worker(factory, run_periodic=False, name="worker-a")
    worker.lease = timedelta(minutes=5)

    done = _probe_and_complete(committed, worker, key)

    with committed.connect() as connection:
        probes = connection.execute(text("SELECT count(*) FROM job_probe")).scalar_one()
        status = connection.execute(text("SELECT status FROM job")).scalar_one()
    assert done is (key == "kept")
    assert probes == (1 if key == "kept" else 0)
    assert status == ("succeeded" if key == "kept" else "running")
