"""Reading files and request bodies one record at a time, in constant memory.

A record is one JSON line, one CSV/TSV row (keyed by the header) or one item of a JSON list
(a request body, or a file holding one JSON document rather than JSON Lines).
A record that cannot be read (cut short, not JSON, too few cells) is still yielded, with the
reason and its raw text, so it can be quarantined and counted: every record read ends up
accepted, duplicate or rejected. Each record says how far into the file it ends (bytes and
lines), which is where a resumed import starts again.
"""

from __future__ import annotations

import csv
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import orjson

from tessera.collect.domain import merge_batch_context
from tessera.connector.errors import InvalidRecord, UnreadableFile
from tessera.kit.bounds import printable, unstorable_in

MAX_LINE_BYTES = 1024 * 1024
TRUNCATED = "the record is cut short; the file may be truncated"


@dataclass(frozen=True, slots=True)
class Record:
    where: str  # "line 4", "item 0", "row 17": how a person finds it again
    line: int  # first line (or row, or item) of the record
    data: Any  # a JSON object, or a row keyed by the header; partial or None when unreadable
    raw: str  # the record as read, for the quarantine
    problem: InvalidRecord | None = None
    end_offset: int = 0  # bytes of the file consumed once this record is read
    end_line: int = 0  # lines (rows for Parquet) consumed once this record is read


@dataclass(frozen=True, slots=True)
class Start:
    """Where to start reading: after ``offset`` bytes, which held ``line`` lines (or rows)."""

    offset: int = 0
    line: int = 0


def _read_line(stream: IO[bytes]) -> tuple[bytes, bool]:
    """One line of at most 1 MB, and whether it was longer (the rest of it is skipped)."""
    raw = stream.readline(MAX_LINE_BYTES + 1)
    if len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n"):
        return raw, False
    rest = raw
    while rest and not rest.endswith(b"\n"):
        rest = stream.readline(MAX_LINE_BYTES)
    return raw, True


def jsonl_records(stream: IO[bytes], start: Start = Start()) -> Iterator[Record]:
    """JSON Lines: one JSON object per line; blank lines are skipped."""
    stream.seek(start.offset)
    offset, line = start.offset, start.line
    problem: InvalidRecord | None
    while True:
        position = stream.tell()
        raw, too_long = _read_line(stream)
        if not raw:
            return
        offset = stream.tell() if too_long else position + len(raw)
        line += 1
        where = f"line {line}"
        if too_long:
            problem = InvalidRecord(f"the line is longer than {MAX_LINE_BYTES} bytes", field="line")
            yield Record(where, line, None, _text(raw[:2048]), problem, offset, line)
            continue
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8-sig" if line == 1 else "utf-8")
        except UnicodeDecodeError:
            problem = InvalidRecord("the line is not UTF-8 text", field="line")
            yield Record(where, line, None, _text(raw), problem, offset, line)
            continue
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            reason = TRUNCATED if not raw.endswith(b"\n") else f"the line is not valid JSON: {exc}"
            yield Record(where, line, None, text, InvalidRecord(reason, field="line"), offset, line)
            continue
        problem = (
            None
            if isinstance(data, dict)
            else InvalidRecord("the line must be a JSON object", field="line")
        )
        yield Record(
            where, line, data, text.rstrip("\r\n"), problem or unstorable(data), offset, line
        )


@dataclass
class _LineFeed:
    """Feeds the csv module line by line, counting bytes and lines and keeping the raw text."""

    stream: IO[bytes]
    offset: int
    line: int
    buffer: list[str] = field(default_factory=list)
    last_raw: bytes = b""

    def __iter__(self) -> Iterator[str]:
        while True:
            position = self.stream.tell()
            raw, too_long = _read_line(self.stream)
            if not raw:
                return
            self.offset = self.stream.tell() if too_long else position + len(raw)
            self.line += 1
            self.last_raw = raw
            text = _text(raw)
            self.buffer.append(text)
            yield text


def _text(raw: bytes) -> str:
    """UTF-8, or Windows-1252 for files written by older spreadsheet and report tools."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_header(
    stream: IO[bytes],
    delimiter: str,
    normalise: Callable[[str], str] | None = None,
    required: Sequence[str] = (),
) -> tuple[list[str], int]:
    """The header's column names and its length in bytes; refuses a missing required column."""
    stream.seek(0)
    raw, _too_long = _read_line(stream)
    text = _text(raw).lstrip("\ufeff").rstrip("\r\n")
    if not text.strip():
        raise UnreadableFile("the file is empty: it needs a header line", field="header")
    names = next(csv.reader([text], delimiter=delimiter))
    columns = [normalise(name) if normalise else name.strip() for name in names]
    missing = [name for name in required if name not in columns]
    if missing:
        raise UnreadableFile(
            f"the header lacks the column(s) {', '.join(missing)}", field=missing[0]
        )
    return columns, len(raw)


