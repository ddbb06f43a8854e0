"""The bulk importer: streamed, chunked, resumable, every record counted once."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tessera.cli_support import CliContext
from tessera.config import Settings
from tessera.connector.errors import ImportInProgress, UnreadableFile
from tessera.connector.importer import (
    FileImporter,
    ImportProgress,
    ImportStart,
    fingerprint,
    message_from_row,
)
from tessera.models.collect import Event, ImportRun, QuarantineEntry
from tessera.models.order import Order
from tests.support.connectors import fixture_path
from tests.support.factories import make_workspace


def write_events(path: Path, count: int, start: int = 0) -> Path:
    with path.open("w") as out:
        for number in range(start, start + count):
            message = {"type": "track", "event": "Product Viewed", "userId": f"u{number % 50}",
                       "messageId": f"m-{number}", "timestamp": "2025-05-01T10:00:00Z",
                       "properties": {"sku": "SERUM-30", "price": 38.0}}  # fmt: skip
            out.write(json.dumps(message) + "\n")
    return path


def count(session: Session, model: type[Event] | type[Order], workspace_id: str) -> int:
    session.expire_all()
    return int(
        session.scalar(select(func.count()).select_from(model).where(
            model.workspace_id == workspace_id))
        or 0
    )  # fmt: skip


@pytest.fixture
def cli(settings: Settings, session_factory: sessionmaker[Session]) -> CliContext:
    return CliContext(settings=settings, session_factory=session_factory)


def test_a_jsonl_file_is_imported_with_every_line_accounted_for(
    cli: CliContext, session: Session
) -> None:
    """Good lines stored, a repeat counted as duplicate, a bad and a cut line quarantined."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    refused: list[tuple[str, str, str | None]] = []

    report = FileImporter(
        cli.session, workspace_id, fixture_path("events/events.jsonl"), "events",
        on_rejected=lambda r: refused.append((r.where, r.reason, r.field)),
    ).run()  # fmt: skip

    assert (report.received, report.accepted, report.duplicates, report.rejected) == (7, 4, 1, 2)
    assert report.balanced
    assert refused == [
        ("line 7", "Order Completed needs properties.order_id", "properties.order_id"),
        ("line 8", "the record is cut short; the file may be truncated", "line"),
    ]
    kept = session.scalars(
        select(QuarantineEntry).where(QuarantineEntry.workspace_id == workspace_id)
    ).all()
    assert [(e.kind, e.origin, e.field) for e in kept] == [
        ("event", "events.jsonl line 7", "properties.order_id"),
        ("event", "events.jsonl line 8", "line"),
    ]
    assert count(session, Event, workspace_id) == 4


def test_a_csv_file_reads_dotted_columns_as_nested_fields(
    cli: CliContext, session: Session
) -> None:
    """properties.price '24.00' is the number 24.0; 'twenty' is refused naming the field."""
    workspace_id = make_workspace(session, "glow")
    session.commit()

    report = FileImporter(
        cli.session, workspace_id, fixture_path("events/events.csv"), "events"
    ).run()

    assert (report.received, report.accepted, report.rejected) == (5, 3, 2)
    assert dict(report.reasons) == {
        "properties.price must be a number": 1,
        "userId or anonymousId is required": 1,
    }
    added = session.scalar(select(Event).where(Event.message_id == "csv-0002"))
    assert added is not None
    assert added.payload["properties"] == {"sku": "MASK-CLAY", "price": 24.0, "quantity": 1}
    assert (added.channel, added.timestamp.isoformat()) == ("web", "2025-04-01T09:02:00+00:00")


def test_a_parquet_file_is_read_batch_by_batch(
    cli: CliContext, session: Session, tmp_path: Path
) -> None:
    """Struct columns become objects and timestamps ISO text; row numbers name refusals."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    path = tmp_path / "events.parquet"
    table = pa.table(
        {
            "type": ["track", "track", "identify"],
            "event": ["Product Added", "Product Added", None],
            "userId": ["u1", None, "u3"],
            "messageId": ["pq-1", "pq-2", "pq-3"],
            "timestamp": pa.array(
                [1_746_093_600_000_000, 1_746_093_660_000_000, 1_746_093_720_000_000],
                pa.timestamp("us", tz="UTC"),
            ),
            "properties": [{"sku": "BALM-FIG", "price": 8.0}, {"sku": "X", "price": 1.0}, None],
        }
    )
    pq.write_table(table, path, row_group_size=2)

    report = FileImporter(cli.session, workspace_id, path, "events", chunk_size=2).run()

    assert (report.received, report.accepted, report.rejected) == (3, 2, 1)
    stored = session.scalar(select(Event).where(Event.message_id == "pq-1"))
    assert stored is not None
    assert stored.payload["properties"] == {"sku": "BALM-FIG", "price": 8.0}
    assert stored.timestamp.isoformat() == "2025-05-01T10:00:00+00:00"
    [entry] = session.scalars(
        select(QuarantineEntry).where(QuarantineEntry.workspace_id == workspace_id)
    ).all()
    assert (entry.origin, entry.field) == ("events.parquet row 2", "userId")


def test_a_truncated_parquet_file_is_refused_whole_and_kept(
    cli: CliContext, session: Session, tmp_path: Path
) -> None:
    """A Parquet file cut short has no footer: refused with a clear reason, kept as 'file'."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"type": ["track"] * 100, "userId": ["u"] * 100}), whole)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(whole.read_bytes()[:-40])

    with pytest.raises(UnreadableFile) as refused:
        FileImporter(cli.session, workspace_id, cut, "events").run()

    assert refused.value.detail.startswith(
        "cut.parquet is not a complete Parquet file (it may be truncated)"
    )
    [entry] = session.scalars(
        select(QuarantineEntry).where(QuarantineEntry.workspace_id == workspace_id)
    ).all()
    assert (entry.kind, entry.origin, entry.id) == (
        "file", "cut.parquet", refused.value.extensions["quarantine_id"],
    )  # fmt: skip


