"""Each metric of the analytics layer, worked out by hand on a small shop, and the same
numbers on the application's database (SQLite, PostgreSQL) and on DuckDB over Parquet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tessera.analytics.layer import Tables, export, from_parquet, from_session
from tessera.analytics.layer import metrics as m
from tests.analytics.layer.seed import at
from tests.analytics.layer.worlds import random_shop, small_shop
from tests.support.factories import make_workspace

START, END = at("2026-01-01", 0), at("2026-04-01", 0)
JAN, FEB, MAR = 2026 * 12, 2026 * 12 + 1, 2026 * 12 + 2


def naive(day: str, hour: int = 12) -> datetime:
    return at(day, hour).replace(tzinfo=None)


def every_metric(tables: Tables, start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
    return {
        "summary": m.rows(tables, m.customer_summary(tables), "customer_id"),
        "comparison": m.rows(tables, m.omnichannel_comparison(tables, start, end), "segment"),
        "arrivals": m.rows(tables, m.omnichannel_arrivals(tables, start, end), "month"),
        "sizes": m.rows(tables, m.cohort_sizes(tables, start, end, 60), "cohort"),
        "sizes_by_channel": m.rows(
            tables,
            m.cohort_sizes(tables, start, end, 60, by_channel=True),
            "cohort",
            "acquisition_channel",
        ),
        "activity": m.rows(tables, m.cohort_activity(tables, start, end), "cohort", "k"),
        "activity_by_channel": m.rows(
            tables,
            m.cohort_activity(tables, start, end, by_channel=True),
            "cohort",
            "acquisition_channel",
            "k",
        ),
        "events": m.rows(tables, m.customer_events(tables, start, end), "event_id"),
    }


def test_the_customer_summary_counts_days_channels_and_net_revenue(session: Session) -> None:
    """Per customer: first and last order, orders, distinct days, channels and revenue net
    of refunds; cancelled orders and orders linked to nobody do not count."""
    shop = small_shop(session, make_workspace(session, "measure"))
    tables = from_session(session, shop.workspace_id)

    summary = m.rows(tables, m.customer_summary(tables), "customer_id")

    by_id = {row.pop("customer_id"): row for row in summary}
    assert by_id == {
        shop.ann: {"first_order_at": naive("2026-01-05"), "last_order_at": naive("2026-03-10"),
                   "orders": 3, "order_days": 3, "channels": 2, "revenue": 4000},
        shop.bob: {"first_order_at": naive("2026-02-07"), "last_order_at": naive("2026-02-07"),
                   "orders": 1, "order_days": 1, "channels": 1, "revenue": 3000},
        shop.cat: {"first_order_at": naive("2026-01-20"), "last_order_at": naive("2026-01-20", 18),
                   "orders": 2, "order_days": 1, "channels": 1, "revenue": 4500},
    }  # fmt: skip


def test_omnichannel_customers_are_compared_with_single_channel_ones(session: Session) -> None:
    """ann alone bought on two channels: one of three customers; the arrivals put her second
    channel in February, when bob arrived."""
    shop = small_shop(session, make_workspace(session, "measure"))
    tables = from_session(session, shop.workspace_id)

    comparison = m.rows(tables, m.omnichannel_comparison(tables, START, END), "segment")
    arrivals = m.rows(tables, m.omnichannel_arrivals(tables, START, END), "month")

    assert comparison == [
        {"segment": "omnichannel", "customers": 1, "orders": 3, "revenue": 4000,
         "repeat_customers": 1},
        {"segment": "single_channel", "customers": 2, "orders": 3, "revenue": 7500,
         "repeat_customers": 1},
    ]  # fmt: skip
    assert arrivals == [
        {"month": JAN, "new_customers": 2, "new_omnichannel": 0},
        {"month": FEB, "new_customers": 1, "new_omnichannel": 1},
    ]


def test_cohorts_count_size_repeaters_churn_and_monthly_activity(session: Session) -> None:
    """January's cohort is ann and cat (both repeat; cat's last order is more than 30 days
    before April), February's is bob; ann keeps ordering in months 1 and 2."""
    shop = small_shop(session, make_workspace(session, "measure"))
    tables = from_session(session, shop.workspace_id)

    sizes = m.rows(tables, m.cohort_sizes(tables, START, END, churn_days=30), "cohort")
    by_channel = m.rows(
        tables,
        m.cohort_sizes(tables, START, END, 30, by_channel=True),
        "cohort",
        "acquisition_channel",
    )
    activity = m.rows(tables, m.cohort_activity(tables, START, END), "cohort", "k")

    assert sizes == [
        {"cohort": JAN, "size": 2, "repeat_customers": 2, "churned": 1},
        {"cohort": FEB, "size": 1, "repeat_customers": 0, "churned": 1},
    ]
    assert [(r["cohort"], r["acquisition_channel"], r["size"]) for r in by_channel] == [
        (JAN, "amazon", 1), (JAN, "web", 1), (FEB, "web", 1),
    ]  # fmt: skip
    assert activity == [
        {"cohort": JAN, "k": 0, "active": 2},
        {"cohort": JAN, "k": 1, "active": 1},
        {"cohort": JAN, "k": 2, "active": 1},
        {"cohort": FEB, "k": 0, "active": 1},
    ]


def test_events_carry_their_person_and_campaign(session: Session) -> None:
    """A tracked event is linked to its person through the user id and keeps its campaign."""
    shop = small_shop(session, make_workspace(session, "measure"))
    tables = from_session(session, shop.workspace_id)

    events = m.rows(tables, m.customer_events(tables, START, END), "at")

    assert [(e["customer_id"], e["name"]) for e in events] == [
        (shop.ann, "Product Viewed"), (shop.bob, "Product Viewed"),
        (shop.bob, "Email Link Clicked"),
    ]  # fmt: skip
    assert '"TikTok"' in events[0]["campaign"].replace(" ", "")


def test_every_metric_is_the_same_on_the_database_and_on_duckdb_over_parquet(
    session: Session, tmp_path: Path
) -> None:
    """One expression per metric, two engines: the app's database and the exported Parquet
    read by DuckDB give identical rows (sorted; row order is the engines' own)."""
    workspace_id = make_workspace(session, "measure")
    random_shop(session, workspace_id)
    database = from_session(session, workspace_id)
    written = export(database, tmp_path / "export")
    start, end = at("2025-03-01", 0), at("2026-03-01", 0)

    on_database = every_metric(database, start, end)
    on_duckdb = every_metric(from_parquet(tmp_path / "export"), start, end)

    assert written["orders"] > 100
    assert len(on_database["summary"]) == 39  # one shopper's only order was cancelled
    assert sum(r["customers"] for r in on_database["comparison"]) > 10
    for name, rows in on_database.items():
        assert on_duckdb[name] == rows, name
