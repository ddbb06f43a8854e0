"""``/v1/reports``: retention, omnichannel and attribution over HTTP, in the workspace's
zone; bad parameters are 422 naming the field; a range without orders is an empty report
with its reason; another workspace's orders never count."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.analytics.attribution import MODELS
from tessera.analytics.report.service import ReportService
from tessera.analytics.report.snapshots import SnapshotService
from tessera.kit.time import ManualClock
from tessera.workspace.service import WorkspaceService
from tests.analytics.layer.seed import Shop, at
from tests.analytics.layer.worlds import small_shop
from tests.support.factories import make_tenant

WINDOW = "from=2026-01-01&to=2026-03-31"


def test_the_omnichannel_report_shows_share_segments_and_trend(
    client: TestClient, session: Session
) -> None:
    """One of three customers bought on two channels; her spend and frequency next to the
    single-channel customers'; the share as of January's and February's ends."""
    tenant = make_tenant(session, "alpha")
    small_shop(session, tenant.workspace_id)
    session.commit()

    response = client.get(f"/v1/reports/omnichannel?{WINDOW}", headers=tenant.auth)

    body = response.json()
    assert response.status_code == 200
    assert (body["customers"], body["omnichannel_customers"], body["share"]) == (3, 1, 0.3333)
    assert body["segments"] == [
        {"segment": "omnichannel", "customers": 1, "orders": 3, "revenue": 4000,
         "spend_per_customer": 4000, "orders_per_customer": 3.0, "repeat_rate": 1.0},
        {"segment": "single_channel", "customers": 2, "orders": 3, "revenue": 7500,
         "spend_per_customer": 3750, "orders_per_customer": 1.5, "repeat_rate": 0.5},
    ]  # fmt: skip
    assert body["trend"] == [
        {"month": "2026-01", "customers": 2, "omnichannel_customers": 0, "share": 0.0},
        {"month": "2026-02", "customers": 3, "omnichannel_customers": 1, "share": 0.3333},
    ]
    assert body["window"]["reason"] is None


def test_the_retention_report_gives_each_cohort_its_months(
    client: TestClient, session: Session
) -> None:
    """January's cohort (ann, cat) keeps half in months 1 and 2; cat has churned after 30
    days without an order; by channel, each acquisition channel is its own row."""
    tenant = make_tenant(session, "alpha")
    small_shop(session, tenant.workspace_id)
    session.commit()

    months = client.get(f"/v1/reports/retention?{WINDOW}&churn_days=30", headers=tenant.auth)
    channels = client.get(f"/v1/reports/retention?{WINDOW}&group_by=channel", headers=tenant.auth)

    assert months.json()["cohorts"] == [
        {"cohort": "2026-01", "acquisition_channel": None, "size": 2, "repeat_rate": 1.0,
         "churn_rate": 0.5, "retention": [1.0, 0.5, 0.5]},
        {"cohort": "2026-02", "acquisition_channel": None, "size": 1, "repeat_rate": 0.0,
         "churn_rate": 1.0, "retention": [1.0, 0.0]},
    ]  # fmt: skip
    assert [(c["cohort"], c["acquisition_channel"]) for c in channels.json()["cohorts"]] == [
        ("2026-01", "amazon"), ("2026-01", "web"), ("2026-02", "web"),
    ]  # fmt: skip


