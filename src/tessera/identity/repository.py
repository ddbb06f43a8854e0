"""Every SQL statement of the identity graph."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, any_, bindparam, delete, func, select, text, update
from sqlalchemy import cast as cast_
from sqlalchemy.dialects.postgresql import ARRAY
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


def _table(model: Any) -> Table:
    """A model's table, for Core bulk inserts (no ORM bookkeeping per row)."""
    return cast(Table, model.__table__)


class IdentityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- serialisation ---------------------------------------------------------------------
    def lock_workspace(self, workspace_id: str) -> None:
        """Serialise identity-graph writes per workspace until the transaction ends.

        PostgreSQL: a transaction-level advisory lock. SQLite already has one writer
        (transactions begin IMMEDIATE), so nothing more is needed there.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 7))"),
                {"key": f"identity:{workspace_id}"},
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
        for table in ("identifier", "identity_link", "profile"):
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

        One query per type and chunk, so each uses the (workspace, type, value) unique index.
        """
        by_type: dict[str, set[str]] = {}
        for type_, value in keys:
            by_type.setdefault(type_, set()).add(value)
        found: dict[Key, tuple[str, str]] = {}
        postgres = self.session.get_bind().dialect.name == "postgresql"
        for type_, wanted in sorted(by_type.items()):
            # PostgreSQL takes one array parameter, so a chunk can be large and cheap to send.
            for chunk in _chunks(sorted(wanted), 5000 if postgres else CHUNK):
                matches = (
                    Identifier.value == any_(cast_(list(chunk), ARRAY(String)))
                    if postgres
                    else Identifier.value.in_(chunk)
                )
                rows = self.session.execute(
                    select(Identifier.value, Identifier.id, Identifier.profile_id).where(
                        Identifier.workspace_id == workspace_id,
                        Identifier.type == type_,
                        matches,
                    )
                )
                for value, id_, profile_id in rows:
                    found[(type_, value)] = (id_, profile_id)
        return found

    def profile_states(
        self, profile_ids: Iterable[str], types: Sequence[str] | None = None
    ) -> dict[str, ProfileState]:
        """Each profile's identifier counts (of ``types``, or all) and split tags."""
        ids = sorted(set(profile_ids))
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

    def update_summaries(self, changes: list[dict[str, Any]]) -> None:
        """Write folded traits and times, many profiles in one executemany."""
        if not changes:
            return
        self.session.flush()
        table = cast(Table, Profile.__table__)
        self.session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("profile_id"))
            .values(
                traits=bindparam("traits"),
                trait_stamps=bindparam("trait_stamps"),
                name_key=bindparam("name_key"),
                first_seen=bindparam("first_seen"),
                last_seen=bindparam("last_seen"),
                updated_at=bindparam("updated_at"),
            ),
            changes,
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
        ids = set(identifier_ids)
        edges: dict[str, Edge] = {}
        for chunk in _chunks(sorted(ids)):
            for link_id, a, b in self.session.execute(
                select(
                    IdentityLink.id, IdentityLink.identifier_id, IdentityLink.other_identifier_id
                ).where(IdentityLink.identifier_id.in_(chunk))
            ):
                if a in ids and b in ids:
                    edges[link_id] = Edge(a, b)
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
