"""Journeys on real ``tessera worker`` processes against PostgreSQL: a worker SIGKILLed in the
middle of hundreds of journeys loses none and repeats no step, and concurrent triggers for
one person and one cart make one instance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.config import load_settings
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.identity.graph.service import IdentityService
from tessera.job.registry import import_handler_modules
from tessera.job.runner import Worker
from tessera.job.service import JobService
from tessera.journey import domain
from tessera.journey.definition import Branch
from tessera.journey.service import JourneyService
from tessera.journey.triggers import TRIGGER_JOB
from tessera.kit.time import utcnow
from tessera.models.journey import JourneyInstance, JourneyStepRun
from tessera.worker import TASK_MODULES
from tests.job.test_processes import Workers, rows, scalar, wait_until
from tests.journey.flows import (
    ACTOR,
    BRANCHES,
    DURABLE,
    identify,
    journey_doc,
    make_templates,
    track,
)
from tests.support.factories import make_workspace

PEOPLE = 300


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


def expected_path(instance: JourneyInstance, gold: bool) -> list[tuple[str, str]]:
    holdout = domain.pick_branch(instance.id, "split", [Branch(**b) for b in BRANCHES]) == 1
    return [
        ("settle", "waited"),
        ("check", "then" if gold else "otherwise"),
        *([("text", "queued")] if gold else []),
        ("split", "holdout" if holdout else "branch_1"),
        ("email", "held_out" if holdout else "queued"),
        ("mark", "trait_set"),
        ("later", "waited"),
        ("end", "completed"),
    ]


def test_a_worker_killed_mid_journey_loses_nobody_and_repeats_no_step(
    pg: Engine, workers: Workers
) -> None:
    """300 people enter a journey of delays, a split, sends and a holdout (their events are a
    month old, so every delay is already due on the wall clock). One worker is SIGKILLed while
    they are on their way; a second one finishes. Every instance completes exactly once, its
    history is the path its trait and its hash dictate, one job per visit, nothing dead."""
    month_ago = utcnow() - timedelta(days=30)
    settings = load_settings(database_url=pg.url.render_as_string(hide_password=False))
    with session_scope(factory(pg)) as session:
        workspace_id = make_workspace(session, "durable")
        make_templates(session, workspace_id, DURABLE)
        CollectService(session).ingest(  # the workspace knows the trait the journey reads
            Sender(workspace_id, None), [identify("i0", month_ago, "seed", tier="gold")], "test"
        )
    import_handler_modules(TASK_MODULES)
    Worker(factory(pg), settings, run_periodic=False).run_until_idle()
    with session_scope(factory(pg)) as session:
        service = JourneyService(session)
        journey = service.create(workspace_id, DURABLE, actor=ACTOR)
        service.publish(workspace_id, journey.id, actor=ACTOR)
    for first in range(0, PEOPLE, 100):
        with session_scope(factory(pg)) as session:
            CollectService(session).ingest(
                Sender(workspace_id, None),
                [
                    track(
                        f"c{n}",
                        "Checkout Started",
                        month_ago + timedelta(seconds=n),
                        user_id=f"user-{n}",
                        traits={"tier": "gold" if n % 3 == 0 else "silver"},
                        cart_id=f"cart-{n}",
                    )
                    for n in range(first, first + 100)
                ],
                "test",
            )

    def completed() -> int:
        return int(
            scalar(pg, "SELECT count(*) FROM journey_instance WHERE exit_reason = 'completed'")
        )

    doomed = workers.start(pg, "tessera.journey.tasks", concurrency=4, lease=2.0)
    wait_until(lambda: completed() >= PEOPLE // 10, 120, workers)
    doomed.kill()
    doomed.wait()
    held = rows(pg, "SELECT id FROM job WHERE status = 'running'")
    done_at_kill = completed()
    rescuer = workers.start(pg, "tessera.journey.tasks", concurrency=4, lease=2.0)
    wait_until(
        lambda: (
            completed() == PEOPLE
            and scalar(pg, "SELECT count(*) FROM job WHERE status IN ('queued', 'running')") == 0
        ),
        300,
        workers,
    )
    assert workers.stop(rescuer) == 0

    assert held != []
    assert done_at_kill < PEOPLE
    rerun = rows(pg, "SELECT id FROM job WHERE attempts >= 2")
    assert set(held) <= set(rerun)  # what the dead worker held ran again, once more
    assert rows(pg, "SELECT status, count(*) FROM job WHERE status <> 'succeeded' GROUP BY 1") == []
    with session_scope(factory(pg)) as session:
        instances = session.scalars(select(JourneyInstance)).all()
        runs: dict[str, list[JourneyStepRun]] = {}
        for run in session.scalars(select(JourneyStepRun).order_by(JourneyStepRun.visit)):
            runs.setdefault(run.instance_id, []).append(run)
        assert len(instances) == PEOPLE
        for instance in instances:
            gold = int(instance.entry_key.removeprefix("cart-")) % 3 == 0
            path = [(run.step, run.outcome) for run in runs[instance.id]]
            assert path == expected_path(instance, gold), instance.entry_key
            assert [run.visit for run in runs[instance.id]] == list(range(1, len(path) + 1))
            assert instance.visit == len(path)
        visits = sum(len(found) for found in runs.values())
    assert scalar(pg, "SELECT count(*) FROM job WHERE kind = 'journey.step_due'") == visits


def test_concurrent_triggers_for_one_cart_make_one_instance(
    pg: Engine, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty Checkout Started events for one person's cart, each in its own trigger job, run
    at once by three worker processes one job at a time: one instance, and every job succeeded
    at its first attempt (a plain INSERT would have failed the losers on the unique index)."""
    now = utcnow()
    settings = load_settings(database_url=pg.url.render_as_string(hide_password=False))
    with session_scope(factory(pg)) as session:
        workspace_id = make_workspace(session, "racing")
        make_templates(session, workspace_id, journey_doc())
        journey = JourneyService(session).create(workspace_id, journey_doc(), actor=ACTOR)
        CollectService(session).ingest(
            Sender(workspace_id, None),
            [
                track(f"r{n}", "Checkout Started", now, user_id="ana", cart_id="cart-1")
                for n in range(40)
            ],
            "test",
        )
    import_handler_modules(TASK_MODULES)
    Worker(factory(pg), settings, run_periodic=False).run_until_idle()  # the stitch alone
    with session_scope(factory(pg)) as session:
        JourneyService(session).publish(workspace_id, journey.id, actor=ACTOR)
        profile = IdentityService(session).find_profile(workspace_id, "user_id", "ana")
        assert profile is not None
        JobService(session).enqueue_many(
            TRIGGER_JOB,
            [{"workspace_id": workspace_id, "events": [[f"r{n}", profile.id]]} for n in range(40)],
            workspace_id=workspace_id,
        )
    monkeypatch.setenv("TESSERA_WORKER_BATCH_SIZE", "1")

    racers = [workers.start(pg, "tessera.journey.tasks", concurrency=4) for _ in range(3)]
    wait_until(
        lambda: (
            scalar(
                pg,
                "SELECT count(*) FROM job WHERE kind = :kind AND status IN ('queued', 'running')",
                kind=TRIGGER_JOB,
            )
            == 0
        ),
        120,
        workers,
    )
    codes = [workers.stop(process) for process in racers]

    assert codes == [0, 0, 0]
    assert rows(pg, "SELECT entry_key, left_at FROM journey_instance") == [("cart-1", None)]
    assert rows(
        pg,
        "SELECT status, attempts, count(*) FROM job WHERE kind = :kind GROUP BY 1, 2",
        kind=TRIGGER_JOB,
    ) == [("succeeded", 1, 40)]
