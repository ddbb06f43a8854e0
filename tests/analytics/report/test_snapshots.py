"""Metric snapshots: the scorecard's reports stored once and read back, kept fresh by order
arrivals, a periodic sweep and refreshes, never replaced by an older computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import tessera.analytics.report.tasks  # noqa: F401  (subscribes to Identify's announcements)
from tessera.analytics.report.repository import SnapshotRepository
from tessera.analytics.report.snapshots import (
    KEYS,
    OMNICHANNEL,
    REFRESH_JOB,
    SCORECARD,
    SnapshotService,
)
from tessera.analytics.report.tasks import register
from tessera.job.registry import Registry
from tessera.kit.errors import InvalidInput
from tessera.kit.time import ManualClock
from tessera.models.job import Job
from tessera.models.metric import MetricSnapshot
from tessera.order.service import OrderService
from tests.analytics.layer.seed import Shop, at
from tests.analytics.layer.worlds import small_shop
from tests.identity.stitching import run_stitch_jobs
from tests.loyalty.world import order as canonical_order
from tests.support.factories import make_workspace

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def snapshot_rows(session: Session, workspace_id: str) -> list[MetricSnapshot]:
    return list(
        session.scalars(
            select(MetricSnapshot)
            .where(MetricSnapshot.workspace_id == workspace_id)
            .order_by(MetricSnapshot.kind)
        )
    )


def refresh_jobs(session: Session) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.kind == REFRESH_JOB).order_by(Job.id)))


def test_the_first_read_stores_the_scorecard_and_later_reads_use_it(session: Session) -> None:
    """The first read computes and stores four snapshots; an order added afterwards does not
    change what is read until a refresh, which stores the new numbers with the new time."""
    workspace_id = make_workspace(session, "snap")
    shop = small_shop(session, workspace_id)
    clock = ManualClock(T0)

    first = SnapshotService(session, clock).scorecard(workspace_id)
    Shop(session, workspace_id).order(shop.bob, "store", at("2026-03-20"), 800)
    clock.advance(timedelta(minutes=5))
    second = SnapshotService(session, clock).scorecard(workspace_id)
    took = SnapshotService(session, clock).refresh(workspace_id)
    third = SnapshotService(session, clock).scorecard(workspace_id)

    assert first.is_snapshot and first.as_of == T0
    assert (first.omnichannel.omnichannel_customers, first.omnichannel.customers) == (1, 3)
    assert [r.kind for r in snapshot_rows(session, workspace_id)] == sorted(SCORECARD)
    assert second.as_of == T0
    assert second.omnichannel.omnichannel_customers == 1
    assert sorted(took) == sorted(SCORECARD)
    assert third.as_of == T0 + timedelta(minutes=5)
    assert (third.omnichannel.omnichannel_customers, third.omnichannel.customers) == (2, 3)
    assert third.attribution.conversions == first.attribution.conversions + 1
    assert len(snapshot_rows(session, workspace_id)) == 4


def test_a_chosen_window_is_computed_live_and_stores_nothing(session: Session) -> None:
    """From and to given: the numbers are the live computation's and no snapshot is kept."""
    workspace_id = make_workspace(session, "snap")
    small_shop(session, workspace_id)

    card = SnapshotService(session, ManualClock(T0)).scorecard(
        workspace_id, at("2026-01-01").date(), at("2026-01-31").date()
    )

    assert not card.is_snapshot
    assert (card.omnichannel.customers, card.retention.cohorts[0].cohort) == (2, "2026-01")
    assert snapshot_rows(session, workspace_id) == []


def test_a_snapshot_is_replaced_only_by_a_newer_one_and_keeps_later_staleness(
    session: Session,
) -> None:
    """An older computation stored late changes nothing; staleness marked after a
    computation's as-of survives it; staleness from before it is cleared."""
    workspace_id = make_workspace(session, "snap")
    repository = SnapshotRepository(session)
    key = KEYS[OMNICHANNEL]

    def store(as_of: datetime, body: str) -> bool:
        return repository.store(workspace_id, OMNICHANNEL, key, {}, as_of, body, 1, as_of)

    def state() -> tuple[datetime, str, datetime | None]:
        (row,) = repository.snapshots(workspace_id, [(OMNICHANNEL, key)])
        return row.as_of, row.body, row.stale_since

    assert store(T0, "first")
    assert not store(T0 - timedelta(minutes=1), "older")
    assert state() == (T0, "first", None)
    assert repository.mark_stale(workspace_id, T0 + timedelta(minutes=2)) == 1
    assert repository.mark_stale(workspace_id, T0 + timedelta(minutes=3)) == 0
    assert store(T0 + timedelta(minutes=1), "read before the orders came")
    assert state() == (T0 + timedelta(minutes=1), "read before the orders came",
                       T0 + timedelta(minutes=2))  # fmt: skip
    assert store(T0 + timedelta(minutes=4), "read after")
    assert state() == (T0 + timedelta(minutes=4), "read after", None)


