"""``tessera report`` prints the reports as tables, CSV or JSON; ``tessera analytics export``
writes the canonical tables to Parquet that DuckDB reads back with the same numbers."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tessera.analytics.layer import from_parquet
from tessera.analytics.layer import metrics as m
from tessera.analytics.report.snapshots import SCORECARD, SnapshotService
from tessera.config import Settings
from tests.analytics.layer.worlds import small_shop
from tests.support.cli import invoke
from tests.support.factories import make_workspace

DAYS = ("--from", "2026-01-01", "--to", "2026-03-31", "-w", "measure")


def test_each_report_prints_as_a_table_csv_and_json(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """The table names the window; CSV has a header and a row per cohort; JSON parses."""
    small_shop(session, make_workspace(session, "measure"))
    session.commit()

    code, table = invoke(settings, session_factory, "report", "omnichannel", *DAYS)
    _, csv_text = invoke(
        settings,
        session_factory,
        "report",
        "retention",
        *DAYS,
        "--format",
        "csv",
        "--churn-days",
        "30",
    )
    _, json_text = invoke(settings, session_factory, "report", "attribution", *DAYS,
                          "--format", "json", "--model", "last_touch")  # fmt: skip

    assert code == 0
    assert "Omnichannel share 33.3%" in table
    assert "2026-01-01 to 2026-03-31 (UTC)" in table
    assert csv_text.splitlines() == [
        "cohort,channel,size,repeat,churn,m0,m1,m2",
        "2026-01,,2,1.0,0.5,1.0,0.5,0.5",
        "2026-02,,1,0.0,1.0,1.0,0.0,",
    ]
    assert json.loads(json_text)["conversions"] == 6


def test_a_bad_day_or_format_is_refused_naming_the_option(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """A day that is not YYYY-MM-DD names --from; an unknown format names --format."""
    make_workspace(session, "measure")
    session.commit()

    day = invoke(settings, session_factory, "report", "retention", "--from", "1/2/26", "-w",
                 "measure")  # fmt: skip
    fmt = invoke(settings, session_factory, "report", "retention", "--format", "xml", "-w",
                 "measure")  # fmt: skip

    assert day[0] != 0 and "--from" in day[1]
    assert fmt[0] != 0 and "--format" in fmt[1]


def test_the_export_is_read_back_by_duckdb_with_the_same_customers(
    settings: Settings, session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> None:
    """Four Parquet files (the order nobody placed is there too); DuckDB finds the three
    customers the database has."""
    small_shop(session, make_workspace(session, "measure"))
    session.commit()

    code, out = invoke(settings, session_factory, "analytics", "export", str(tmp_path), "-w",
                       "measure")  # fmt: skip
    tables = from_parquet(tmp_path)

    assert code == 0
    assert "orders.parquet: 7 rows" in out
    assert len(m.rows(tables, m.customer_summary(tables))) == 3


def test_refresh_stores_the_snapshots_now_or_queues_them(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """``report refresh`` computes and stores the four reports and prints each one's time;
    ``--queue`` leaves it to the worker."""
    workspace_id = make_workspace(session, "measure")
    small_shop(session, workspace_id)
    session.commit()

    code, table = invoke(settings, session_factory, "report", "refresh", "-w", "measure")
    queued_code, queued = invoke(
        settings, session_factory, "report", "refresh", "-w", "measure", "--queue"
    )

    assert code == 0
    assert "Snapshots of measure" in table
    assert [line.split()[1] for line in table.splitlines() if " s " in line] == [
        "omnichannel", "retention", "attribution", "clv"
    ]  # fmt: skip
    assert sorted(SnapshotService(session).stored(workspace_id)) == sorted(SCORECARD)
    assert queued_code == 0
    assert queued.startswith("Queued job_")
