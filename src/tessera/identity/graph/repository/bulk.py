"""The graph's bulk writes: binary COPY, one-statement updates over arrays, and the writer
thread that sends them while the caller lays out the next rows.

A bulk stitch writes hundreds of thousands of rows per batch. On PostgreSQL these go through
the psycopg connection under the session's transaction: new rows by binary COPY, changed
profiles by one ``UPDATE ... FROM unnest(...)`` per kind of change, so the statement count does
not grow with the batch; ``writing_aside`` sends them from a thread of its own so the server
works while Python plans (ADR 0010). Elsewhere (SQLite) each is one executemany, run at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Table, bindparam, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from tessera.identity.graph.identifiers import SEARCH_COLUMNS
from tessera.models.identity import Identifier, Profile, ProfileStatus


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of strings or times (NULL for None), for a ``%s::type[]``
    parameter: built by one join, where the driver adapts a list value by value (a bulk
    stitch sends arrays of hundreds of thousands)."""
    return (
        "{"
        + ",".join(
            "NULL"
            if v is None
            else '"'
            + (v.isoformat() if isinstance(v, datetime) else str(v))
            .replace("\\", "\\\\")
            .replace('"', '\\"')
            + '"'
            for v in values
        )
        + "}"
    )


def plain_array_literal(values: Iterable[str | datetime | None]) -> str:
    """``array_literal`` for values that never need quoting (prefixed ids, times): one join, with
    no escaping per value (a bulk stitch sends arrays of tens of thousands per statement)."""
    return (
        "{"
        + ",".join(
            "NULL" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in values
        )
        + "}"
    )


def _copy_type(column_type: Any) -> str:
    """The PostgreSQL type a binary COPY sends a column's values as."""
    name = str(column_type.compile(dialect=postgresql.dialect())).lower()  # type: ignore[no-untyped-call]
    for prefix, wire in (("varchar", "varchar"), ("timestamp", "timestamptz"), ("jsonb", "jsonb")):
        if name.startswith(prefix):
            return wire
    raise ValueError(f"no binary COPY type for {name}")