def test_attribution_credits_every_conversion_in_every_model(
    client: TestClient, session: Session
) -> None:
    """Six orders are six conversions worth 115.00 in every model; bob's referral and email
    click share his order in the linear model; ann's store order credits the store."""
    tenant = make_tenant(session, "alpha")
    small_shop(session, tenant.workspace_id)
    session.commit()

    every = client.get(f"/v1/reports/attribution?{WINDOW}", headers=tenant.auth).json()
    linear = client.get(f"/v1/reports/attribution?{WINDOW}&model=linear", headers=tenant.auth)

    assert (every["conversions"], every["value"]) == (6, 11500)
    for credits in every["models"].values():
        assert sum(Decimal(c["conversions"]) for c in credits) == 6
        assert sum(c["value"] for c in credits) == 11500
    assert {c["channel"]: (Decimal(c["conversions"]), c["value"])
            for c in linear.json()["models"]["linear"]} == {
        "amazon": (2, 4500), "direct": (1, 1500), "email": (Decimal("0.5"), 1500),
        "referral:www.google.com": (Decimal("0.5"), 1500), "store": (1, 1500), "tiktok": (1, 1000),
    }  # fmt: skip
    assert len(every["models"]) == len(MODELS) + 2  # Markov of orders 1, 2 and 3


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("retention?group_by=weekday", "group_by"),
        ("retention?churn_days=0", "churn_days"),
        ("attribution?model=coin_flip", "model"),
        ("attribution?group_by=creator", "group_by"),
        ("attribution?lookback_days=400", "lookback_days"),
        ("omnichannel?from=2026-03-01&to=2026-02-01", "to"),
        ("omnichannel?from=2026-02-30", "from"),
        ("omnichannel?to=0001-01-01", "to"),  # a year before it would underflow
        ("retention?from=9999-12-31&to=9999-12-31", "from"),  # the day after it, overflow
        ("clv?to=0001-01-03", "to"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(
    client: TestClient, session: Session, path: str, field: str
) -> None:
    """Each refusal is problem+json whose text names the parameter at fault."""
    tenant = make_tenant(session, "alpha")

    response = client.get(f"/v1/reports/{path}", headers=tenant.auth)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text


def test_a_range_without_orders_is_an_empty_report_with_its_reason(
    client: TestClient, session: Session
) -> None:
    """Another workspace's orders do not count: A's reports are empty and say why."""
    a = make_tenant(session, "alpha")
    b = make_tenant(session, "bravo")
    small_shop(session, b.workspace_id)
    session.commit()

    answers = [
        client.get(f"/v1/reports/{name}?{WINDOW}", headers=a.auth).json()
        for name in ("omnichannel", "retention", "attribution")
    ]

    assert [a["window"]["reason"] for a in answers] == ["no orders in this range"] * 3
    assert (answers[0]["customers"], answers[1]["cohorts"], answers[2]["models"]) == (0, [], {})


def test_days_are_the_workspace_zone_and_the_default_range_ends_today(session: Session) -> None:
    """In Tokyo, 2026-03-10 starts at 15:00 UTC the day before; without dates the report
    covers the 365 days up to the clock's day there."""
    tenant = make_tenant(session, "alpha")
    WorkspaceService(session).update_workspace(tenant.workspace_id, "test", time_zone="Asia/Tokyo")
    service = ReportService(session, ManualClock(at("2026-03-10", 20)))

    window = service.window(tenant.workspace_id, None, None)

    assert (str(window.start), str(window.end)) == ("2025-03-12", "2026-03-11")
    assert service.instants(window)[0] == at("2025-03-11", 15)


def test_a_named_event_counts_as_a_conversion_with_its_value(
    client: TestClient, session: Session
) -> None:
    """``conversion_event`` adds bob's "Subscription Started" (12.50) to the six orders."""
    tenant = make_tenant(session, "alpha")
    small_shop(session, tenant.workspace_id)
    Shop(session, tenant.workspace_id).event(
        "bob", "Subscription Started", at("2026-03-01"), properties={"value": 12.5}
    )
    session.commit()

    response = client.get(
        f"/v1/reports/attribution?{WINDOW}&model=last_touch&conversion_event=Subscription+Started",
        headers=tenant.auth,
    )

    body = response.json()
    assert (body["conversions"], body["value"]) == (7, 12750)
    assert {"channel": "direct", "conversions": "2.000000", "value": 2750} in body["models"][
        "last_touch"
    ]


def test_the_default_reports_are_the_stored_snapshot_and_a_range_is_live(
    client: TestClient, session: Session
) -> None:
    """Without parameters each report is the snapshot (an order added since does not count,
    the as-of is the snapshot's); a workspace without one gets it computed and stored; with a
    range the answer is computed for the request."""
    tenant = make_tenant(session, "alpha")
    shop = small_shop(session, tenant.workspace_id)
    as_of = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    SnapshotService(session, ManualClock(as_of)).refresh(tenant.workspace_id)
    Shop(session, tenant.workspace_id).order(shop.bob, "store", at("2026-03-20"), 800)
    other = make_tenant(session, "bravo")
    session.commit()

    answers = {
        kind: client.get(f"/v1/reports/{kind}", headers=tenant.auth).json()
        for kind in ("omnichannel", "retention", "attribution", "clv")
    }
    live = client.get(f"/v1/reports/omnichannel?{WINDOW}", headers=tenant.auth).json()
    first = client.get("/v1/reports/omnichannel", headers=other.auth)

    assert {a["window"]["as_of"] for a in answers.values()} == {"2026-04-01T09:00:00Z"}
    assert answers["omnichannel"]["omnichannel_customers"] == 1
    assert answers["attribution"]["conversions"] == 6
    assert live["omnichannel_customers"] == 2
    assert first.json()["window"]["reason"] == "no orders in this range"
    assert SnapshotService(session).stored(other.workspace_id, ("omnichannel",)) != {}
