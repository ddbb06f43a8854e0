"""Bulk import of events and orders from files: streamed, committed in chunks, resumable.

A file is read one record at a time (JSON lines, CSV/TSV rows, Parquet record batches), so a
5 GB file needs the memory of one chunk, not of the file. A ``.json`` file holding one JSON
document (an object or an array, pretty-printed as exports are) rather than JSON Lines is read
whole, up to 64 MB, and its items imported the same way; a file that is neither is refused
whole, saying to use JSON Lines (``records.read_document``). Each chunk is its own transaction,
opened by the caller's unit of work (``CliContext.session``): its events or orders, its
quarantine rows and the run's new position commit together or not at all. The run
(``ImportRun``) is keyed by a fingerprint of the file (name, size, the first and last MB), so
running the same command again after an interruption seeks to the byte after the last
committed chunk and goes on from there; nothing is applied twice and the counts carry over.

Every record read is counted once: ``accepted + duplicates + rejected == received``. A refused
record goes to the quarantine with ``origin`` naming the file and line, and the field. A file
that cannot be read at all (no header, a Parquet file cut short) is refused whole, with a
quarantine row of kind ``file``.

Two processes importing the same file do not both apply a chunk: a chunk moves the run's
position only from where it read it, and the loser's chunk rolls back.
"""

from __future__ import annotations

import enum
import hashlib
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy.orm import Session

from tessera.connector.errors import ImportInProgress, UnreadableFile
from tessera.connector.formats import SPECS, OrderFormat, layout
from tessera.connector.records import (
    Record,
    Start,
    delimited_records,
    event_items,
    grouped,
    json_items,
    jsonl_records,
    numbered,
    parquet_records,
    read_document,
    read_header,
)
from tessera.connector.service import ConnectorService, Rejected, Tally
from tessera.db.errors import DATABASE_ERRORS, transient_reason
from tessera.kit.time import ensure_utc, utcnow
from tessera.workspace.service import WorkspaceService

FINGERPRINT_BYTES = 1024 * 1024
EVENT_CHUNK = 1000
CHUNK_ATTEMPTS = 3  # a chunk stopped by a deadlock is applied again, this many times in all
ORDER_CHUNK = 200
MAX_REASONS = 50  # distinct rejection reasons a run remembers; the rest count as "other"
OTHER_REASONS = "(other reasons)"
NESTED = ("properties", "traits", "context", "integrations")

UnitOfWork = Callable[[], AbstractContextManager[Session]]


class FileFormat(enum.StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    TSV = "tsv"
    PARQUET = "parquet"


_SUFFIXES = {
    ".jsonl": FileFormat.JSONL, ".ndjson": FileFormat.JSONL, ".json": FileFormat.JSONL,
    ".csv": FileFormat.CSV, ".tsv": FileFormat.TSV, ".txt": FileFormat.TSV,
    ".parquet": FileFormat.PARQUET, ".pq": FileFormat.PARQUET,
}  # fmt: skip


def event_file_format(path: Path) -> FileFormat:
    """The format of an events file by its extension; refuses one it cannot tell."""
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None or found is FileFormat.TSV:
        raise UnreadableFile(
            f"cannot tell the format of {path.name}: name it .jsonl, .csv or .parquet, "
            "or pass --file-format",
            field="file",
        )
    return found


def fingerprint(path: Path, kind: str) -> str:
    """What makes two runs the same import: kind, name, size, and the first and last MB."""
    size = path.stat().st_size
    digest = hashlib.sha256(f"{kind}\0{path.name}\0{size}\0".encode())
    with path.open("rb") as stream:
        digest.update(stream.read(FINGERPRINT_BYTES))
        if size > FINGERPRINT_BYTES:
            stream.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
            digest.update(stream.read(FINGERPRINT_BYTES))
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ImportProgress:
    done: int  # bytes read, or rows for Parquet
    total: int
    unit: str  # "bytes" | "rows"
    received: int
    accepted: int
    duplicates: int
    rejected: int


@dataclass(frozen=True, slots=True)
class ImportStart:
    run_id: str
    resumed_after_line: int | None  # None for a fresh run
    received_before: int


@dataclass
class ImportReport:
    """The run's totals over every attempt, and what this attempt did."""

    run_id: str
    file_name: str
    kind: str
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)  # most frequent first
    resumed_after_line: int | None = None
    already_complete: bool = False
    rejected_this_run: int = 0

    @property
    def balanced(self) -> bool:
        return self.accepted + self.duplicates + self.rejected == self.received


