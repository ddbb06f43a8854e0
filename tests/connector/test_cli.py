"""``tessera import`` from the terminal: progress, resume after a kill, summaries that
balance, and messages naming the line and field."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.db import make_engine, make_session_factory
from tessera.models.collect import Event, ImportRun
from tessera.models.order import Order
from tests.connector.test_importer import write_events
from tests.support.cli import invoke
from tests.support.connectors import fixture_json, fixture_path
from tests.support.factories import make_workspace


def summary_rows(output: str) -> dict[str, int]:
    """The counts of the summary table, by row name."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 2 and cells[0] in ("received", "accepted", "duplicates", "rejected"):
            rows[cells[0]] = int(cells[1])
    return rows


def test_importing_events_names_each_refused_line_and_balances(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """A JSONL file with a repeat, a bad event and a cut last line: exit 1, every refusal on
    one line naming its field, and a summary where the counts add up."""
    make_workspace(session, "glow")
    session.commit()

    code, output = invoke(
        settings, session_factory, "import", "events", str(fixture_path("events/events.jsonl")),
        "-w", "glow",
    )  # fmt: skip

    assert code == 1
    assert (
        "events.jsonl line 7: Order Completed needs properties.order_id "
        "(field: properties.order_id)"
    ) in output
    assert (
        "events.jsonl line 8: the record is cut short; the file may be truncated (field: line)"
    ) in output
    assert summary_rows(output) == {"received": 7, "accepted": 4, "duplicates": 1, "rejected": 2}
    assert "top reasons" in output


def test_running_a_finished_import_again_says_so(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """The same file twice: the second run reads nothing and shows the first run's totals."""
    make_workspace(session, "glow")
    session.commit()
    path = str(fixture_path("events/events.csv"))
    invoke(settings, session_factory, "import", "events", path, "-w", "glow")

    code, output = invoke(settings, session_factory, "import", "events", path, "-w", "glow")

    assert code == 0
    assert "events.csv was imported completely before" in output
    assert "nothing to do. Use --restart to read it again." in output
    assert summary_rows(output) == {"received": 5, "accepted": 3, "duplicates": 0, "rejected": 2}


def jsonl_of(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


@pytest.mark.parametrize(
    ("order_format", "make_file", "orders", "records"),
    [
        ("shopify", lambda tmp: jsonl_of(
            tmp / "shopify.jsonl", fixture_json("shopify/orders_create.json"),
            {"order": fixture_json("shopify/orders_create_pos.json")},
            fixture_json("shopify/orders_cancelled.json")), 2, 3),
        ("tiktok", lambda tmp: jsonl_of(tmp / "tiktok.jsonl", fixture_json("tiktok/order.json")),
         1, 1),
        ("square", lambda tmp: jsonl_of(tmp / "square.jsonl", fixture_json("square/order.json")),
         1, 1),
        ("amazon", lambda tmp: fixture_path("amazon/orders.tsv"), 3, 4),
        ("retail", lambda tmp: fixture_path("retail/sell_through.csv"), 3, 6),
    ],
)  # fmt: skip
def test_importing_orders_of_every_format(
    settings: Settings,
    session_factory: sessionmaker[Session],
    session: Session,
    tmp_path: Path,
    order_format: str,
    make_file: object,
    orders: int,
    records: int,
) -> None:
    """`tessera import orders --format X` applies each platform's export; `orders list` shows
    them."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    assert callable(make_file)
    path = make_file(tmp_path)

    code, output = invoke(
        settings, session_factory, "import", "orders", str(path), "--format", order_format,
        "-w", "glow",
    )  # fmt: skip
    listed_code, listed = invoke(settings, session_factory, "orders", "list", "-w", "glow")

    assert (code, listed_code) == (0, 0), output
    assert summary_rows(output) == {
        "received": records, "accepted": records, "duplicates": 0, "rejected": 0,
    }  # fmt: skip
    session.expire_all()
    stored = session.scalars(select(Order).where(Order.workspace_id == workspace_id)).all()
    assert len(stored) == orders
    assert all(order.id in listed for order in stored)


def test_a_truncated_report_names_the_line_and_field(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """The cut Amazon report: one clear line for the cut row; the whole order is kept."""
    make_workspace(session, "glow")
    session.commit()

    code, output = invoke(
        settings, session_factory, "import", "orders", "--format", "amazon",
        str(fixture_path("amazon/orders_truncated.tsv")), "-w", "glow",
    )  # fmt: skip

    assert code == 1
    assert (
        "orders_truncated.tsv line 4: the row has 14 of 32 columns; the file may be truncated "
        "(field: quantity)"
    ) in output
    assert summary_rows(output) == {"received": 3, "accepted": 2, "duplicates": 0, "rejected": 1}


def test_an_unreadable_file_is_one_clear_line(
    settings: Settings, session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> None:
    """A missing file, an unknown extension and a CSV without a required column: exit 1."""
    make_workspace(session, "glow")
    session.commit()
    (tmp_path / "events.xml").write_text("<events/>")
    (tmp_path / "sell.csv").write_text("store,week\n1,2\n")

    missing = invoke(settings, session_factory, "import", "events", "/nope.jsonl", "-w", "glow")
    unknown = invoke(
        settings, session_factory, "import", "events", str(tmp_path / "events.xml"), "-w", "glow"
    )
    no_column = invoke(
        settings, session_factory, "import", "orders", "--format", "retail",
        str(tmp_path / "sell.csv"), "-w", "glow",
    )  # fmt: skip

    assert missing == (1, "error: no file /nope.jsonl (field: file)\n")
    assert unknown[0] == 1
    assert unknown[1].startswith("error: cannot tell the format of events.xml")
    assert no_column[0] == 1
    assert no_column[1].startswith(
        "error: the header lacks the column(s) partner, units_sold (field: partner); kept as qtn_"
    )


def test_an_import_killed_midway_resumes_without_duplicates(
    committed_database_url: str, tmp_path: Path
) -> None:
    """SIGKILL after some chunks committed; the same command again says it resumes and ends
    with every line stored once and counted once."""
    # Many chunks, so the kill lands mid-file even on a fast, idle machine.
    lines = 20_000
    engine = make_engine(committed_database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        workspace_id = make_workspace(session, "glow")
        session.commit()
    path = write_events(tmp_path / "big.jsonl", lines)
    command = [
        sys.executable, "-m", "tessera", "import", "events", str(path), "-w", "glow",
        "--chunk-size", "50",
    ]  # fmt: skip
    env = {**os.environ, "TESSERA_DATABASE_URL": committed_database_url, "COLUMNS": "200"}

    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_at = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        with factory() as session:
            killed_at = (
                session.scalar(
                    select(ImportRun.position).where(ImportRun.workspace_id == workspace_id)
                )
                or 0
            )
        if killed_at > 0:
            first.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    first.wait(timeout=30)
    with factory() as session:
        run = session.scalar(select(ImportRun).where(ImportRun.workspace_id == workspace_id))
        assert run is not None
        interrupted = (run.status, run.position)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    with factory() as session:
        run = session.scalar(select(ImportRun).where(ImportRun.workspace_id == workspace_id))
        stored = session.scalar(
            select(func.count()).select_from(Event).where(Event.workspace_id == workspace_id)
        )
    engine.dispose()

    assert first.returncode == -signal.SIGKILL
    assert interrupted[0] == "running" and 0 < interrupted[1] < lines
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"resuming big.jsonl after line {interrupted[1]}" in second.stdout
    assert run is not None
    assert (run.status, run.received, run.accepted, run.duplicates, run.rejected) == (
        "completed", lines, lines, 0, 0,
    )  # fmt: skip
    assert stored == lines
    assert summary_rows(second.stdout)["received"] == lines
