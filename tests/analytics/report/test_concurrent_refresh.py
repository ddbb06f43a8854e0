"""Two processes refreshing one workspace's snapshots at the same moment on PostgreSQL leave
one row per report, the later computation's, whichever commits last."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tessera.analytics.report.snapshots import SCORECARD
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.models.metric import MetricSnapshot
from tests.analytics.layer.worlds import random_shop
from tests.analytics.report.refresh_probe import refresh
from tests.support.factories import make_workspace

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.mark.postgres_only
def test_two_processes_refreshing_at_once_store_one_snapshot_per_report(
    postgres_url: str,
) -> None:
    """Both compute from the same start and upsert; the one read a minute later is kept for
    every report, in one row each."""
    engine = make_engine(postgres_url)
    with session_scope(make_session_factory(engine)) as session:
        workspace_id = make_workspace(session, "race")
        random_shop(session, workspace_id, people=60)
    later = T0 + timedelta(minutes=1)

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        barrier = manager.Barrier(2)
        took = pool.starmap(
            refresh,
            [(postgres_url, workspace_id, when.isoformat(), barrier) for when in (later, T0)],
        )

    with session_scope(make_session_factory(engine)) as session:
        rows = session.execute(
            select(MetricSnapshot.kind, MetricSnapshot.as_of).where(
                MetricSnapshot.workspace_id == workspace_id
            )
        ).all()
    engine.dispose()
    assert [sorted(t) for t in took] == [sorted(SCORECARD)] * 2
    assert sorted(rows) == [(kind, later) for kind in sorted(SCORECARD)]
