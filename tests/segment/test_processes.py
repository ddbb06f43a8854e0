"""Segments on real ``tessera worker`` processes against PostgreSQL: many recomputes of one
person at once leave one membership and one Segment Entered event."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.config import load_settings
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.identity.graph.service import IdentityService
from tessera.job.registry import import_handler_modules
from tessera.job.runner import Worker
from tessera.job.service import JobService
from tessera.kit.time import utcnow
from tessera.models.segment import Segment
from tessera.segment.tasks import CHANGED_JOB
from tessera.worker import TASK_MODULES
from tests.job.test_processes import Workers, rows, scalar, wait_until
from tests.journey.flows import track
from tests.support.factories import make_workspace


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.kill_all()


def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def test_concurrent_recomputes_of_one_person_enter_them_once(
    pg: Engine, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty recompute jobs for one person who now matches, run at once by three worker
    processes one job at a time: one membership row, one Segment Entered event, and every
    job succeeded at its first attempt (the evaluation row's lock makes them take turns)."""
    now = utcnow()
    settings = load_settings(database_url=pg.url.render_as_string(hide_password=False))
    with session_scope(factory(pg)) as session:
        workspace_id = make_workspace(session, "racing-segments")
        CollectService(session).ingest(
            Sender(workspace_id, None),
            [track(f"v{n}", "Product Viewed", now, user_id="ana") for n in range(3)],
            "test",
        )
    import_handler_modules(TASK_MODULES)
    Worker(factory(pg), settings, run_periodic=False).run_until_idle()  # the stitch alone
    with session_scope(factory(pg)) as session:
        session.add(
            Segment(
                workspace_id=workspace_id,
                name="Viewers",
                rule={"kind": "event", "event": "Product Viewed", "min_count": 3},
            )
        )
        profile = IdentityService(session).find_profile(workspace_id, "user_id", "ana")
        assert profile is not None
        JobService(session).enqueue_many(
            CHANGED_JOB,
            [{"workspace_id": workspace_id, "profile_ids": [profile.id]} for _ in range(40)],
            workspace_id=workspace_id,
        )
    monkeypatch.setenv("TESSERA_WORKER_BATCH_SIZE", "1")

    racers = [workers.start(pg, "tessera.segment.tasks", concurrency=4) for _ in range(3)]
    wait_until(
        lambda: (
            scalar(
                pg,
                "SELECT count(*) FROM job WHERE kind = :kind AND status IN ('queued', 'running')",
                kind=CHANGED_JOB,
            )
            == 0
        ),
        120,
        workers,
    )
    codes = [workers.stop(process) for process in racers]

    # On a busy machine two racers may do all forty jobs while the third is still importing;
    # SIGTERM then ends it before its handler is installed (-15). Stopping gracefully is the
    # job runner's test; here no racer may crash.
    assert all(code in (0, -signal.SIGTERM) for code in codes), codes
    assert rows(pg, "SELECT profile_id FROM segment_member") == [(profile.id,)]
    assert rows(
        pg,
        "SELECT event FROM event WHERE channel = 'segment' AND workspace_id = :ws",
        ws=workspace_id,
    ) == [("Segment Entered",)]
    assert rows(
        pg,
        "SELECT status, attempts, count(*) FROM job WHERE kind = :kind GROUP BY 1, 2",
        kind=CHANGED_JOB,
    ) == [("succeeded", 1, 40)]
