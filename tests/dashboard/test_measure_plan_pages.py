"""Measure's planning pages, linked from the scorecard: the demand forecast (backtest, the
chart, what to reorder), channel advice with its figures, and the MMM table's download."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.analytics.forecast.seed import AS_OF, Stocked
from tests.analytics.forecast.test_advice import brand
from tests.dashboard.conftest import table_rows
from tests.support.factories import Tenant


def test_the_forecast_page_shows_the_backtest_chart_and_reorders(
    owner: TestClient, session: Session, tenant: Tenant
) -> None:
    shop = Stocked(session, tenant.workspace_id)
    shop.weekly("SERUM", [4] * 12, location="wh")
    shop.weekly("CREAM", [0, 2, 0, 0, 1, 0, 0, 3, 0, 0, 1, 0], location="wh")
    shop.stock("SERUM", "wh", 5)
    shop.stock("CREAM", "wh", 40)
    session.commit()

    page = owner.get(f"/measure/forecast?weeks=12&as_of={AS_OF}&lead_time_weeks=2")

    assert page.status_code == 200
    assert '<span class="stat-value" id="forecast-series">2</span>' in page.text
    assert '<span class="stat-value" id="forecast-reorders">1</span>' in page.text
    reorders = table_rows(page.text, "reorders")
    assert reorders[0] == ["SKU", "Location", "Position", "Reorder at", "Safety", "Order"]
    assert reorders[1][:3] == ["SERUM", "wh", "5"]
    forecasts = table_rows(page.text, "forecasts")
    assert [row[0] for row in forecasts[1:]] == ["SERUM", "CREAM"]
    assert forecasts[1][2] == "smooth (tsb)"  # TSB and SES forecast 4 exactly; TSB is first
    spec = re.search(r'id="demand-chart-spec">(.*?)</script>', page.text, re.DOTALL)
    assert spec is not None
    values = json.loads(spec.group(1))["data"]["values"]
    assert {v["series"] for v in values} == {"SERUM @ wh", "CREAM @ wh"}
    assert sum(v["kind"] == "forecast" for v in values) == 2 * 4
    assert 'href="/measure/forecast"' in owner.get("/measure").text


def test_the_forecast_page_without_sales_says_why_and_bad_input_is_a_page(
    owner: TestClient, tenant: Tenant
) -> None:
    page = owner.get("/measure/forecast")
    assert page.status_code == 200 and 'id="forecast-reason"' in page.text
    assert "No units sold in these weeks." in page.text
    bad = owner.get("/measure/forecast?service_level=2")
    assert bad.status_code == 422 and "service_level" in bad.text


def test_the_advice_page_explains_and_offers_the_mmm_table(
    owner: TestClient, session: Session, tenant: Tenant
) -> None:
    brand(session, tenant.workspace_id)
    session.commit()
    days = "from=2026-01-01&to=2026-03-31"

    page = owner.get(f"/measure/advice?{days}")
    download = owner.get(f"/measure/mmm-weekly.csv?{days}")

    assert page.status_code == 200
    assert 'data-kind="add_channel"' in page.text
    assert "40% of tracked touches (4 of 10) came from tiktok" in page.text
    assert table_rows(page.text, "pairs")[1][:2] == ["store + web", "4"]
    assert f'href="/measure/mmm-weekly.csv?{days.replace("&", "&amp;")}"' in page.text
    assert download.status_code == 200
    assert download.text.splitlines()[0].startswith('"week","revenue","orders","new_customers"')
    assert 'href="/measure/advice"' in owner.get("/measure").text