def test_an_interrupted_import_resumes_after_its_last_committed_chunk(
    cli: CliContext, session: Session, tmp_path: Path
) -> None:
    """Ctrl-C after two chunks of 100: the next run starts after line 200 and ends balanced,
    with each event stored once."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    path = write_events(tmp_path / "big.jsonl", 1000)
    chunks: list[ImportProgress] = []

    def interrupt_after_two(progress: ImportProgress) -> None:
        chunks.append(progress)
        if len(chunks) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        FileImporter(
            cli.session, workspace_id, path, "events", chunk_size=100,
            on_progress=interrupt_after_two,
        ).run()  # fmt: skip
    starts: list[ImportStart] = []
    report = FileImporter(
        cli.session, workspace_id, path, "events", chunk_size=100, on_start=starts.append
    ).run()

    first_200_lines = sum(len(line) for line in path.read_bytes().splitlines(keepends=True)[:200])
    assert (chunks[-1].received, chunks[-1].done) == (200, first_200_lines)
    assert [(s.resumed_after_line, s.received_before) for s in starts] == [(200, 200)]
    assert (report.received, report.accepted, report.duplicates, report.rejected) == (
        1000, 1000, 0, 0,
    )  # fmt: skip
    assert count(session, Event, workspace_id) == 1000


def test_a_finished_file_is_not_read_again_unless_restarted(
    cli: CliContext, session: Session, tmp_path: Path
) -> None:
    """The same file again: already complete. With restart: read again, all duplicates."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    path = write_events(tmp_path / "done.jsonl", 30)
    FileImporter(cli.session, workspace_id, path, "events").run()

    again = FileImporter(cli.session, workspace_id, path, "events").run()
    restarted = FileImporter(cli.session, workspace_id, path, "events").run(restart=True)

    assert (again.already_complete, again.received, again.accepted) == (True, 30, 30)
    assert (restarted.already_complete, restarted.accepted, restarted.duplicates) == (
        False, 0, 30,
    )  # fmt: skip
    assert count(session, Event, workspace_id) == 30


def test_two_imports_of_one_file_never_apply_a_chunk_twice(
    cli: CliContext, session: Session, tmp_path: Path
) -> None:
    """A second process finishes the file while the first is between chunks: the first one's
    next chunk is refused and rolls back; the totals count each line once."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    path = write_events(tmp_path / "shared.jsonl", 300)

    def other_process_runs(progress: ImportProgress) -> None:
        if progress.received == 100:
            FileImporter(cli.session, workspace_id, path, "events", chunk_size=100).run()

    with pytest.raises(ImportInProgress):
        FileImporter(
            cli.session, workspace_id, path, "events", chunk_size=100,
            on_progress=other_process_runs,
        ).run()  # fmt: skip

    session.expire_all()
    run = session.scalar(select(ImportRun).where(ImportRun.workspace_id == workspace_id))
    assert run is not None
    assert (run.status, run.received, run.accepted, run.duplicates) == ("completed", 300, 300, 0)
    assert count(session, Event, workspace_id) == 300


def test_an_amazon_report_imports_as_orders_and_names_the_cut_row(
    cli: CliContext, session: Session
) -> None:
    """The truncated report: the two rows of the whole order applied, the cut row quarantined
    with its line."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    refused: list[tuple[str, str | None]] = []

    report = FileImporter(
        cli.session, workspace_id, fixture_path("amazon/orders_truncated.tsv"), "amazon",
        on_rejected=lambda r: refused.append((r.where, r.field)),
    ).run()  # fmt: skip

    assert (report.received, report.accepted, report.rejected) == (3, 2, 1)
    assert refused == [("line 4", "quantity")]
    assert count(session, Order, workspace_id) == 1
    entry = session.scalar(
        select(QuarantineEntry).where(QuarantineEntry.workspace_id == workspace_id)
    )
    assert entry is not None
    assert (entry.kind, entry.origin) == ("row:amazon", "orders_truncated.tsv line 4")


def test_the_fingerprint_names_the_file_its_size_and_its_ends(tmp_path: Path) -> None:
    """Same bytes and name: same run. A changed last line or another kind: another run."""
    first = write_events(tmp_path / "a.jsonl", 5)
    same = fingerprint(first, "events")
    write_events(first, 5, start=1)

    assert fingerprint(first, "events") != same
    assert fingerprint(first, "events") != fingerprint(first, "orders:shopify")


def test_rows_become_segment_messages() -> None:
    """Dotted CSV columns nest; JSON cells decode; text that is not JSON stays text."""
    row = {"type": "track", "userId": "42", "event": "Order Completed",
           "properties.order_id": "W-1", "properties.total": "76.5", "context.page.path": "/x",
           "traits.zip": "02134", "properties.coupon": ""}  # fmt: skip

    assert message_from_row(row, cells_are_text=True) == {
        "type": "track", "userId": "42", "event": "Order Completed",
        "properties": {"order_id": "W-1", "total": 76.5}, "context": {"page": {"path": "/x"}},
        "traits": {"zip": "02134"},
    }  # fmt: skip
