"""Every SQL statement of Collect.

Events are inserted with one statement per request. On PostgreSQL all of a request's rows travel
as one JSON document (``INSERT ... SELECT ... FROM jsonb_to_recordset(:rows) ... ON CONFLICT DO
NOTHING RETURNING``), serialised by orjson in one call: the statement's text is the same for
any number of rows, so the driver converts it once, and no value is escaped one at a time. (A
multi-row ``VALUES`` list has 1,400 placeholders that psycopg re-parsed on every request, and
one array per column spent as long again escaping each element.) SQLite keeps SQLAlchemy's
multi-row ``VALUES`` (insertmanyvalues). Event ids are made here, a batch at a time.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import ColumnElement, Table, TextClause, case, func, select, text, update
from sqlalchemy.dialects import postgresql

from tessera.db.base import RepositoryBase
from tessera.db.buckets import hour_number
from tessera.db.statements import insert_ignoring_conflicts
from tessera.kit.time import ensure_utc
from tessera.models.collect import (
    Channel,
    Event,
    QuarantineEntry,
    QuarantineStatus,
    Source,
    SourceKind,
)


class QuarantineGroupKey(NamedTuple):
    """Refusals alike: one source, one kind, one field (or, naming none, one reason)."""

    source_id: str | None
    kind: str
    field: str | None
    reason: str | None = None


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DIGIT_PAIRS = [high + low for high in _CROCKFORD for low in _CROCKFORD]  # 10 bits each
_RANDOM_BITS = (1 << 80) - 1


def event_ids(count: int) -> list[str]:
    """``count`` new event ids of the form ``new_id("evt")`` makes: a ULID, 48 bits of Unix
    milliseconds then 80 random bits, in Crockford base32.

    Made a batch at a time, because per-id ULID generation was an eighth of the server's time
    at 100 events a request: the random part counts up from one random start, so ids are in
    order within the batch, and only its last two digits change from one id to the next.
    """
    millis = time.time_ns() // 1_000_000
    head = "evt_" + "".join(_CROCKFORD[(millis >> shift) & 31] for shift in range(45, -1, -5))
    value = int.from_bytes(os.urandom(10), "big")
    end = value + count
    ids: list[str] = []
    while value < end:
        bits = value & _RANDOM_BITS
        prefix = head + "".join(_DIGIT_PAIRS[(bits >> s) & 1023] for s in range(70, 9, -10))
        low = bits & 1023
        run = min(1024 - low, end - value)  # up to the next carry into the prefix
        ids.extend([prefix + _DIGIT_PAIRS[low + step] for step in range(run)])
        value += run
    return ids


def _insert_from_json(table: Table, conflict: Sequence[str], returning: str) -> TextClause:
    """``INSERT INTO table SELECT * FROM jsonb_to_recordset(:rows) ... ON CONFLICT DO NOTHING``.

    Each column is read as its unbounded type (``VARCHAR``, not ``VARCHAR(200)``): a cast
    would silently cut a value too long for its column, where the insert refuses it.
    """
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    columns = ", ".join(f'"{column.name}"' for column in table.columns)
    record = ", ".join(
        f'"{column.name}" {re.sub(r"[(][0-9]+[)]", "", column.type.compile(dialect=dialect))}'
        for column in table.columns
    )
    keys = ", ".join(conflict)
    # Names and types come from the table's metadata at import, never from input.
    statement = (
        f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} '  # noqa: S608
        f"FROM jsonb_to_recordset(CAST(:rows AS JSONB)) AS incoming({record}) "
    )
    return text(statement + f"ON CONFLICT ({keys}) DO NOTHING RETURNING {returning}")


def _rows_as_json(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as one JSON array; datetimes as ISO 8601 with their offset."""
    try:
        return orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # integers past 64 bits, which only Python callers can pass
        return json.dumps(rows, default=lambda value: value.isoformat())


_EVENT_TABLE: Table = Event.__table__  # type: ignore[assignment]
_PG_INSERT_EVENTS = _insert_from_json(_EVENT_TABLE, ("workspace_id", "message_id"), "message_id")


class HourBucket(NamedTuple):
    """Events of one channel in one hour (the hour as hours since the epoch)."""

    hour: int
    channel: str
    events: int


