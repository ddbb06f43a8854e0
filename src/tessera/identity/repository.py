"""Every SQL statement of the identity graph."""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from psycopg import sql
from psycopg.rows import namedtuple_row
from psycopg.types.json import Jsonb
from sqlalchemy import Table, bindparam, delete, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from tessera.db.statements import insert_ignoring_conflicts
from tessera.identity.graph import Edge, ProfileState, Tag
from tessera.models.collect import Event
from tessera.models.identity import (
    Identifier,
    IdentityConfig,
    IdentityConflict,
    IdentityLink,
    IdentityMerge,
    IdentitySplit,
    IdentitySplitMember,
    Profile,
    ProfileStatus,
    Suppression,
)

Key = tuple[str, str]
CHUNK = 500
ANALYZE_MIN_ROWS = 1000


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ordinal(prefixed_id: str) -> str:
    """A prefixed id without its prefix: ids drawn from one ``id_stream``, whatever prefixes
    they are given, sort in the order they were drawn."""
    return prefixed_id.partition("_")[2]


def _copy_type(column_type: Any) -> str:
    """The PostgreSQL type a binary COPY sends a column's values as."""
    name = str(column_type.compile(dialect=postgresql.dialect())).lower()  # type: ignore[no-untyped-call]
    for prefix, wire in (("varchar", "varchar"), ("timestamp", "timestamptz"), ("jsonb", "jsonb")):
        if name.startswith(prefix):
            return wire
    raise ValueError(f"no binary COPY type for {name}")


def _array(values: Iterable[Any]) -> str:
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


def _plain_array(values: Iterable[str | datetime | None]) -> str:
    """``_array`` for values that never need quoting (prefixed ids, times): one join, with
    no escaping per value (a bulk stitch sends arrays of tens of thousands per statement)."""
    return (
        "{"
        + ",".join(
            "NULL" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in values
        )
        + "}"
    )


# What ``refresh_statistics`` analyses: the columns the graph's queries filter and join on
# (the others, raw values and times, cost the sampling most and steer no plan).
_ANALYZED = (
    "identifier (workspace_id, type, value, profile_id)",
    "identity_link (identifier_id, other_identifier_id)",
    "profile (id, workspace_id, status, merged_into_id, name_key)",
)


