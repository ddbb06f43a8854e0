"""The Measure scorecard: omnichannel share with its trend, retention as a shaded table and
attribution models side by side, each stamped with when it was read; linked from the nav."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.analytics.layer.worlds import small_shop
from tests.analytics.report.test_clv import shoppers
from tests.dashboard.conftest import table_rows
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