class CollectRepository(RepositoryBase):
    # Channels and sources ---------------------------------------------------------------------

    def add_channels_once(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert channels, skipping keys the workspace has (concurrent first calls agree)."""
        insert_ignoring_conflicts(self.session, Channel, list(rows), ("workspace_id", "key"))

    def add_key_source_once(self, workspace_id: str, api_key_id: str, name: str) -> None:
        """Insert the Segment source of a write key unless the key has one already."""
        insert_ignoring_conflicts(
            self.session,
            Source,
            [
                {
                    "workspace_id": workspace_id,
                    "kind": SourceKind.SEGMENT,
                    "name": name,
                    "api_key_id": api_key_id,
                    "settings": {},
                }
            ],
            ("api_key_id",),
        )

    def add_source_once(
        self,
        workspace_id: str,
        kind: SourceKind,
        name: str,
        default_channel: str | None,
        settings: dict[str, Any],
    ) -> None:
        """Insert a named source unless the workspace has one of that kind and name."""
        insert_ignoring_conflicts(
            self.session,
            Source,
            [
                {
                    "workspace_id": workspace_id,
                    "kind": kind,
                    "name": name,
                    "default_channel": default_channel,
                    "settings": settings,
                }
            ],
            ("workspace_id", "kind", "name"),
        )

    def channels(self, workspace_id: str) -> Sequence[Channel]:
        return self.session.scalars(
            select(Channel).where(Channel.workspace_id == workspace_id).order_by(Channel.key)
        ).all()

    def channel(self, workspace_id: str, key: str) -> Channel | None:
        return self.session.scalar(
            select(Channel).where(Channel.workspace_id == workspace_id, Channel.key == key)
        )

    def source_for_key(self, api_key_id: str) -> Source | None:
        return self.session.scalar(select(Source).where(Source.api_key_id == api_key_id))

    def source(self, workspace_id: str, source_id: str) -> Source | None:
        return self.session.scalar(
            select(Source).where(Source.workspace_id == workspace_id, Source.id == source_id)
        )

    def source_by_id(self, source_id: str) -> Source | None:
        """Any workspace's source: a webhook URL names the source, the signature proves it."""
        return self.session.get(Source, source_id)

    def locked_sources_of_every_workspace(self) -> Sequence[Source]:
        """Every source, in id order, locked until the transaction ends (PostgreSQL; SQLite's
        transactions hold its one write lock): for rewriting their settings without losing a
        secret rotated meanwhile."""
        query = select(Source).order_by(Source.id)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query.execution_options(populate_existing=True)).all()

    def source_named(self, workspace_id: str, kind: SourceKind, name: str) -> Source | None:
        return self.session.scalar(
            select(Source).where(
                Source.workspace_id == workspace_id, Source.kind == kind, Source.name == name
            )
        )

    def sources(self, workspace_id: str) -> Sequence[Source]:
        return self.session.scalars(
            select(Source).where(Source.workspace_id == workspace_id).order_by(Source.name)
        ).all()

    def touch_source(self, source_id: str, now: datetime) -> None:
        self.session.execute(
            update(Source)
            .where(Source.id == source_id)
            .where((Source.last_seen_at.is_(None)) | (Source.last_seen_at < now))
            .values(last_seen_at=now)
        )

    # Events -----------------------------------------------------------------------------------

    def insert_events(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert events, skipping message ids the workspace has; returns those inserted.

        The unique ``(workspace_id, message_id)`` decides, so concurrent requests carrying
        the same message store it once. Rows need aware UTC datetimes; ids are assigned here.
        """
        if not rows:
            return set()
        rows = [{**row, "id": id_} for row, id_ in zip(rows, event_ids(len(rows)), strict=True)]
        if self.dialect == "postgresql":
            result = self.session.execute(_PG_INSERT_EVENTS, {"rows": _rows_as_json(rows)})
            return {message_id for (message_id,) in result}
        return set(
            insert_ignoring_conflicts(
                self.session, Event, rows, ("workspace_id", "message_id"), "message_id"
            )
        )

    def events(
        self, workspace_id: str, after_id: str | None, limit: int, channel: str | None = None
    ) -> Sequence[Event]:
        query = select(Event).where(Event.workspace_id == workspace_id)
        if after_id:
            query = query.where(Event.id < after_id)
        if channel:
            query = query.where(Event.channel == channel)
        return self.session.scalars(query.order_by(Event.id.desc()).limit(limit)).all()

    def events_by_message_id(
        self, workspace_id: str, message_ids: Sequence[str]
    ) -> Sequence[Event]:
        if not message_ids:
            return []
        return self.session.scalars(
            select(Event).where(
                Event.workspace_id == workspace_id, Event.message_id.in_(list(message_ids))
            )
        ).all()

    def recent_event_names(self, workspace_id: str, scanned: int) -> set[str]:
        """The distinct names among the workspace's newest ``scanned`` events (by id, so the
        scan reads that many index entries at most, whatever the table holds)."""
        newest = (
            select(Event.event)
            .where(Event.workspace_id == workspace_id)
            .order_by(Event.id.desc())
            .limit(scanned)
            .subquery()
        )
        names = self.session.scalars(
            select(newest.c.event).where(newest.c.event.is_not(None)).distinct()
        )
        return {str(name) for name in names}

    def event(self, workspace_id: str, event_id: str) -> Event | None:
        return self.session.scalar(
            select(Event).where(Event.workspace_id == workspace_id, Event.id == event_id)
        )

    def event_counts_by_channel(self, workspace_id: str, since: datetime) -> dict[str, int]:
        rows = self.session.execute(
            select(Event.channel, func.count())
            .where(Event.workspace_id == workspace_id, Event.received_at >= since)
            .group_by(Event.channel)
        ).all()
        return {channel: count for channel, count in rows}

    def events_per_hour(self, workspace_id: str, since: datetime) -> list[HourBucket]:
        """Events per hour and channel whose timestamp is at or after ``since``."""
        hour = hour_number(self.session, Event.timestamp)
        rows = self.session.execute(
            select(hour.label("hour"), Event.channel, func.count().label("events"))
            .where(Event.workspace_id == workspace_id, Event.timestamp >= since)
            .group_by(hour, Event.channel)
        ).all()
        return [HourBucket(int(row.hour), str(row.channel), int(row.events)) for row in rows]

    def last_event_by_channel(self, workspace_id: str) -> dict[str, datetime]:
        rows = self.session.execute(
            select(Event.channel, func.max(Event.received_at))
            .where(Event.workspace_id == workspace_id)
            .group_by(Event.channel)
        ).all()
        return {str(c): ensure_utc_value(t) for c, t in rows if t is not None}

    def event_counts_by_source(self, workspace_id: str, since: datetime) -> dict[str, int]:
        rows = self.session.execute(
            select(Event.source_id, func.count())
            .where(Event.workspace_id == workspace_id, Event.received_at >= since)
            .group_by(Event.source_id)
        ).all()
        return {str(s): int(n) for s, n in rows if s is not None}

    def open_quarantine_by_source(self, workspace_id: str) -> dict[str | None, int]:
        rows = self.session.execute(
            select(QuarantineEntry.source_id, func.count())
            .where(
                QuarantineEntry.workspace_id == workspace_id,
                QuarantineEntry.status == QuarantineStatus.OPEN,
            )
            .group_by(QuarantineEntry.source_id)
        ).all()
        return {s: int(n) for s, n in rows}

    # Quarantine -------------------------------------------------------------------------------

    def add_quarantine(self, entry: QuarantineEntry) -> QuarantineEntry:
        self.session.add(entry)
        self.session.flush()
        return entry

    def quarantine(
        self,
        workspace_id: str,
        after_id: str | None,
        limit: int,
        status: QuarantineStatus | None,
        group: QuarantineGroupKey | None = None,
    ) -> Sequence[QuarantineEntry]:
        query = select(QuarantineEntry).where(QuarantineEntry.workspace_id == workspace_id)
        if status is not None:
            query = query.where(QuarantineEntry.status == status)
        if group is not None:
            query = query.where(*_in_group(group))
        if after_id:
            query = query.where(QuarantineEntry.id < after_id)
        return self.session.scalars(query.order_by(QuarantineEntry.id.desc()).limit(limit)).all()

    def quarantine_groups(
        self, workspace_id: str, status: QuarantineStatus | None, limit: int
    ) -> list[tuple[QuarantineGroupKey, int, str, datetime]]:
        """(group, entries, one reason of it, newest) for the largest groups first.

        A group is a source, a kind and the field a refusal names; refusals that name no field
        are grouped by their reason's text, which then carries no value of the record.
        """
        entry = QuarantineEntry
        reason_key = case((entry.field.is_(None), entry.reason), else_=None)
        query = select(
            entry.source_id,
            entry.kind,
            entry.field,
            reason_key,
            func.count(),
            func.min(entry.reason),
            func.max(entry.created_at),
        ).where(entry.workspace_id == workspace_id)
        if status is not None:
            query = query.where(entry.status == status)
        rows = self.session.execute(
            query.group_by(entry.source_id, entry.kind, entry.field, reason_key)
            .order_by(func.count().desc(), func.max(entry.created_at).desc())
            .limit(limit)
        ).all()
        return [
            (QuarantineGroupKey(source, kind, field, reason), int(count), sample, newest)
            for source, kind, field, reason, count, sample, newest in rows
        ]

    def quarantine_entry(self, workspace_id: str, entry_id: str) -> QuarantineEntry | None:
        return self.session.scalar(
            select(QuarantineEntry).where(
                QuarantineEntry.workspace_id == workspace_id, QuarantineEntry.id == entry_id
            )
        )

    def resolve_quarantine(
        self, entry_id: str, status: QuarantineStatus, resolution: str, now: datetime
    ) -> bool:
        """Move an open entry to ``status``; False when someone else resolved it first."""
        result = self.session.execute(
            update(QuarantineEntry)
            .where(QuarantineEntry.id == entry_id, QuarantineEntry.status == QuarantineStatus.OPEN)
            .values(status=status, resolution=resolution[:300], resolved_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def quarantine_counts(self, workspace_id: str) -> dict[str, int]:
        rows = self.session.execute(
            select(QuarantineEntry.status, func.count())
            .where(QuarantineEntry.workspace_id == workspace_id)
            .group_by(QuarantineEntry.status)
        ).all()
        return {str(status): count for status, count in rows}


def _in_group(group: QuarantineGroupKey) -> list[ColumnElement[bool]]:
    entry = QuarantineEntry
    return [
        entry.source_id.is_(None)
        if group.source_id is None
        else entry.source_id == group.source_id,
        entry.kind == group.kind,
        entry.field.is_(None) if group.field is None else entry.field == group.field,
        *([entry.reason == group.reason] if group.field is None else []),
    ]


def ensure_utc_value(value: datetime | str) -> datetime:
    """``max()`` over a UTCDateTime column comes back untyped on SQLite (text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return ensure_utc(value)