def test_stitched_orders_mark_the_snapshots_stale_and_the_page_says_so(session: Session) -> None:
    """An order applied and stitched as the worker does marks every snapshot stale once; the
    scorecard still reads the snapshot and reports since when it is stale."""
    workspace_id = make_workspace(session, "snap")
    small_shop(session, workspace_id)
    SnapshotService(session, ManualClock(T0)).scorecard(workspace_id)

    OrderService(session).apply(
        workspace_id, canonical_order("1001", 2500, "dee@example.com", at=T0)
    )
    run_stitch_jobs(session)
    card = SnapshotService(session, ManualClock(T0)).scorecard(workspace_id)

    stale = {row.stale_since for row in snapshot_rows(session, workspace_id)}
    assert len(stale) == 1 and None not in stale
    assert card.stale_since == stale.pop()
    assert card.omnichannel.customers == 3


def test_the_sweep_queues_one_refresh_per_due_workspace_and_slot(session: Session) -> None:
    """Due: orders and no snapshot, or a stale one, or one over an hour old. A workspace
    without orders or with fresh snapshots is left alone; a slot queues once."""
    fresh, missing, old, empty = (make_workspace(session, s) for s in ("a", "b", "c", "d"))
    for workspace_id in (fresh, missing, old):
        Shop(session, workspace_id).order(None, "web", at("2026-03-01"), 1000)
    clock = ManualClock(T0)
    SnapshotService(session, clock).refresh(old)
    clock.advance(timedelta(minutes=61))
    SnapshotService(session, clock).refresh(fresh)
    jobs = register(Registry(), clock)

    jobs.swept(session, {"slot": "2026-04-01T10:00:00+00:00"})
    jobs.swept(session, {"slot": "2026-04-01T10:00:00+00:00"})
    due_before_stale = SnapshotService(session, clock).due()
    SnapshotService(session, clock).mark_stale(fresh)

    assert sorted(job.workspace_id for job in refresh_jobs(session)) == sorted([missing, old])
    assert sorted(due_before_stale) == sorted([missing, old])
    assert sorted(SnapshotService(session, clock).due()) == sorted([fresh, missing, old])
    assert empty not in SnapshotService(session, clock).due()


def test_the_refresh_job_stores_the_snapshots_and_refuses_a_payload_without_workspace(
    session: Session,
) -> None:
    """The worker's handler computes all four; a payload without workspace_id is refused."""
    workspace_id = make_workspace(session, "snap")
    small_shop(session, workspace_id)
    jobs = register(Registry(), ManualClock(T0))

    jobs.refreshed(session, {"workspace_id": workspace_id})
    with pytest.raises(InvalidInput) as refused:
        jobs.refreshed(session, {})

    assert {row.as_of for row in snapshot_rows(session, workspace_id)} == {T0}
    assert refused.value.detail == "the job needs its workspace_id"
    assert session.scalar(select(func.count()).select_from(MetricSnapshot)) == 4


def test_the_customers_counts_are_stored_and_counted_again_after_ten_minutes(
    session: Session,
) -> None:
    """The counts above the customers list: counted and stored at the first read; a new
    customer is not in them nine minutes later, and is eleven minutes later."""
    workspace_id = make_workspace(session, "counts")
    small_shop(session, workspace_id)
    clock = ManualClock(T0)

    first = SnapshotService(session, clock).customer_counts(workspace_id)
    newcomer = Shop(session, workspace_id)
    newcomer.order(newcomer.person("dan"), "store", at("2026-03-20"), 800)
    clock.advance(timedelta(minutes=9))
    cached = SnapshotService(session, clock).customer_counts(workspace_id)
    clock.advance(timedelta(minutes=2))
    recounted = SnapshotService(session, clock).customer_counts(workspace_id)

    assert (first.total, first.window.as_of) == (3, T0)
    assert (cached.total, cached.window.as_of) == (3, T0)
    assert (recounted.total, recounted.window.as_of) == (4, T0 + timedelta(minutes=11))
    assert recounted.by_channel["store"] == first.by_channel["store"] + 1
    assert [r.kind for r in snapshot_rows(session, workspace_id)] == ["customer_counts"]