def delimited_records(
    stream: IO[bytes],
    columns: Sequence[str],
    header_bytes: int,
    start: Start = Start(),
    delimiter: str = ",",
) -> Iterator[Record]:
    """CSV (quoted, fields may span lines) or TSV (unquoted) rows after the header."""
    begin = max(start.offset, header_bytes)
    feed = _LineFeed(stream, begin, max(start.line, 1))
    stream.seek(begin)
    if delimiter == "\t":  # Amazon's reports are unquoted: a quote is part of the text
        reader = csv.reader(iter(feed), delimiter=delimiter, quoting=csv.QUOTE_NONE, strict=True)
    else:
        reader = csv.reader(iter(feed), delimiter=delimiter, strict=True)
    problem: InvalidRecord | None
    while True:
        feed.buffer.clear()
        first = feed.line + 1
        where = f"line {first}"
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            cut = "end of data" in str(exc)
            reason = TRUNCATED if cut else f"the row is not valid CSV: {exc}"
            raw = "".join(feed.buffer)
            problem = InvalidRecord(reason, field="line")
            yield Record(where, first, None, raw, problem, feed.offset, feed.line)
            continue
        raw = "".join(feed.buffer).rstrip("\r\n")
        if not any(cell.strip() for cell in cells):
            continue
        data = dict(zip(columns, cells, strict=False))
        problem = unstorable(data)
        if len(cells) < len(columns):
            cut = not feed.last_raw.endswith(b"\n")
            problem = InvalidRecord(
                f"the row has {len(cells)} of {len(columns)} columns"
                + ("; the file may be truncated" if cut else ""),
                field=columns[len(cells)],
            )
        elif len(cells) > len(columns):
            problem = InvalidRecord(
                f"the row has {len(cells)} cells but the header {len(columns)} columns",
                field="line",
            )
        yield Record(where, first, data, raw, problem, feed.offset, feed.line)


def unstorable(data: Any) -> InvalidRecord | None:
    """A record holding text no database keeps (a NUL character, a lone surrogate) or a number
    JSON has no word for, refused naming the field, as every other refusal of a record is."""
    for where, problem in unstorable_in(data):
        name = printable(where) or "line"
        return InvalidRecord(f"{name} {problem}", field=name)
    return None


DOCUMENT_MAX_BYTES = 64 * 1024 * 1024  # one JSON document is read whole; JSON Lines streams
USE_JSONL = "use JSON Lines, one JSON object per line (e.g. jq -c '.[]' in.json > out.jsonl)"


