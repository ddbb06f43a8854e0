"""The Measure scorecard: omnichannel share with its trend, retention as a shaded table and
attribution models side by side, each stamped with when it was read; linked from the nav."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.analytics.report.snapshots import REFRESH_JOB, SnapshotService
from tessera.kit.time import ManualClock
from tessera.models.job import Job
from tessera.models.workspace import Role
from tests.analytics.layer.seed import Shop, at
from tests.analytics.layer.worlds import small_shop
from tests.analytics.report.test_clv import shoppers
from tests.dashboard.conftest import csrf_from, member, sign_in, table_rows
from tests.support.factories import Tenant

WINDOW = "from=2026-01-01&to=2026-03-31"


def test_the_scorecard_shows_share_cohorts_and_models(
    owner: TestClient, session: Session, tenant: Tenant
) -> None:
    """33.3 % omnichannel; January's cohort 100/50/50 %; amazon credited 2 by last touch."""
    small_shop(session, tenant.workspace_id)
    session.commit()

    page = owner.get(f"/measure?{WINDOW}")

    assert page.status_code == 200
    assert '<p class="stat-value" id="omnichannel-share">33.3%</p>' in page.text
    spec = re.search(r'id="share-chart-spec">(.*?)</script>', page.text, re.DOTALL)
    assert spec is not None
    assert [v["share"] for v in json.loads(spec.group(1))["data"]["values"]] == [0.0, 0.3333]
    assert table_rows(page.text, "retention")[1] == ["2026-01", "2", "100%", "0%", "100%", "50%",
                                                      "50%"]  # fmt: skip
    attribution = table_rows(page.text, "attribution")
    assert attribution[0][:3] == ["Channel", "last touch", "first touch"]
    assert attribution[1][:3] == ["amazon", "2.00", "2.00"]
    assert page.text.count("as of ") >= 4
    assert 'href="/measure"' in owner.get("/").text
    assert "3 customers: the models need at least 20." in page.text  # lifetime value, too few


def test_the_scorecard_values_customers_by_segment(
    owner: TestClient, session: Session, tenant: Tenant
) -> None:
    """With a real history the lifetime-value card shows the average, a bar per segment and
    the table of segments (omnichannel and single channel, and each first channel)."""
    shoppers(session, tenant.workspace_id, people=60)
    session.commit()

    page = owner.get("/measure?from=2025-07-01&to=2026-06-30")

    assert page.status_code == 200
    assert 'id="clv-average"' in page.text
    spec = re.search(r'id="clv-chart-spec">(.*?)</script>', page.text, re.DOTALL)
    assert spec is not None
    bars = json.loads(spec.group(1))["data"]["values"]
    assert sum(b["customers"] for b in bars if b["dimension"] == "reach") == 60
    segments = [row[0] for row in table_rows(page.text, "clv-segments")[1:]]
    assert {"omnichannel", "single channel"} <= set(segments)


def test_an_empty_range_says_why_and_a_bad_day_is_refused(owner: TestClient) -> None:
    """No orders: the page explains instead of failing; a day that does not exist is 422."""
    empty = owner.get(f"/measure?{WINDOW}")
    bad = owner.get("/measure?from=2026-02-30")

    assert empty.status_code == 200
    assert "No orders in this range." in empty.text
    assert bad.status_code == 422


T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def refresh_jobs(session: Session) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.kind == REFRESH_JOB)))


def test_the_default_scorecard_is_the_snapshot_with_its_time_and_staleness(
    owner: TestClient, session: Session, tenant: Tenant
) -> None:
    """Without a range the page shows the stored numbers (an order added since does not
    count yet), the snapshot's time, a refresh button, and since when it is stale."""
    shop = small_shop(session, tenant.workspace_id)
    SnapshotService(session, ManualClock(T0)).refresh(tenant.workspace_id)
    Shop(session, tenant.workspace_id).order(shop.bob, "store", at("2026-03-20"), 800)
    session.commit()

    fresh = owner.get("/measure")
    SnapshotService(session, ManualClock(T0 + timedelta(hours=2))).mark_stale(tenant.workspace_id)
    session.commit()
    stale = owner.get("/measure")

    assert fresh.status_code == 200
    assert '<p class="stat-value" id="omnichannel-share">33.3%</p>' in fresh.text
    assert (
        'Snapshot as of <span class="as-of"><time datetime="2026-04-01T09:00:00+00:00"'
        in fresh.text
    )
    assert 'id="refresh-scorecard"' in fresh.text
    assert "new orders since" not in fresh.text
    assert (
        'since <span class="stale-since"><time datetime="2026-04-01T11:00:00+00:00"' in stale.text
    )


def test_an_owner_queues_one_refresh_and_a_viewer_none(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """The owner's refresh queues a job (asking twice for the same snapshot queues one); a
    viewer sees no button and is refused with nothing queued."""
    small_shop(session, tenant.workspace_id)
    SnapshotService(session, ManualClock(T0)).refresh(tenant.workspace_id)
    session.commit()
    assert sign_in(client, tenant.owner_email).status_code == 303
    owner = client
    page = owner.get("/measure")

    first = owner.post("/measure/refresh", data={"csrf_token": csrf_from(page)},
                       follow_redirects=False)  # fmt: skip
    second = owner.post("/measure/refresh", data={"csrf_token": csrf_from(page)},
                        follow_redirects=False)  # fmt: skip
    queued = [job.workspace_id for job in refresh_jobs(session)]
    owner.post("/logout", data={"csrf_token": csrf_from(page)})
    viewer = member(client, session, tenant, Role.VIEWER)
    seen = viewer.get("/measure")
    refused = viewer.post("/measure/refresh", data={"csrf_token": csrf_from(seen)})

    assert (first.status_code, first.headers["location"]) == (303, "/measure")
    assert second.status_code == 303
    assert queued == [tenant.workspace_id]
    assert 'id="refresh-scorecard"' not in seen.text
    assert refused.status_code == 403
    assert [job.workspace_id for job in refresh_jobs(session)] == [tenant.workspace_id]