@dataclass
class _RunState:
    run_id: str
    source_id: str
    position: int
    byte_offset: int
    status: str
    counts: dict[str, int]
    reasons: dict[str, int]


@dataclass(frozen=True, slots=True)
class _ChunkApplied:
    """What one committed chunk did: where the run now stands, and what it counted."""

    position: int  # the line (or Parquet row) after the chunk
    byte_offset: int
    counts: dict[str, int]
    reasons: dict[str, int]  # the run's refusal reasons, this chunk's merged in
    tally: Tally


def _merge_reasons(stored: Mapping[str, int], new: Counter[str]) -> dict[str, int]:
    merged = dict(stored)
    for reason, count in new.items():
        key = reason[:200]
        if key not in merged and len(merged) >= MAX_REASONS:
            key = OTHER_REASONS
        merged[key] = merged.get(key, 0) + count
    return merged


def _plain(value: Any) -> Any:
    """A Parquet value as JSON: times as ISO text, decimals as numbers."""
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _cell(text: str) -> Any:
    """A CSV cell under ``properties.``/``context.``...: JSON when it reads as JSON (numbers,
    true/false, objects), else the text itself ("02134" stays text)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def message_from_row(row: Mapping[str, Any], cells_are_text: bool) -> dict[str, Any]:
    """A Segment message from a flat row.

    Columns are Segment's names (``type``, ``event``, ``userId``, ``messageId``,
    ``timestamp``...). ``properties``, ``traits``, ``context`` and ``integrations`` are either
    one column holding a JSON object or dotted columns (``properties.revenue``), whose CSV
    cells are read as JSON when they are JSON. Empty cells are absent.
    """
    message: dict[str, Any] = {}
    for name, raw in row.items():
        value = _plain(raw)
        if value is None or value == "":
            continue
        path = str(name).strip().split(".")
        if path[0] in NESTED and isinstance(value, str) and (len(path) == 1 or cells_are_text):
            value = _cell(value)
        target = message
        for part in path[:-1]:
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = {}
                target[part] = existing
            target = existing
        target[path[-1]] = value
    return message


def _event_record(record: Record, cells_are_text: bool) -> Record:
    if record.problem is not None or not isinstance(record.data, dict):
        return record
    message = message_from_row(record.data, cells_are_text)
    raw = record.raw or orjson.dumps(message, default=str).decode()
    return Record(record.where, record.line, message, raw, None, record.end_offset, record.end_line)


class FileImporter:
    """Imports one file into one workspace, a chunk per transaction, resumable.

    ``unit_of_work`` opens one transaction (``CliContext.session``); ``kind`` is ``"events"``
    or an ``OrderFormat``. Callbacks report the start (fresh or resumed), progress after each
    committed chunk, and each refused record.
    """

    def __init__(
        self,
        unit_of_work: UnitOfWork,
        workspace_id: str,
        path: Path,
        kind: OrderFormat | str,
        *,
        file_format: FileFormat | None = None,
        chunk_size: int | None = None,
        source_name: str | None = None,
        on_start: Callable[[ImportStart], None] | None = None,
        on_progress: Callable[[ImportProgress], None] | None = None,
        on_rejected: Callable[[Rejected], None] | None = None,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.workspace_id = workspace_id
        self.path = path
        self.order_format = OrderFormat(kind) if kind != "events" else None
        self.kind = "events" if self.order_format is None else f"orders:{self.order_format}"
        self.spec = SPECS[self.order_format] if self.order_format else None
        if self.spec is not None:
            self.file_format = FileFormat(self.spec.file_format)
        else:
            self.file_format = file_format or event_file_format(path)
        default_chunk = EVENT_CHUNK if self.spec is None else ORDER_CHUNK
        self.chunk_size = max(1, chunk_size or default_chunk)
        self.source_name = source_name
        self.on_start = on_start
        self.on_progress = on_progress
        self.on_rejected = on_rejected
        self.total = 0
        self.unit = "rows" if self.file_format is FileFormat.PARQUET else "bytes"

    def run(self, restart: bool = False) -> ImportReport:
        """Import the file, or go on from where an interrupted run of it stopped.

        Refuses a missing file, a file whose header lacks a required column, and a Parquet
        file that is not complete (``UnreadableFile``, with a quarantine row). Refuses to run
        alongside another import of the same file (``ImportInProgress``; its chunk rolls back).
        With ``restart`` a finished or interrupted run starts again from the first line;
        records stored before are then counted as duplicates.
        """
        if not self.path.is_file():
            raise UnreadableFile(f"no file {self.path}", field="file")
        state = self._claim(fingerprint(self.path, self.kind), restart)
        report = ImportReport(state.run_id, self.path.name, self.kind)
        if state.status == "completed":
            report.already_complete = True
            return self._totals(report, state)
        if state.position > 0:
            report.resumed_after_line = state.position
        if self.on_start:
            start = ImportStart(state.run_id, report.resumed_after_line, state.counts["received"])
            self.on_start(start)
        rejected_before = state.counts["rejected"]
        with ExitStack() as stack:
            stream = stack.enter_context(self.path.open("rb"))
            self.total = self.path.stat().st_size
            chunk: list[tuple[list[Record], bool]] = []
            size = 0
            try:
                records = self._records(stream, Start(state.byte_offset, state.position))
                key = self.spec.group_key if self.spec else None
                for unit, scattered in grouped(records, key):
                    chunk.append((unit, scattered))
                    size += len(unit)
                    if size >= self.chunk_size:
                        self._flush(state, chunk, final=False)
                        chunk, size = [], 0
            except UnreadableFile as exc:
                if chunk:
                    self._flush(state, chunk, final=False)
                self._keep_file_error(exc, state.source_id)
                raise
            self._flush(state, chunk, final=True)
        report.rejected_this_run = state.counts["rejected"] - rejected_before
        return self._totals(report, state)

    # Steps ------------------------------------------------------------------------------------

    def _claim(self, fingerprint_value: str, restart: bool) -> _RunState:
        with self.unit_of_work() as session:
            WorkspaceService(session).get_workspace(self.workspace_id)
            service = ConnectorService(session)
            now = utcnow()
            run = service.repository.claim_run(
                self.workspace_id, self.kind, self.path.name, fingerprint_value, now
            )
            if restart and (run.position or run.status != "running"):
                service.repository.restart_run(run.id, now)
                refreshed = service.repository.run(run.id)
                assert refreshed is not None
                run = refreshed
            source = (
                service.event_source(self.workspace_id, self.source_name)
                if self.spec is None
                else service.source_for(self.workspace_id, self.spec, self.source_name)
            )
            return _RunState(
                run_id=run.id,
                source_id=source.id,
                position=run.position,
                byte_offset=run.byte_offset,
                status=run.status,
                counts={
                    "received": run.received,
                    "accepted": run.accepted,
                    "duplicates": run.duplicates,
                    "rejected": run.rejected,
                },
                reasons=dict(run.reasons or {}),
            )

    def _records(self, stream: IO[bytes], start: Start) -> Iterator[Record]:
        if self.file_format is FileFormat.PARQUET:
            import pyarrow as pa
            import pyarrow.parquet as pq

            records = parquet_records(self.path, start.line, self.chunk_size)
            try:
                self.total = pq.ParquetFile(self.path).metadata.num_rows
            except (pa.ArrowException, OSError):
                self.total = 0  # parquet_records refuses the file, saying why
            return (_event_record(r, cells_are_text=False) for r in records)
        if self.file_format is FileFormat.JSONL:
            document = read_document(stream, self.path.name)
            if document is None:
                return jsonl_records(stream, start)
            items = json_items(document) if self.spec is not None else event_items(document)
            return numbered(items, self.total, start.line)
        if self.spec is not None:
            delimiter, normalise, required = layout(self.spec)
        else:
            delimiter, normalise, required = (
                "\t" if self.file_format is FileFormat.TSV else ",", None, ()
            )  # fmt: skip
        columns, header_bytes = read_header(stream, delimiter, normalise, required)
        rows = delimited_records(stream, columns, header_bytes, start, delimiter)
        if self.spec is None:
            return (_event_record(r, cells_are_text=True) for r in rows)
        return rows

    def _flush(self, state: _RunState, chunk: list[tuple[list[Record], bool]], final: bool) -> None:
        """Apply one chunk and move the run past it, in one transaction. A chunk the database
        stopped for a deadlock with concurrent work (checkouts locking the same balances) is
        applied again, up to ``CHUNK_ATTEMPTS`` times: nothing of it was kept."""
        for attempt in range(1, CHUNK_ATTEMPTS + 1):
            try:
                applied = self._apply_chunk(state, chunk, final)
                break
            except DATABASE_ERRORS as exc:
                if transient_reason(exc) is None or attempt == CHUNK_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.05, 0.2) * attempt)  # jitter, not security
        state.position, state.byte_offset = applied.position, applied.byte_offset
        state.status = "completed" if final else "running"
        for name, value in applied.counts.items():
            state.counts[name] += value
        state.reasons = applied.reasons
        if self.on_rejected:
            for item in applied.tally.rejected:
                self.on_rejected(item)
        if self.on_progress:
            done = applied.byte_offset if self.unit == "bytes" else applied.position
            self.on_progress(ImportProgress(done, max(self.total, done), self.unit, **state.counts))

    def _apply_chunk(
        self, state: _RunState, chunk: list[tuple[list[Record], bool]], final: bool
    ) -> _ChunkApplied:
        """One transaction: the chunk's records applied and the run moved past them."""
        with self.unit_of_work() as session:
            service = ConnectorService(session)
            source = service.sources.source(self.workspace_id, state.source_id)
            assert source is not None
            tally = Tally()
            if self.spec is None:
                records = [unit[0] for unit, _scattered in chunk]
                if records:
                    tally = service.apply_events(self.workspace_id, source, records, self.path.name)
            else:
                for unit, scattered in chunk:
                    tally.add(
                        service.apply_unit(
                            self.spec, self.workspace_id, source, unit, self.path.name, scattered
                        )
                    )
            last = chunk[-1][0][-1] if chunk else None
            position = last.end_line if last else state.position
            offset = last.end_offset if last else state.byte_offset
            counts = {
                "received": tally.received,
                "accepted": tally.accepted,
                "duplicates": tally.duplicates,
                "rejected": tally.rejected_count,
            }
            reasons = _merge_reasons(state.reasons, tally.reasons())
            moved = service.repository.advance_run(
                state.run_id,
                state.position,
                position,
                offset,
                counts,
                reasons,
                "completed" if final else "running",
                utcnow(),
            )
            if not moved:
                raise ImportInProgress(
                    f"another import of {self.path.name} is running (run {state.run_id}); "
                    "wait for it, then run this again to resume",
                    field="file",
                )
            if tally.received:
                service.sources.touch(source.id, utcnow())
        return _ChunkApplied(position, offset, counts, reasons, tally)

    def _keep_file_error(self, exc: UnreadableFile, source_id: str) -> None:
        with self.unit_of_work() as session, self.path.open("rb") as stream:
            head = stream.read(4096)
            entry = ConnectorService(session).quarantine.keep(
                self.workspace_id,
                self.path.name,
                exc.detail,
                head,
                exc.extensions.get("field"),
                "file",
                source_id,
            )
        exc.extensions["quarantine_id"] = entry.id

    def _totals(self, report: ImportReport, state: _RunState) -> ImportReport:
        report.received = state.counts["received"]
        report.accepted = state.counts["accepted"]
        report.duplicates = state.counts["duplicates"]
        report.rejected = state.counts["rejected"]
        report.reasons = sorted(state.reasons.items(), key=lambda item: (-item[1], item[0]))
        return report
