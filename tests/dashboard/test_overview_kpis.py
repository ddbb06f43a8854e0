"""The overview's range picker: revenue, orders, average order value and new customers over
days of the workspace's zone, in its currency, next to the period before; the orders chart
counts those same local days."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.kit.time import ManualClock
from tessera.order.domain import CanonicalRefund
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService
from tests.order.test_service import PLACED
from tests.support.factories import Tenant

# 03:30 UTC on 5 March 2026: still 4 March, 22:30, in New York.
NOW = datetime(2026, 3, 5, 3, 30, tzinfo=UTC)


def place(
    session: Session, workspace_id: str, number: str, at: datetime, **changes: object
) -> None:
    values: dict[str, object] = {"external_id": number, "order_number": f"#{number}",
                                 "placed_at": at, "version": at.isoformat()}  # fmt: skip
    values.update(changes)
    OrderService(session).apply(workspace_id, replace(PLACED, **values))  # type: ignore[arg-type]


def figures(page: str) -> list[tuple[str, str, str]]:
    """(label, value, change) of each figure, in the page's order."""
    return re.findall(
        r'<span class="stat-label">([^<]+)</span>\s*<span class="kpi-value">([^<]+)</span>'
        r'\s*<span class="stat-hint">\s*<span class="delta[^"]*">([^<]+)</span>',
        page,
    )


def test_today_in_the_workspace_zone_against_yesterday_to_the_same_hour(
    app: FastAPI, owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """In New York at 22:30 on 4 March: two USD orders today (one refunded in part) and a
    cancelled one; yesterday one by 22:30 and one after it. The order at 02:00 UTC on 4 March
    is 3 March's in New York, and the order in euros counts as an order but not as revenue."""
    app.state.clock = ManualClock(NOW)
    WorkspaceService(session).update_workspace(
        tenant.workspace_id, "test", time_zone="America/New_York", currency="USD"
    )
    ws = tenant.workspace_id
    refund = CanonicalRefund("r1", 1600, datetime(2026, 3, 4, 20, tzinfo=UTC), (("l1", 1),))
    place(session, ws, "1", datetime(2026, 3, 4, 14, tzinfo=UTC), refunds=(refund,))
    place(session, ws, "2", datetime(2026, 3, 5, 1, tzinfo=UTC), channel="amazon", total=2400)
    place(session, ws, "3", datetime(2026, 3, 4, 15, tzinfo=UTC), is_cancelled=True)
    place(session, ws, "4", datetime(2026, 3, 4, 16, tzinfo=UTC), currency="EUR", total=9900)
    place(session, ws, "5", datetime(2026, 3, 4, 2, tzinfo=UTC), total=5000)  # 3 March, 21:00
    place(session, ws, "6", datetime(2026, 3, 4, 4, tzinfo=UTC), total=1000)  # 3 March, 23:00
    session.commit()

    page = owner.get("/overview?range=today").text

    # Today: 7600 - 1600 + 2400 = 8400 USD from 2 orders, 3 orders in all (EUR included).
    # Yesterday to 22:30: order 5 alone (order 6 came at 23:00).
    assert figures(page) == [
        ("Revenue", "84.00 USD", "+68.0%"),
        ("Orders", "3", "+200.0%"),
        ("Average order value", "42.00 USD", "-16.0%"),
        ("New customers", "0", "no change to show"),
    ]
    assert "2026-03-04, America/New_York · compared with 2026-03-03" in page
    spec = json.loads(
        re.search(r'id="orders-chart-spec">(.*?)</script>', page).group(1)  # type: ignore[union-attr]
    )
    counted = {
        (r["hour"][:10], r["channel"]): r["count"] for r in spec["data"]["values"] if r["count"]
    }
    assert counted == {
        ("2026-03-03", "web"): 2,
        ("2026-03-04", "web"): 2,
        ("2026-03-04", "amazon"): 1,
    }
    assert spec["encoding"]["x"]["title"] == "Day (America/New_York)"


def test_a_custom_range_and_its_bad_input(
    app: FastAPI, owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """A custom range shows its own days and the same number before; a range ending before it
    starts, or a day that is not one, is a 422 page naming the field, never a 500."""
    app.state.clock = ManualClock(NOW)
    place(session, tenant.workspace_id, "1", datetime(2026, 2, 10, 12, tzinfo=UTC))
    place(session, tenant.workspace_id, "2", datetime(2026, 1, 20, 12, tzinfo=UTC), total=3800)
    session.commit()

    custom = owner.get("/overview?range=custom&from=2026-02-01&to=2026-02-28")
    backwards = owner.get("/overview?range=custom&from=2026-02-28&to=2026-02-01")
    not_a_day = owner.get("/overview?range=custom&from=2026-02-31&to=2026-03-01")
    unknown = owner.get("/overview?range=fortnight")

    assert figures(custom.text)[:2] == [
        ("Revenue", "76.00 USD", "+100.0%"),
        ("Orders", "1", "+0.0%"),
    ]
    assert "2026-02-01 to 2026-02-28, UTC · compared with 2026-01-04 to 2026-01-31" in custom.text
    assert [r.status_code for r in (backwards, not_a_day, unknown)] == [422, 422, 422]
    assert "to must not be before from" in backwards.text
    assert "from must be a day as YYYY-MM-DD" in not_a_day.text
    assert "range must be one of today, 7d, 30d, custom" in unknown.text
