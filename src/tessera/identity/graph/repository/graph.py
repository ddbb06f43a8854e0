"""Every SQL statement of the identity graph but its bulk writes (``bulk``): the workspace lock
and clock, the rules' row, the reads a stitch, a merge and an unmerge plan from, and the writes
of few rows that go through the session.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy import delete, func, or_, select, text, update

from tessera.db.statements import insert_ignoring_conflicts
from tessera.identity.graph.planner import Edge, ProfileState, Tag
from tessera.identity.graph.repository.bulk import (
    BulkWrites,
    array_literal,
    plain_array_literal,
    table_of,
)
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


# What ``refresh_statistics`` analyses: the columns the graph's queries filter and join on
# (the others, raw values and times, cost the sampling most and steer no plan).
_ANALYZED = (
    "identifier (workspace_id, type, value, profile_id)",
    "identity_link (identifier_id, other_identifier_id)",
    "profile (id, workspace_id, status, merged_into_id, name_key, surname_key, email_key, "
    "email_domain, phone_key)",
)


class IdentityRepository(BulkWrites):
    """The graph's statements, on the caller's session (its bulk writes are ``BulkWrites``')."""

    # -- serialisation ---------------------------------------------------------------------
    def lock_workspace(self, workspace_id: str) -> int:
        """Serialise identity-graph writes per workspace until the transaction ends, and move
        the workspace's graph clock on; returns the clock's new value.

        PostgreSQL: a transaction-level advisory lock. SQLite already has one writer
        (transactions begin IMMEDIATE), so nothing more is needed there. Every graph writer
        comes through here, so a process that remembers the clock it committed knows whether
        anyone else has written the graph since (``memory``).
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
                        (workspace_id, type_, array_literal(wanted)),
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
                wanted = None if types is None else array_literal(sorted(types))
                cursor.execute(
                    "SELECT profile_id, type, count(*) FROM identifier "
                    "WHERE profile_id = ANY(%s::varchar[]) "
                    "AND (%s::varchar[] IS NULL OR type = ANY(%s::varchar[])) "
                    "GROUP BY profile_id, type",
                    (plain_array_literal(ids), wanted, wanted),
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
                        (plain_array_literal(ids),),
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
                    (plain_array_literal(sorted(set(ids))),),
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
                    (plain_array_literal(wanted),),
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

    def profile(self, workspace_id: str, profile_id: str) -> Profile | None:
        row = self.session.get(Profile, profile_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def profiles_with_traits(
        self, workspace_id: str, keys: Sequence[str], limit: int
    ) -> list[Profile]:
        """Active profiles holding any of the trait ``keys``, in id order (a scan of the
        workspace's profiles: the traits are a JSON document, not indexed)."""
        held = [Profile.traits[key].as_string().is_not(None) for key in keys]
        return list(
            self.session.scalars(
                select(Profile)
                .where(
                    Profile.workspace_id == workspace_id,
                    Profile.status == ProfileStatus.ACTIVE,
                    or_(*held),
                )
                .order_by(Profile.id)
                .limit(limit)
            )
        )

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
        (``stitch._Placement``), so ordering by the id past its prefix is the order they
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
            self.session.connection().execute(table_of(Profile).insert(), rows)

    def insert_links(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            insert_ignoring_conflicts(
                self.session, IdentityLink, rows, ["identifier_id", "other_identifier_id"]
            )

    def insert_conflicts(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.connection().execute(table_of(IdentityConflict).insert(), rows)

    def insert_merges(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.connection().execute(table_of(IdentityMerge).insert(), rows)

    def add(self, row: Any) -> None:
        self.session.add(row)
        self.session.flush()

    def assign_identifiers(self, identifier_ids: Sequence[str], profile_id: str) -> None:
        for chunk in _chunks(list(identifier_ids)):
            self.session.execute(
                update(Identifier).where(Identifier.id.in_(chunk)).values(profile_id=profile_id)
            )

    def new_split(self, row: IdentitySplit, members: list[dict[str, Any]]) -> None:
        self.session.add(row)
        self.session.flush()
        if members:
            self.session.connection().execute(table_of(IdentitySplitMember).insert(), members)

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

    def delete_events(self, workspace_id: str, message_ids: Sequence[str]) -> None:
        """Delete events by message id (an erased person's, accepted before the erasure)."""
        for chunk in _chunks(sorted(set(message_ids))):
            self.session.execute(
                delete(Event).where(Event.workspace_id == workspace_id, Event.message_id.in_(chunk))
            )

    def events_of(
        self, workspace_id: str, user_ids: Iterable[str], anonymous_ids: Iterable[str], limit: int
    ) -> list[Event]:
        """Collect's events carrying any of these user or anonymous ids, oldest first."""
        clauses = []
        if user_ids:
            clauses.append(Event.user_id.in_(sorted(user_ids)))
        if anonymous_ids:
            clauses.append(Event.anonymous_id.in_(sorted(anonymous_ids)))
        if not clauses:
            return []
        return list(
            self.session.scalars(
                select(Event)
                .where(Event.workspace_id == workspace_id, or_(*clauses))
                .order_by(Event.timestamp, Event.id)
                .limit(limit)
            )
        )

    def shared_keys(self, workspace_id: str) -> set[Key]:
        """The workspace's shared identifiers as (type, value): few, by a partial index."""
        rows = self.session.execute(
            select(Identifier.type, Identifier.value).where(
                Identifier.workspace_id == workspace_id, Identifier.is_shared.is_(True)
            )
        )
        return {(row.type, row.value) for row in rows}

    def user_ids_with(self, workspace_id: str, type_: str, value: str) -> set[str]:
        """The user ids a device id signed in as: its profile's, and those a user-id limit
        kept apart from it (``limit:user_id`` conflicts on it, read from their evidence)."""
        found: set[str] = set()
        held = self.identifier(workspace_id, type_, value)
        if held is not None and held.profile_id:
            found.update(
                self.session.scalars(
                    select(Identifier.value).where(
                        Identifier.profile_id == held.profile_id, Identifier.type == "user_id"
                    )
                )
            )
        evidence = self.session.scalars(
            select(IdentityConflict.evidence).where(
                IdentityConflict.workspace_id == workspace_id,
                IdentityConflict.rule == "limit:user_id",
                IdentityConflict.identifier_type == type_,
                IdentityConflict.identifier_value == value,
            )
        )
        for shown in evidence:
            for ident in (shown or {}).get("identifiers") or []:
                if ident.get("type") == "user_id":
                    found.add(str(ident.get("value")))
        return found

    def detach_shared(self, identifier_id: str) -> None:
        """Mark an identifier shared and take it out of its profile (its origin stays)."""
        self.session.execute(
            update(Identifier)
            .where(Identifier.id == identifier_id)
            .values(is_shared=True, profile_id="")
        )

    def held_values(self, workspace_id: str, type_: str, values: Iterable[str]) -> set[str]:
        """Which of ``values`` an identifier of ``type_`` holds in the workspace."""
        return set(
            self.session.scalars(
                select(Identifier.value).where(
                    Identifier.workspace_id == workspace_id,
                    Identifier.type == type_,
                    Identifier.value.in_(sorted(values)),
                )
            )
        )

    def merge_log(
        self, workspace_id: str, profile_id: str | None, limit: int
    ) -> list[IdentityMerge]:
        """The workspace's merges, newest first; only those touching ``profile_id`` if given."""
        statement = select(IdentityMerge).where(IdentityMerge.workspace_id == workspace_id)
        if profile_id:
            statement = statement.where(
                (IdentityMerge.survivor_profile_id == profile_id)
                | (IdentityMerge.absorbed_profile_id == profile_id)
            )
        return list(self.session.scalars(statement.order_by(IdentityMerge.id.desc()).limit(limit)))