def _copy(driver: Any, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Binary COPY of ``rows`` into ``table`` on a psycopg connection."""
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        # The binary format: psycopg adapts a row four times faster than in text.
        copy.set_types([_copy_type(table.c[c].type) for c in columns])
        write = copy.write_row
        for row in rows:
            write(row)


def table_of(model: Any) -> Table:
    """A model's table, for Core bulk inserts (no ORM bookkeeping per row)."""
    return cast(Table, model.__table__)


# The array type each profile column is sent as by ``update_profiles`` (PostgreSQL).
_PROFILE_ARRAYS = {
    "traits": "jsonb",
    "trait_stamps": "jsonb",
    **dict.fromkeys(SEARCH_COLUMNS, "varchar"),
    "first_seen": "timestamptz",
    "last_seen": "timestamptz",
}


# A batch's merges of existing profiles, as (absorbed, survivor) arrays (PostgreSQL).
_MOVE_IDENTIFIERS = (
    "UPDATE identifier SET profile_id = m.survivor "
    "FROM unnest(%s::varchar[], %s::varchar[]) AS m(absorbed, survivor) "
    "WHERE identifier.profile_id = m.absorbed"
)
_MARK_MERGED = (
    "UPDATE profile SET status = %s, merged_into_id = m.survivor, updated_at = %s "
    "FROM unnest(%s::varchar[], %s::varchar[]) AS m(absorbed, survivor) "
    "WHERE profile.id = m.absorbed"
)
_REPOINT_MERGED = (
    "UPDATE profile SET merged_into_id = m.survivor, updated_at = %s "
    "FROM unnest(%s::varchar[], %s::varchar[]) AS m(absorbed, survivor) "
    "WHERE profile.merged_into_id = m.absorbed"
)


def _update_profiles(
    driver: Any, columns: Sequence[str], changes: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """``BulkWrites.update_profiles`` on a psycopg connection: one statement."""
    statement = sql.SQL(
        "UPDATE profile SET {sets}, updated_at = %s FROM unnest(%s::varchar[], {arrays}) "
        "AS v(id, {names}) WHERE profile.id = v.id"
    ).format(
        sets=sql.SQL(", ").join(sql.SQL("{0} = v.{0}").format(sql.Identifier(c)) for c in columns),
        arrays=sql.SQL(", ").join(
            sql.SQL("%s::{}[]").format(sql.SQL(_PROFILE_ARRAYS[c])) for c in columns
        ),
        names=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )
    arrays = [
        [Jsonb(c[name]) for c in changes]  # JSON documents go as a list of values
        if _PROFILE_ARRAYS[name] == "jsonb"
        else plain_array_literal(c[name] for c in changes)
        if _PROFILE_ARRAYS[name] == "timestamptz"
        else array_literal(c[name] for c in changes)
        for name in columns
    ]
    with driver.cursor() as cursor:
        cursor.execute(
            statement, (now, plain_array_literal(c["profile_id"] for c in changes), *arrays)
        )


def _merge_into(driver: Any, survivors: Mapping[str, str], now: datetime) -> None:
    """``BulkWrites.merge_profiles_into`` on a psycopg connection."""
    pairs = sorted(survivors.items())
    arrays = (plain_array_literal(a for a, _ in pairs), plain_array_literal(s for _, s in pairs))
    with driver.cursor() as cursor:
        cursor.execute(_MOVE_IDENTIFIERS, arrays)
        cursor.execute(_MARK_MERGED, (ProfileStatus.MERGED.value, now, *arrays))
        cursor.execute(_REPOINT_MERGED, (now, *arrays))


class BulkWrites:
    """The bulk writes of the graph's repository, on its session's connection."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _driver(self) -> Any | None:
        """The psycopg connection under this session's transaction, on PostgreSQL; else None."""
        if self.session.get_bind().dialect.name != "postgresql":
            return None
        self.session.flush()
        return self.session.connection().connection.driver_connection

    def copy_rows(self, model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many new rows given as tuples in ``columns`` order: COPY on PostgreSQL (no
        per-row statement at all), one executemany elsewhere. Enums go as their values; JSON
        columns take Python values."""
        if not rows:
            return
        table = table_of(model)
        driver = self._driver()
        if driver is None:
            self.session.connection().execute(
                table.insert(), [dict(zip(columns, row, strict=True)) for row in rows]
            )
            return
        _copy(driver, table, columns, rows)

    @contextmanager
    def writing_aside(self) -> Iterator[AsideWrites]:
        """Bulk writes sent in order from another thread while the ``with`` block goes on
        in Python, so the server works while the caller lays out the next statement
        (PostgreSQL; elsewhere each runs at once). The block must not use the session: the
        connection is the writes' until the block ends (or ``drain``), when they are waited for
        and the first error, if any, raised."""
        driver = self._driver()
        if driver is None:
            yield AsideWrites(self, None, None)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="tessera-writes") as pool:
            writes = AsideWrites(self, driver, pool)
            try:
                yield writes
            finally:
                failed = writes.wait()  # the connection must be free again, error or not
        self.session.expire_all()
        if failed is not None:
            raise failed

    def merge_profiles_into(self, survivors: Mapping[str, str], now: datetime) -> None:
        """Existing profiles merged by a batch: each absorbed one (key) into its final survivor
        (value): its identifiers move, it is marked merged, and profiles merged into it before
        now point at the survivor. Three statements on PostgreSQL, whatever the count."""
        if not survivors:
            return
        driver = self._driver()
        if driver is None:
            for absorbed, survivor in sorted(survivors.items()):
                self.move_identifiers(absorbed, survivor)
                self.mark_merged(absorbed, survivor, now)
            return
        _merge_into(driver, survivors, now)
        self.session.expire_all()

    def update_profiles(
        self, columns: Sequence[str], changes: Sequence[Mapping[str, Any]], now: datetime
    ) -> None:
        """Set ``columns`` (and ``updated_at``) on many profiles, each change naming its
        ``profile_id``: one ``UPDATE ... FROM unnest(...)`` on PostgreSQL, one executemany
        elsewhere."""
        if not changes:
            return
        driver = self._driver()
        if driver is not None:
            _update_profiles(driver, columns, changes, now)
            self.session.expire_all()
            return
        self.session.flush()
        table = table_of(Profile)
        self.session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("profile_id"))
            .values({**{c: bindparam(c) for c in columns}, "updated_at": now}),
            [{"profile_id": c["profile_id"], **{n: c[n] for n in columns}} for c in changes],
        )
        self.session.expire_all()

    def move_identifiers(self, from_profile: str, to_profile: str) -> None:
        self.session.execute(
            update(Identifier)
            .where(Identifier.profile_id == from_profile)
            .values(profile_id=to_profile)
        )

    def mark_merged(self, absorbed: str, survivor: str, now: datetime) -> None:
        self.session.execute(
            update(Profile)
            .where(Profile.id == absorbed)
            .values(status=ProfileStatus.MERGED, merged_into_id=survivor, updated_at=now)
        )
        self.session.execute(
            update(Profile)
            .where(Profile.merged_into_id == absorbed)
            .values(merged_into_id=survivor, updated_at=now)
        )


class AsideWrites:
    """The writes of ``BulkWrites.writing_aside``: each call is queued for the
    writer thread (run at once when there is none)."""

    def __init__(
        self, repository: BulkWrites, driver: Any, pool: ThreadPoolExecutor | None
    ) -> None:
        self.repository, self.driver, self.pool = repository, driver, pool
        self.pending: list[Future[None]] = []

    def copy_rows(self, model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.pool is None:
            self.repository.copy_rows(model, columns, rows)
        elif rows:
            self.pending.append(
                self.pool.submit(_copy, self.driver, table_of(model), columns, rows)
            )

    def update_profiles(
        self, columns: Sequence[str], changes: Sequence[Mapping[str, Any]], now: datetime
    ) -> None:
        if self.pool is None:
            self.repository.update_profiles(columns, changes, now)
        elif changes:
            self.pending.append(
                self.pool.submit(_update_profiles, self.driver, columns, changes, now)
            )

    def merge_profiles_into(self, survivors: Mapping[str, str], now: datetime) -> None:
        if self.pool is None:
            self.repository.merge_profiles_into(survivors, now)
        elif survivors:
            self.pending.append(self.pool.submit(_merge_into, self.driver, survivors, now))

    def drain(self) -> None:
        """Wait for every write queued so far, so the caller may use the session again until
        it queues the next; raises the first error."""
        failed = self.wait()
        self.pending.clear()
        if failed is not None:
            raise failed

    def wait(self) -> BaseException | None:
        """Wait for every queued write; the first error, if any (those after it fail too:
        the transaction is aborted)."""
        errors = [f.exception() for f in self.pending]
        return next((e for e in errors if e is not None), None)