# The array type each profile column is sent as by ``update_profiles`` (PostgreSQL).
_PROFILE_ARRAYS = {
    "traits": "jsonb",
    "trait_stamps": "jsonb",
    "name_key": "varchar",
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


def _table(model: Any) -> Table:
    """A model's table, for Core bulk inserts (no ORM bookkeeping per row)."""
    return cast(Table, model.__table__)


def _update_profiles(
    driver: Any, columns: Sequence[str], changes: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """``IdentityRepository.update_profiles`` on a psycopg connection: one statement."""
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
        else _plain_array(c[name] for c in changes)
        if _PROFILE_ARRAYS[name] == "timestamptz"
        else _array(c[name] for c in changes)
        for name in columns
    ]
    with driver.cursor() as cursor:
        cursor.execute(statement, (now, _plain_array(c["profile_id"] for c in changes), *arrays))


def _merge_into(driver: Any, survivors: Mapping[str, str], now: datetime) -> None:
    """``IdentityRepository.merge_profiles_into`` on a psycopg connection."""
    pairs = sorted(survivors.items())
    arrays = (_plain_array(a for a, _ in pairs), _plain_array(s for _, s in pairs))
    with driver.cursor() as cursor:
        cursor.execute(_MOVE_IDENTIFIERS, arrays)
        cursor.execute(_MARK_MERGED, (ProfileStatus.MERGED.value, now, *arrays))
        cursor.execute(_REPOINT_MERGED, (now, *arrays))


class IdentityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- serialisation ---------------------------------------------------------------------
    def lock_workspace(self, workspace_id: str) -> int:
        """Serialise identity-graph writes per workspace until the transaction ends, and move
        the workspace's graph clock on; returns the clock's new value.

        PostgreSQL: a transaction-level advisory lock. SQLite already has one writer
        (transactions begin IMMEDIATE), so nothing more is needed there. Every graph writer
        comes through here, so a process that remembers the clock it committed knows whether
        anyone else has written the graph since (``graph_memory``).
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 7))"),
                {"key": f"identity:{workspace_id}"},
            )
        return int(
            self.session.execute(
                text(
                    "INSERT INTO identity_graph_clock (workspace_id, version) VALUES (:ws, 1) "
                    "ON CONFLICT (workspace_id) DO UPDATE "
                    "SET version = identity_graph_clock.version + 1 RETURNING version"
                ),
                {"ws": workspace_id},
            ).scalar_one()
        )

    def refresh_statistics(self, inserted: int) -> bool:
        """ANALYZE the graph's tables when this transaction grew them by a tenth or more.

        A bulk load grows the identifier table faster than autovacuum re-reads it; with stale
        statistics PostgreSQL reads the value list as a filter instead of an index condition and
        every lookup scans the workspace. Growth by a tenth (autovacuum's own default) keeps
        this to a handful of ANALYZEs per tenfold growth. PostgreSQL only; returns whether it ran.
        """
        if inserted < ANALYZE_MIN_ROWS or self.session.get_bind().dialect.name != "postgresql":
            return False
        estimate = self.session.scalar(
            text("SELECT reltuples FROM pg_class WHERE oid = 'identifier'::regclass")
        )
        if estimate is not None and estimate > 0 and inserted < 0.1 * float(estimate):
            return False
        for table in _ANALYZED:
            self.session.execute(text(f"ANALYZE {table}"))
        return True

    # -- config ----------------------------------------------------------------------------
    def config(self, workspace_id: str) -> IdentityConfig:
        row = self.session.get(IdentityConfig, workspace_id)
        if row is None:
            insert_ignoring_conflicts(
                self.session,
                IdentityConfig,
                [
                    {
                        "workspace_id": workspace_id,
                        "blocked_values": [],
                        "limits": {},
                        "priorities": [],
                        "salt": secrets.token_hex(32),
                    }
                ],
                ["workspace_id"],
            )
            row = self.session.get(IdentityConfig, workspace_id)
            assert row is not None
        return row

    # -- reads -----------------------------------------------------------------------------
    def owners(self, workspace_id: str, keys: Iterable[Key]) -> dict[Key, tuple[str, str]]:
        """(type, value) -> (identifier id, profile id) for the keys the workspace knows.

        One query per type (and chunk, on SQLite), so each uses the (workspace, type, value)
        unique index. On PostgreSQL each type's values go as one array parameter through the
        driver's own cursor: a bulk stitch asks for hundreds of thousands of keys, and rows
        built by the ORM layer would cost more than the index probes.
        """
        by_type: dict[str, list[str]] = {}
        for type_, value in keys:
            by_type.setdefault(type_, []).append(value)
        found: dict[Key, tuple[str, str]] = {}
        driver = self._driver()
        for type_, wanted in sorted(by_type.items()):
            if driver is not None:
                with driver.cursor() as cursor:
                    cursor.execute(
                        "SELECT value, id, profile_id FROM identifier WHERE workspace_id = %s "
                        "AND type = %s AND value = ANY(%s::varchar[])",
                        (workspace_id, type_, _array(wanted)),
                    )
                    for value, id_, profile_id in cursor.fetchall():
                        found[(type_, value)] = (id_, profile_id)
                continue
            for chunk in _chunks(sorted(set(wanted))):
                rows = self.session.execute(
                    select(Identifier.value, Identifier.id, Identifier.profile_id).where(
                        Identifier.workspace_id == workspace_id,
                        Identifier.type == type_,
                        Identifier.value.in_(chunk),
                    )
                )
                for value, id_, profile_id in rows:
                    found[(type_, value)] = (id_, profile_id)
        return found

    def _driver(self) -> Any | None:
        """The psycopg connection under this session's transaction, on PostgreSQL; else None."""
        if self.session.get_bind().dialect.name != "postgresql":
            return None
        self.session.flush()
        return self.session.connection().connection.driver_connection

    def member_ids(self, profile_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each profile's identifier ids, in id order (one query per chunk)."""
        result: dict[str, list[str]] = {p: [] for p in profile_ids}
        for chunk in _chunks(sorted(result), 5000):
            for profile_id, identifier_id in self.session.execute(
                select(Identifier.profile_id, Identifier.id)
                .where(Identifier.profile_id.in_(chunk))
                .order_by(Identifier.id)
            ):
                result[profile_id].append(identifier_id)
        return result

    def profile_states(
        self, profile_ids: Iterable[str], types: Sequence[str] | None = None
    ) -> dict[str, ProfileState]:
        """Each profile's identifier counts (of ``types``, or all) and split tags."""
        ids = sorted(set(profile_ids))
        driver = self._driver()
        if driver is not None and ids:
            # Only profiles with counted identifiers get a state: the planner starts the
            # others empty (a bulk stitch asks about a hundred thousand at a time).
            states: dict[str, ProfileState] = defaultdict(ProfileState)
            with driver.cursor() as cursor:
                wanted = None if types is None else _array(sorted(types))
                cursor.execute(
                    "SELECT profile_id, type, count(*) FROM identifier "
                    "WHERE profile_id = ANY(%s::varchar[]) "
                    "AND (%s::varchar[] IS NULL OR type = ANY(%s::varchar[])) "
                    "GROUP BY profile_id, type",
                    (_plain_array(ids), wanted, wanted),
                )
                for profile_id, type_, count in cursor.fetchall():
                    states[profile_id].counts[type_] = count
                if cursor.execute("SELECT EXISTS (SELECT 1 FROM identity_split_member)").fetchone()[
                    0
                ]:
                    cursor.execute(
                        "SELECT i.profile_id, m.split_id, m.side FROM identity_split_member m "
                        "JOIN identifier i ON i.id = m.identifier_id "
                        "WHERE i.profile_id = ANY(%s::varchar[])",
                        (_plain_array(ids),),
                    )
                    for profile_id, split_id, side in cursor.fetchall():
                        states[profile_id].tags.add((split_id, side))
            return dict(states)
        states = {p: ProfileState() for p in ids}
        for chunk in _chunks(ids):
            counting = (
                select(Identifier.profile_id, Identifier.type, func.count())
                .where(Identifier.profile_id.in_(chunk))
                .group_by(Identifier.profile_id, Identifier.type)
            )
            if types is not None:
                counting = counting.where(Identifier.type.in_(sorted(types)))
            for profile_id, type_, count in self.session.execute(counting):
                states[profile_id].counts[type_] = count
            for profile_id, split_id, side in self.session.execute(
                select(
                    Identifier.profile_id, IdentitySplitMember.split_id, IdentitySplitMember.side
                )
                .join(Identifier, Identifier.id == IdentitySplitMember.identifier_id)
                .where(Identifier.profile_id.in_(chunk))
            ):
                states[profile_id].tags.add((split_id, side))
        return states

    def identifiers_of(self, profile_id: str) -> list[Identifier]:
        return list(
            self.session.scalars(
                select(Identifier)
                .where(Identifier.profile_id == profile_id)
                .order_by(Identifier.id)
            )
        )

    def identifier_ids_of(self, profile_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(Identifier.id)
                .where(Identifier.profile_id == profile_id)
                .order_by(Identifier.id)
            )
        )

    def profiles(self, ids: Iterable[str]) -> dict[str, Profile]:
        result: dict[str, Profile] = {}
        for chunk in _chunks(sorted(set(ids))):
            for row in self.session.scalars(select(Profile).where(Profile.id.in_(chunk))):
                result[row.id] = row
        return result

    def profile_summaries(self, ids: Iterable[str]) -> dict[str, Any]:
        """id -> (traits, trait_stamps, first_seen, last_seen) rows, without ORM objects."""
        result: dict[str, Any] = {}
        driver = self._driver()
        if driver is not None:
            with driver.cursor(row_factory=namedtuple_row) as cursor:
                cursor.execute(
                    "SELECT id, traits, trait_stamps, first_seen, last_seen FROM profile "
                    "WHERE id = ANY(%s::varchar[])",
                    (_plain_array(sorted(set(ids))),),
                )
                for found in cursor.fetchall():
                    result[found.id] = found
            return result
        for chunk in _chunks(sorted(set(ids))):
            for row in self.session.execute(
                select(
                    Profile.id,
                    Profile.traits,
                    Profile.trait_stamps,
                    Profile.first_seen,
                    Profile.last_seen,
                ).where(Profile.id.in_(chunk))
            ):
                result[row.id] = row
        return result

    def profile_times(self, ids: Iterable[str]) -> dict[str, tuple[Any, Any]]:
        """id -> (first_seen, last_seen), for profiles whose traits do not change."""
        wanted = sorted(set(ids))
        driver = self._driver()
        if driver is not None:
            with driver.cursor() as cursor:
                cursor.execute(
                    "SELECT id, first_seen, last_seen FROM profile WHERE id = ANY(%s::varchar[])",
                    (_plain_array(wanted),),
                )
                return {id_: (first, last) for id_, first, last in cursor.fetchall()}
        result: dict[str, tuple[Any, Any]] = {}
        for chunk in _chunks(wanted):
            for id_, first_seen, last_seen in self.session.execute(
                select(Profile.id, Profile.first_seen, Profile.last_seen).where(
                    Profile.id.in_(chunk)
                )
            ):
                result[id_] = (first_seen, last_seen)
        return result

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
        table = cast(Table, Profile.__table__)
        self.session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("profile_id"))
            .values({**{c: bindparam(c) for c in columns}, "updated_at": now}),
            [{"profile_id": c["profile_id"], **{n: c[n] for n in columns}} for c in changes],
        )
        self.session.expire_all()

    def profile(self, workspace_id: str, profile_id: str) -> Profile | None:
        row = self.session.get(Profile, profile_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def identifier(self, workspace_id: str, type_: str, value: str) -> Identifier | None:
        return self.session.scalars(
            select(Identifier).where(
                Identifier.workspace_id == workspace_id,
                Identifier.type == type_,
                Identifier.value == value,
            )
        ).first()

    def merge(self, workspace_id: str, merge_id: str) -> IdentityMerge | None:
        row = self.session.get(IdentityMerge, merge_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def merges_touching(self, workspace_id: str, profile_ids: Iterable[str]) -> list[IdentityMerge]:
        ids = sorted(set(profile_ids))
        rows: list[IdentityMerge] = []
        for chunk in _chunks(ids):
            rows.extend(
                self.session.scalars(
                    select(IdentityMerge).where(
                        IdentityMerge.workspace_id == workspace_id,
                        (IdentityMerge.survivor_profile_id.in_(chunk))
                        | (IdentityMerge.absorbed_profile_id.in_(chunk)),
                    )
                )
            )
        return sorted({r.id: r for r in rows}.values(), key=lambda r: r.id)

    def merged_into(self, workspace_id: str, profile_ids: Iterable[str]) -> list[Profile]:
        """Profiles absorbed (directly or not) into any of ``profile_ids``."""
        found: dict[str, Profile] = {}
        frontier = sorted(set(profile_ids))
        while frontier:
            rows = list(
                self.session.scalars(
                    select(Profile).where(
                        Profile.workspace_id == workspace_id,
                        Profile.merged_into_id.in_(frontier),
                    )
                )
            )
            frontier = [r.id for r in rows if r.id not in found]
            found.update({r.id: r for r in rows})
        return list(found.values())

    def links_among(self, identifier_ids: Sequence[str]) -> list[Edge]:
        """The links between these identifiers, in the order they were made.

        A link is kept on the identifier it brought in (``joined_via_id``) or as an
        ``identity_link`` row; both take their ids from one ascending stream per batch
        (``service._Placement``), so ordering by the id past its prefix is the order they
        were planned in.
        """
        ids = set(identifier_ids)
        edges: dict[str, Edge] = {}
        for chunk in _chunks(sorted(ids)):
            for link_id, a, b in self.session.execute(
                select(
                    IdentityLink.id, IdentityLink.identifier_id, IdentityLink.other_identifier_id
                ).where(IdentityLink.identifier_id.in_(chunk))
            ):
                if a in ids and b in ids:
                    edges[_ordinal(link_id)] = Edge(a, b)
            for identifier_id, via in self.session.execute(
                select(Identifier.id, Identifier.joined_via_id).where(
                    Identifier.id.in_(chunk), Identifier.joined_via_id.is_not(None)
                )
            ):
                if via in ids:
                    edges[_ordinal(identifier_id)] = Edge(via, identifier_id)
        return [edges[k] for k in sorted(edges)]

    def split_tags(self, identifier_ids: Sequence[str]) -> dict[str, set[Tag]]:
        tags: dict[str, set[Tag]] = {}
        for chunk in _chunks(sorted(set(identifier_ids))):
            for identifier_id, split_id, side in self.session.execute(
                select(
                    IdentitySplitMember.identifier_id,
                    IdentitySplitMember.split_id,
                    IdentitySplitMember.side,
                ).where(IdentitySplitMember.identifier_id.in_(chunk))
            ):
                tags.setdefault(identifier_id, set()).add((split_id, side))
        return tags

    def has_suppressions(self, workspace_id: str) -> bool:
        return (
            self.session.scalar(
                select(Suppression.digest).where(Suppression.workspace_id == workspace_id).limit(1)
            )
            is not None
        )

    def suppressed(self, workspace_id: str, digests: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(set(digests))):
            found.update(
                self.session.scalars(
                    select(Suppression.digest).where(
                        Suppression.workspace_id == workspace_id, Suppression.digest.in_(chunk)
                    )
                )
            )
        return found

    # -- writes ----------------------------------------------------------------------------
    def insert_profiles(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.connection().execute(_table(Profile).insert(), rows)

    def insert_identifiers(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.connection().execute(_table(Identifier).insert(), rows)

    def insert_links(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            insert_ignoring_conflicts(
                self.session, IdentityLink, rows, ["identifier_id", "other_identifier_id"]
            )

    def insert_conflicts(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.connection().execute(_table(IdentityConflict).insert(), rows)

    def copy_rows(self, model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many new rows given as tuples in ``columns`` order: COPY on PostgreSQL (no
        per-row statement at all), one executemany elsewhere. Enums go as their values; JSON
        columns take Python values."""
        if not rows:
            return
        table = _table(model)
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

    def insert_merges(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.connection().execute(_table(IdentityMerge).insert(), rows)

    def add(self, row: Any) -> None:
        self.session.add(row)
        self.session.flush()

    def move_identifiers(self, from_profile: str, to_profile: str) -> None:
        self.session.execute(
            update(Identifier)
            .where(Identifier.profile_id == from_profile)
            .values(profile_id=to_profile)
        )

    def assign_identifiers(self, identifier_ids: Sequence[str], profile_id: str) -> None:
        for chunk in _chunks(list(identifier_ids)):
            self.session.execute(
                update(Identifier).where(Identifier.id.in_(chunk)).values(profile_id=profile_id)
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

    def touch_seen(self, profile_id: str, first: datetime, last: datetime) -> None:
        row = self.session.get(Profile, profile_id)
        if row is None:
            return
        if row.first_seen is None or first < row.first_seen:
            row.first_seen = first
        if row.last_seen is None or last > row.last_seen:
            row.last_seen = last

    def new_split(self, row: IdentitySplit, members: list[dict[str, Any]]) -> None:
        self.session.add(row)
        self.session.flush()
        if members:
            self.session.connection().execute(_table(IdentitySplitMember).insert(), members)

    def identifier_types(self, identifier_ids: Sequence[str]) -> dict[str, str]:
        result: dict[str, str] = {}
        for chunk in _chunks(sorted(set(identifier_ids))):
            result.update(
                {
                    i: t
                    for i, t in self.session.execute(
                        select(Identifier.id, Identifier.type).where(Identifier.id.in_(chunk))
                    )
                }
            )
        return result

    def origins(self, identifier_ids: Sequence[str]) -> dict[str, str]:
        result: dict[str, str] = {}
        for chunk in _chunks(sorted(set(identifier_ids))):
            result.update(
                {
                    i: o
                    for i, o in self.session.execute(
                        select(Identifier.id, Identifier.origin_profile_id).where(
                            Identifier.id.in_(chunk)
                        )
                    )
                }
            )
        return result

    def count_by_type(self, profile_id: str) -> Counter[str]:
        return Counter(
            {
                t: c
                for t, c in self.session.execute(
                    select(Identifier.type, func.count())
                    .where(Identifier.profile_id == profile_id)
                    .group_by(Identifier.type)
                )
            }
        )

    def delete_events(self, workspace_id: str, message_ids: Sequence[str]) -> None:
        """Delete events by message id (an erased person's, accepted before the erasure)."""
        for chunk in _chunks(sorted(set(message_ids))):
            self.session.execute(
                delete(Event).where(Event.workspace_id == workspace_id, Event.message_id.in_(chunk))
            )

    def delete_profile(self, profile_id: str) -> None:
        self.session.execute(delete(Profile).where(Profile.id == profile_id))


class AsideWrites:
    """The writes of ``IdentityRepository.writing_aside``: each call is queued for the
    writer thread (run at once when there is none)."""

    def __init__(
        self, repository: IdentityRepository, driver: Any, pool: ThreadPoolExecutor | None
    ) -> None:
        self.repository, self.driver, self.pool = repository, driver, pool
        self.pending: list[Future[None]] = []

    def copy_rows(self, model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.pool is None:
            self.repository.copy_rows(model, columns, rows)
        elif rows:
            self.pending.append(self.pool.submit(_copy, self.driver, _table(model), columns, rows))

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
