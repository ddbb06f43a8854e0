"""A recompute racing a merge on PostgreSQL: each side in its own connection, the interleaving
forced with row locks and observed in ``pg_stat_activity``, never with sleeps.

The recompute that began while a person was live must not leave a membership for them once
they have been merged away, whichever of it and the merge's own recompute commits first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.config import load_settings
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.identity.graph.service import IdentityService
from tessera.job.registry import import_handler_modules
from tessera.job.runner import Worker
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow
from tessera.models.segment import Segment
from tessera.segment.membership import Membership
from tessera.worker import TASK_MODULES
from tests.job.test_processes import rows, scalar
from tests.journey.flows import identify, track
from tests.support.factories import make_workspace

VIEWERS = {"kind": "event", "event": "Product Viewed", "min_count": 3}
ANAS = {"kind": "trait", "trait": "first_name", "op": "eq", "value": "Ana"}


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def blocking(pg: Engine) -> Iterator[Callable[[Engine], Connection]]:
    """Opens the connection whose uncommitted rows hold the racers up; closed (its locks let
    go) whatever happens, so a failing test cannot leave a racer waiting forever."""
    opened: list[Connection] = []

    def open_one(engine: Engine) -> Connection:
        connection = engine.connect()
        connection.begin()
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        connection.close()


class Racer(threading.Thread):
    """Runs ``work`` in its own session (its own connection) and commits; keeps a failure."""

    def __init__(self, factory: sessionmaker[Session], work: Callable[[Session], object]) -> None:
        super().__init__(daemon=True)
        self.factory, self.work = factory, work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with session_scope(self.factory) as session:
                self.work(session)
        except BaseException as error:  # reported by the test's join
            self.error = error


def waiting_on_locks(pg: Engine) -> int:
    return int(
        scalar(
            pg,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
    )


def wait_for_waiters(pg: Engine, count: int, racers: list[Racer]) -> None:
    """Until ``count`` backends wait on a lock, or the last racer is done without waiting
    (polled; a racer that failed ends the wait)."""
    deadline = time.monotonic() + 60
    while waiting_on_locks(pg) < count and racers[-1].is_alive():
        failed = [r.error for r in racers if r.error is not None]
        if failed:
            raise AssertionError(f"a racer failed: {failed[0]!r}")
        if time.monotonic() > deadline:
            pytest.fail(f"{count} lock waiters never showed up")
        time.sleep(0.02)


def test_a_recompute_racing_a_merge_leaves_no_membership_for_the_absorbed(
    pg: Engine, blocking: Callable[[Engine], Connection]
) -> None:
    """Ana matches Viewers; a recompute of her is writing her membership (held up on the
    member row's lock) when she is merged into Bea and the merge's recompute runs: the merge's
    recompute waits for the first to commit and then removes Ana's row, so only the survivor
    is left in the segment."""
    factory = make_session_factory(pg)
    now = utcnow()
    with session_scope(factory) as session:
        workspace_id = make_workspace(session, "merge-race")
        events = [track("b0", "Signed Up", now, anonymous_id="device-bea")]
        events += [track(f"a{n}", "Product Viewed", now, user_id="ana") for n in range(3)]
        CollectService(session).ingest(Sender(workspace_id, None), events, "test")
    import_handler_modules(TASK_MODULES)
    settings = load_settings(database_url=pg.url.render_as_string(hide_password=False))
    Worker(factory, settings, run_periodic=False).run_until_idle()  # the stitch alone
    with session_scope(factory) as session:
        segment = Segment(workspace_id=workspace_id, name="Viewers", rule=VIEWERS)
        session.add(segment)
        session.flush()
        segment_id = segment.id
        identity = IdentityService(session)
        ana = identity.find_profile(workspace_id, "user_id", "ana")
        bea = identity.find_profile(workspace_id, "anonymous_id", "device-bea")
        assert ana is not None and bea is not None
        ana_id, bea_id = ana.id, bea.id
    blocker = blocking(pg)
    blocker.execute(  # an uncommitted row of Ana's: the first recompute's insert waits on it
        text(
            "INSERT INTO segment_member (id, workspace_id, segment_id, profile_id, entered_at) "
            "VALUES (:id, :ws, :segment, :profile, now())"
        ),
        {"id": new_id("sgm"), "ws": workspace_id, "segment": segment_id, "profile": ana_id},
    )

    first = Racer(factory, lambda s: Membership(s).recompute(workspace_id, [ana_id]))
    first.start()
    wait_for_waiters(pg, 1, [first])
    with session_scope(factory) as session:
        survivor = IdentityService(session).merge_profiles(
            workspace_id, bea_id, ana_id, cause_kind="manual", cause_ref="race test"
        )
        assert survivor.survivor_profile_id == bea_id
    after_merge = Racer(factory, lambda s: Membership(s).recompute(workspace_id, [ana_id]))
    after_merge.start()
    wait_for_waiters(pg, 2, [first, after_merge])
    blocker.rollback()
    for racer in (first, after_merge):
        racer.join(60)
        assert not racer.is_alive() and racer.error is None, racer.error

    assert rows(
        pg, "SELECT profile_id FROM segment_member WHERE segment_id = :s", s=segment_id
    ) == [(bea_id,)]
    assert rows(
        pg, "SELECT profile_id FROM segment_evaluation WHERE workspace_id = :ws", ws=workspace_id
    ) == [(bea_id,)]


def test_a_recompute_that_waited_through_a_merge_writes_nothing_for_the_absorbed(
    pg: Engine, blocking: Callable[[Engine], Connection]
) -> None:
    """A recompute resolves Ana (first name Ana) as live, then waits for her evaluation row
    (held by another transaction) while she is merged into Bea: once it has the row it reads
    her again, sees her merged, and writes no membership for her."""
    factory = make_session_factory(pg)
    now = utcnow()
    with session_scope(factory) as session:
        workspace_id = make_workspace(session, "merge-race-2")
        events = [track("b0", "Signed Up", now, anonymous_id="device-bea")]
        events.append(identify("a0", now, "ana", first_name="Ana"))
        CollectService(session).ingest(Sender(workspace_id, None), events, "test")
    import_handler_modules(TASK_MODULES)
    settings = load_settings(database_url=pg.url.render_as_string(hide_password=False))
    Worker(factory, settings, run_periodic=False).run_until_idle()
    with session_scope(factory) as session:
        segment = Segment(workspace_id=workspace_id, name="Anas", rule=ANAS)
        session.add(segment)
        session.flush()
        segment_id = segment.id
        identity = IdentityService(session)
        ana = identity.find_profile(workspace_id, "user_id", "ana")
        bea = identity.find_profile(workspace_id, "anonymous_id", "device-bea")
        assert ana is not None and bea is not None
        ana_id, bea_id = ana.id, bea.id
    blocker = blocking(pg)
    blocker.execute(
        text(
            "INSERT INTO segment_evaluation (id, workspace_id, profile_id, evaluated_at) "
            "VALUES (:id, :ws, :profile, now())"
        ),
        {"id": new_id("sge"), "ws": workspace_id, "profile": ana_id},
    )

    racer = Racer(factory, lambda s: Membership(s).recompute(workspace_id, [ana_id]))
    racer.start()
    wait_for_waiters(pg, 1, [racer])
    with session_scope(factory) as session:
        IdentityService(session).merge_profiles(
            workspace_id, bea_id, ana_id, cause_kind="manual", cause_ref="race test"
        )
    blocker.commit()
    racer.join(60)
    assert not racer.is_alive() and racer.error is None, racer.error

    assert (
        rows(pg, "SELECT profile_id FROM segment_member WHERE segment_id = :s", s=segment_id) == []
    )
    assert (
        rows(
            pg,
            "SELECT event FROM event WHERE channel = 'segment' AND workspace_id = :ws",
            ws=workspace_id,
        )
        == []
    )
