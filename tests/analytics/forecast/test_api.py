"""``/v1/reports/forecast`` end to end: weekly units per SKU x location from routed and
unrouted orders, the backtest's MASE, reorder points against stock, 422 naming the field."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.analytics.forecast.seed import AS_OF, FIRST_MONDAY, Stocked
from tests.support.factories import make_tenant

URL = f"/v1/reports/forecast?weeks=12&origins=4&as_of={AS_OF}&method=sba&lead_time_weeks=2"


def test_the_forecast_counts_units_where_they_sold_and_lists_reorders(
    client: TestClient, session: Session
) -> None:
    """SERUM sells 4 a week at the warehouse (stock 5: reorder), 1 every other week at the
    store (stock 50: enough); CREAM sells on the web unrouted (no stock location); a
    cancelled order never counts; another workspace's orders never show."""
    tenant = make_tenant(session, "alpha")
    other = make_tenant(session, "beta")
    shop = Stocked(session, tenant.workspace_id)
    shop.weekly("SERUM", [4] * 12, location="wh")
    shop.weekly("SERUM", [1, 0] * 6, location="soho", channel="store:soho")
    shop.weekly("CREAM", [0, 0, 3, 0, 0, 2, 0, 0, 0, 1, 0, 0])
    shop.order("CREAM", 50, FIRST_MONDAY + timedelta(days=2), cancelled=True)
    shop.stock("SERUM", "wh", 5)
    shop.stock("SERUM", "soho", 50)
    Stocked(session, other.workspace_id).weekly("SERUM", [9] * 12, location="wh")
    session.commit()

    body = client.get(URL, headers=tenant.auth).json()

    rows = {(s["sku"], s["location"]): s for s in body["series"]}
    assert set(rows) == {("SERUM", "wh"), ("SERUM", "soho"), ("CREAM", "web")}
    wh, soho, cream = rows[("SERUM", "wh")], rows[("SERUM", "soho")], rows[("CREAM", "web")]
    assert wh["history"] == [4] * 12 and wh["units"] == 48
    assert soho["history"] == [1, 0] * 6
    assert cream["history"] == [0, 0, 3, 0, 0, 2, 0, 0, 0, 1, 0, 0]
    # A constant series: SBA forecasts (1 - 0.05) x 4 = 3.8 a week with no error to speak of.
    assert wh["forecast"] == 3.8 and wh["demand_class"] == "smooth"
    assert wh["reorder"] is True and body["series"][0]["sku"] == "SERUM"
    assert wh["reorder_point"] >= 7.6 and wh["order_quantity"] >= 8
    assert soho["reorder"] is False and soho["on_hand"] == 50
    assert cream["on_hand"] is None and cream["reorder"] is False
    assert cream["demand_class"] in ("intermittent", "lumpy")
    assert body["summary"]["series"] == 3 and body["summary"]["to_reorder"] == 1
    assert body["weeks"][0] == str(FIRST_MONDAY) and len(body["weeks"]) == 12


def test_bad_parameters_are_422_naming_the_field(client: TestClient, session: Session) -> None:
    tenant = make_tenant(session, "alpha")
    session.commit()
    for query, field in (
        ("method=magic", "method"),
        ("weeks=3", "weeks"),
        ("service_level=1", "service_level"),
        ("lead_time_weeks=-1", "lead_time_weeks"),
        ("origins=500", "origins"),
        ("as_of=0001-01-01", "as_of"),
        ("interval=nan", "interval"),
    ):
        response = client.get(f"/v1/reports/forecast?{query}", headers=tenant.auth)
        assert response.status_code == 422, query
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in response.text, query


def test_weeks_without_sales_give_an_empty_report_with_its_reason(
    client: TestClient, session: Session
) -> None:
    tenant = make_tenant(session, "alpha")
    session.commit()
    body = client.get(URL, headers=tenant.auth).json()
    assert body["series"] == [] and body["reason"] == "no units sold in these weeks"


def test_weeks_that_began_with_nothing_on_hand_are_counted_as_stock_outs(
    client: TestClient, session: Session
) -> None:
    """8 units arrived before the history and sold out on Wednesday of week 3: weeks 4 to 11
    began with nothing on hand (their zero sales hide demand), weeks 0 to 3 did not."""
    tenant = make_tenant(session, "alpha")
    shop = Stocked(session, tenant.workspace_id)
    shop.weekly("SERUM", [2, 2, 2, 2] + [0] * 8, location="wh")
    sold_out = FIRST_MONDAY + timedelta(weeks=3, days=2)
    shop.stock("SERUM", "wh", 0, changes=[(FIRST_MONDAY - timedelta(days=7), 8), (sold_out, -8)])
    session.commit()

    body = client.get(URL, headers=tenant.auth).json()

    (serum,) = body["series"]
    assert serum["stockout_weeks"] == 8
    assert serum["on_hand"] == 0 and serum["position"] == 0