def read_document(stream: IO[bytes], name: str) -> Any | None:
    """The file as one JSON document (an object or an array, however it is laid out), or
    None when it is JSON Lines: its first line that is not blank is a JSON object.

    A pretty-printed export is read whole, so up to ``DOCUMENT_MAX_BYTES``. Refuses, in one
    line saying to use JSON Lines, a file that is neither (text, CSV, a lone number, a document
    cut short) and a document too large to read whole: never one refusal per physical line.
    """
    stream.seek(0)
    lines = _lines_with_text(stream, 2)
    if not lines:
        return None  # empty: nothing to read either way
    text = lines[0].lstrip(b"\xef\xbb\xbf")
    if _is_object(text):
        return None
    if not text.startswith((b"{", b"[")):
        raise UnreadableFile(
            f"{name} is not JSON Lines (its first line is not a JSON object) nor one JSON "
            f"document; {USE_JSONL}",
            field="file",
        )
    size = stream.seek(0, 2)
    if size > DOCUMENT_MAX_BYTES:
        raise UnreadableFile(
            f"{name} is one JSON document of {size // (1024 * 1024)} MB, more than is read "
            f"whole ({DOCUMENT_MAX_BYTES // (1024 * 1024)} MB); {USE_JSONL}",
            field="file",
        )
    stream.seek(0)
    try:
        document = orjson.loads(stream.read().lstrip(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        if len(lines) == 2 and _is_object(lines[1]):
            return None  # JSON Lines whose first line is damaged: that line is refused alone
        raise UnreadableFile(
            f"{name} is not JSON Lines nor one JSON document ({exc}); {USE_JSONL}",
            field="file",
        ) from None
    return document  # an object or an array: the text starts with one


def _lines_with_text(stream: IO[bytes], count: int) -> list[bytes]:
    """The first ``count`` lines that are not blank, stripped (each at most 1 MB)."""
    found: list[bytes] = []
    while len(found) < count:
        raw, _too_long = _read_line(stream)
        if not raw:
            break
        if raw.strip():
            found.append(raw.strip())
    return found


def _is_object(text: bytes) -> bool:
    try:
        return isinstance(orjson.loads(text), dict)
    except orjson.JSONDecodeError:
        return False


def event_items(document: Any) -> list[Record]:
    """The events of one JSON document: a list of messages, a Segment batch
    (``{"batch": [...]}``, its ``context`` and ``integrations`` merged into each), or one
    message."""
    items: Any = document
    if isinstance(document, dict) and isinstance(document.get("batch"), list):
        items = [
            merge_batch_context(item, document) if isinstance(item, dict) else item
            for item in document["batch"]
        ]
    if not isinstance(items, list):
        items = [items]
    return _items(items, "an event must be a JSON object")


def numbered(records: Sequence[Record], size: int, start: int = 0) -> Iterator[Record]:
    """A document's records after the first ``start``, each saying how far into the
    document it ends (its item number), so an interrupted import resumes after it; the byte
    offset is the share of the file read, for progress."""
    count = len(records)
    for index, record in enumerate(records[start:], start=start):
        yield replace(record, end_line=index + 1, end_offset=size * (index + 1) // max(count, 1))


def json_items(document: Any) -> list[Record]:
    """The orders of a request body: one object, a list, ``{"orders": [...]}``, or TikTok's
    ``{"data": {"orders": [...]}}``."""
    items: Any = document
    if isinstance(document, dict):
        if isinstance(document.get("orders"), list):
            items = document["orders"]
        elif isinstance(document.get("data"), dict) and isinstance(
            document["data"].get("orders"), list
        ):
            items = document["data"]["orders"]
    if not isinstance(items, list):
        items = [items]
    return _items(items, "an order must be a JSON object")


def _items(items: Sequence[Any], not_an_object: str) -> list[Record]:
    records = []
    for index, item in enumerate(items):
        problem = None if isinstance(item, dict) else InvalidRecord(not_an_object, field="body")
        raw = orjson.dumps(item).decode()
        records.append(Record(f"item {index}", index, item, raw, problem or unstorable(item)))
    return records


def parquet_records(path: Path, start_row: int = 0, batch_size: int = 1000) -> Iterator[Record]:
    """Parquet rows, read one record batch at a time, skipping ``start_row`` rows.

    A file that is not complete Parquet (cut short, or another format) is refused whole: its
    footer, which lists the columns, is at the end.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFile(
            f"{path.name} is not a complete Parquet file (it may be truncated): {exc}",
            field="file",
        ) from None
    groups, skipped = [], 0
    for index in range(parquet.num_row_groups):
        rows = parquet.metadata.row_group(index).num_rows
        if skipped + rows <= start_row:
            skipped += rows
        else:
            groups.append(index)
    row = skipped
    try:
        for batch in parquet.iter_batches(batch_size=batch_size, row_groups=groups):
            for values in batch.to_pylist():
                row += 1
                if row <= start_row:
                    continue
                yield Record(f"row {row}", row, values, "", unstorable(values), 0, row)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFile(
            f"{path.name} cannot be read past row {row}: {exc}", field="file"
        ) from None


GROUP_MEMORY = 100_000  # group keys remembered to notice scattered rows, in constant memory


def grouped(
    records: Iterable[Record], key: Callable[[Any], Hashable] | None
) -> Iterator[tuple[list[Record], bool]]:
    """Records as units: runs of neighbouring records with the same key (an Amazon order's
    rows, a store-week of sell-through), or one record each when ``key`` is None.

    The flag says the unit's key was already seen earlier in the input: its rows are scattered,
    and applying the later run as the whole order would drop the earlier one's lines. The last
    100,000 keys are remembered, so memory stays constant on any file.
    """
    if key is None:
        for record in records:
            yield [record], False
        return
    recent: OrderedDict[Hashable, None] = OrderedDict()
    unit: list[Record] = []
    unit_key: Hashable = None
    for record in records:
        record_key = _key_of(record, key)
        if unit and record_key == unit_key:
            unit.append(record)
            continue
        if unit:
            yield unit, _remember(recent, unit_key)
        unit, unit_key = [record], record_key
    if unit:
        yield unit, _remember(recent, unit_key)


def _key_of(record: Record, key: Callable[[Any], Hashable]) -> Hashable:
    if isinstance(record.data, dict):
        try:
            return key(record.data)
        except (KeyError, TypeError, AttributeError):
            pass
    return ("unreadable", record.line)


def _remember(recent: OrderedDict[Hashable, None], unit_key: Hashable) -> bool:
    seen = unit_key in recent
    recent[unit_key] = None
    recent.move_to_end(unit_key)
    if len(recent) > GROUP_MEMORY:
        recent.popitem(last=False)
    return seen
