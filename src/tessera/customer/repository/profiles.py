"""Every SQL statement of the customer 360's read side: profiles and their identifiers, search
probes, consents, merges, and keyset pages of events, orders, consents and merges.

Like analytics, this read model joins the events and orders tables directly: a timeline needs
keyset pages over several tables at once, which no single service offers. It never writes
there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)

from tessera.customer.repository.customers import (
    CustomerListQueries,
)
from tessera.customer.timeline import ORDER_EVENT_PREFIX, Position
from tessera.identity.graph import identifiers as ids
from tessera.kit.time import ensure_utc
from tessera.models.collect import Event
from tessera.models.identity import (
    Consent,
    Identifier,
    IdentityLink,
    IdentityMerge,
    Profile,
    ProfileStatus,
)
from tessera.models.order import Order


@dataclass(frozen=True, slots=True)
class EventSummary:
    """How many of a profile's events there are, the first and last, and their channels."""

    count: int
    first: datetime | None
    last: datetime | None
    channels: list[str]


@dataclass(frozen=True, slots=True)
class KeyHit:
    """A profile whose search key ``column`` (``key``) starts with what was typed."""

    profile_id: str
    column: str
    key: str


def _before(column: Any, id_column: Any, position: Position | None) -> ColumnElement[bool]:
    """SQL for "sorts after ``position`` in newest-first order"."""
    if position is None:
        return true()
    return or_(column < position.at, and_(column == position.at, id_column < position.key))


class ProfileReadRepository(CustomerListQueries):
    """Every SQL statement of the customer 360's read side."""

    def profile(self, workspace_id: str, profile_id: str) -> Profile | None:
        return self.session.scalar(
            select(Profile).where(Profile.workspace_id == workspace_id, Profile.id == profile_id)
        )

    def profiles(self, workspace_id: str, profile_ids: Iterable[str]) -> Sequence[Profile]:
        ids = sorted(set(profile_ids))
        if not ids:
            return []
        return self.session.scalars(
            select(Profile).where(Profile.workspace_id == workspace_id, Profile.id.in_(ids))
        ).all()

    def absorbed_into(self, workspace_id: str, profile_ids: Sequence[str]) -> Sequence[str]:
        """Ids of profiles merged directly into any of ``profile_ids``."""
        if not profile_ids:
            return []
        return self.session.scalars(
            select(Profile.id).where(
                Profile.workspace_id == workspace_id, Profile.merged_into_id.in_(profile_ids)
            )
        ).all()

    def identifiers(self, workspace_id: str, profile_id: str) -> Sequence[Identifier]:
        return self.session.scalars(
            select(Identifier)
            .where(Identifier.workspace_id == workspace_id, Identifier.profile_id == profile_id)
            .order_by(Identifier.type, Identifier.value)
        ).all()

    def profile_ids_by_identifiers(
        self, workspace_id: str, pairs: Iterable[tuple[str, str]]
    ) -> Sequence[tuple[str, str]]:
        """(type, profile id) of identifiers matching any (type, value): one statement whose
        every branch is a probe of the unique (workspace, type, value) index."""
        by_type: dict[str, set[str]] = {}
        for kind, value in pairs:
            by_type.setdefault(kind, set()).add(value)
        if not by_type:
            return []
        rows = self.session.execute(
            select(Identifier.type, Identifier.profile_id).where(
                Identifier.workspace_id == workspace_id,
                or_(
                    *[
                        and_(Identifier.type == kind, Identifier.value.in_(sorted(values)))
                        for kind, values in sorted(by_type.items())
                    ]
                ),
            )
        ).all()
        return [(str(t), str(p)) for t, p in rows]

    def profiles_by_key_prefix(
        self, workspace_id: str, probes: Sequence[tuple[str, str]], limit: int
    ) -> list[KeyHit]:
        """Active profiles whose search key (one of ``SEARCH_COLUMNS``) starts with a prefix:
        for each (column, prefix) a range on that column's index, the first ``limit`` in key
        order (so keys equal to the prefix come first), all in one statement."""
        branches = []
        for column_name, prefix in probes:
            if column_name not in ids.SEARCH_COLUMNS or not prefix:
                raise ValueError(f"no search key {column_name!r} to probe with {prefix!r}")
            column = Profile.__table__.c[column_name]
            last = ord(prefix[-1])
            below = column < prefix[:-1] + chr(last + 1) if last < sys.maxunicode else true()
            branches.append(
                select(
                    Profile.id.label("profile_id"),
                    literal(column_name).label("column"),
                    column.label("key"),
                )
                .where(
                    Profile.workspace_id == workspace_id,
                    column >= prefix,
                    below,
                    Profile.status == ProfileStatus.ACTIVE,
                )
                .order_by(column, Profile.id)
                .limit(limit)
                .subquery()
                .select()
            )
        if not branches:
            return []
        rows = self.session.execute(union_all(*branches)).all()
        return [KeyHit(str(r.profile_id), str(r.column), str(r.key)) for r in rows]

    def consents(self, workspace_id: str, identifier_ids: Sequence[str]) -> Sequence[Consent]:
        """Every consent recorded for these identifiers, newest first."""
        if not identifier_ids:
            return []
        return self.session.scalars(
            select(Consent)
            .where(Consent.workspace_id == workspace_id, Consent.identifier_id.in_(identifier_ids))
            .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        ).all()

    def merges(self, workspace_id: str, profile_ids: Sequence[str]) -> Sequence[IdentityMerge]:
        """Merges either side of which is one of ``profile_ids``, newest first."""
        if not profile_ids:
            return []
        return self.session.scalars(
            select(IdentityMerge)
            .where(
                IdentityMerge.workspace_id == workspace_id,
                or_(
                    IdentityMerge.survivor_profile_id.in_(profile_ids),
                    IdentityMerge.absorbed_profile_id.in_(profile_ids),
                ),
            )
            .order_by(IdentityMerge.id.desc())
        ).all()

    @staticmethod
    def events_of(
        workspace_id: str, user_ids: Sequence[str], anonymous_ids: Sequence[str]
    ) -> ColumnElement[bool]:
        """The profile's events: those of its user ids, and those of its anonymous ids that
        carry no user id a profile holds (a user id refused by a limit stays unheld)."""
        owned: list[ColumnElement[bool]] = []
        if user_ids:
            owned.append(Event.user_id.in_(user_ids))
        if anonymous_ids:
            held = (
                select(Identifier.id)
                .where(
                    Identifier.workspace_id == workspace_id,
                    Identifier.type == ids.USER_ID,
                    Identifier.value == Event.user_id,
                )
                .exists()
            )
            owned.append(
                and_(Event.anonymous_id.in_(anonymous_ids), or_(Event.user_id.is_(None), ~held))
            )
        return and_(Event.workspace_id == workspace_id, or_(*owned) if owned else false())

    def event_page(
        self,
        workspace_id: str,
        user_ids: Sequence[str],
        anonymous_ids: Sequence[str],
        position: Position | None,
        limit: int,
    ) -> Sequence[Event]:
        return self.session.scalars(
            select(Event)
            .where(
                self.events_of(workspace_id, user_ids, anonymous_ids),
                ~Event.message_id.startswith(ORDER_EVENT_PREFIX),
                _before(Event.timestamp, Event.id, position),
            )
            .order_by(Event.timestamp.desc(), Event.id.desc())
            .limit(limit)
        ).all()

    def event_summary(
        self, workspace_id: str, user_ids: Sequence[str], anonymous_ids: Sequence[str]
    ) -> EventSummary:
        """The profile's events, order events excepted, in sum."""
        where = and_(
            self.events_of(workspace_id, user_ids, anonymous_ids),
            ~Event.message_id.startswith(ORDER_EVENT_PREFIX),
        )
        row = self.session.execute(
            select(
                func.count().label("total"),
                func.min(Event.timestamp).label("first_at"),
                func.max(Event.timestamp).label("last_at"),
            ).where(where)
        ).one()
        channels = self.session.scalars(select(Event.channel).where(where).distinct()).all()
        return EventSummary(
            count=int(row.total),
            first=ensure_utc(row.first_at) if row.first_at is not None else None,
            last=ensure_utc(row.last_at) if row.last_at is not None else None,
            channels=sorted(str(c) for c in channels),
        )

    def recent_traits(self, workspace_id: str, limit: int) -> Sequence[dict[str, Any]]:
        """The traits of the workspace's ``limit`` newest active profiles."""
        return self.session.scalars(
            select(Profile.traits)
            .where(Profile.workspace_id == workspace_id, Profile.status == ProfileStatus.ACTIVE)
            .order_by(Profile.id.desc())
            .limit(limit)
        ).all()

    def orders(self, workspace_id: str, order_ids: Sequence[str]) -> Sequence[Order]:
        if not order_ids:
            return []
        return self.session.scalars(
            select(Order)
            .where(Order.workspace_id == workspace_id, Order.id.in_(order_ids))
            .order_by(Order.placed_at.desc(), Order.id.desc())
        ).all()

    def order_page(
        self, workspace_id: str, order_ids: Sequence[str], position: Position | None, limit: int
    ) -> Sequence[Order]:
        if not order_ids:
            return []
        return self.session.scalars(
            select(Order)
            .where(
                Order.workspace_id == workspace_id,
                Order.id.in_(order_ids),
                _before(Order.placed_at, Order.id, position),
            )
            .order_by(Order.placed_at.desc(), Order.id.desc())
            .limit(limit)
        ).all()

    def consent_page(
        self,
        workspace_id: str,
        identifier_ids: Sequence[str],
        position: Position | None,
        limit: int,
    ) -> Sequence[Consent]:
        if not identifier_ids:
            return []
        return self.session.scalars(
            select(Consent)
            .where(
                Consent.workspace_id == workspace_id,
                Consent.identifier_id.in_(identifier_ids),
                _before(Consent.recorded_at, Consent.id, position),
            )
            .order_by(Consent.recorded_at.desc(), Consent.id.desc())
            .limit(limit)
        ).all()

    def merge_page(
        self,
        workspace_id: str,
        profile_ids: Sequence[str],
        position: Position | None,
        limit: int,
        *,
        undone: bool,
    ) -> Sequence[IdentityMerge]:
        """Merges (or, with ``undone``, unmerges) touching the profiles, newest first.

        An unmerge sorts by ``undone_at`` under the key ``<merge id>~u``; SQL selects a
        superset at the cursor's instant and the service drops what is not strictly after it.
        """
        if not profile_ids:
            return []
        when = IdentityMerge.undone_at if undone else IdentityMerge.created_at
        sides = or_(
            IdentityMerge.survivor_profile_id.in_(profile_ids),
            IdentityMerge.absorbed_profile_id.in_(profile_ids),
        )
        query = select(IdentityMerge).where(IdentityMerge.workspace_id == workspace_id, sides)
        if undone:
            query = query.where(IdentityMerge.undone_at.is_not(None))
            if position is not None:
                query = query.where(
                    or_(
                        when < position.at,
                        and_(when == position.at, IdentityMerge.id <= position.key),
                    )
                )
        else:
            query = query.where(_before(when, IdentityMerge.id, position))
        return self.session.scalars(
            query.order_by(when.desc(), IdentityMerge.id.desc()).limit(limit + 1)
        ).all()

    def first_links(self, identifier_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """identifier id -> (cause kind, cause ref) of the record that brought it in, kept on
        its row since migration 0015; for older rows, of the oldest link that names it."""
        if not identifier_ids:
            return {}
        brought = {
            str(identifier_id): ("event", str(ref))
            for identifier_id, ref in self.session.execute(
                select(Identifier.id, Identifier.joined_ref).where(
                    Identifier.id.in_(identifier_ids), Identifier.joined_ref.is_not(None)
                )
            )
        }
        rows = self.session.execute(
            select(
                IdentityLink.identifier_id,
                IdentityLink.other_identifier_id,
                IdentityLink.cause_kind,
                IdentityLink.cause_ref,
            )
            .where(
                or_(
                    IdentityLink.identifier_id.in_(identifier_ids),
                    IdentityLink.other_identifier_id.in_(identifier_ids),
                )
            )
            .order_by(IdentityLink.occurred_at.desc(), IdentityLink.id.desc())
        ).all()
        found: dict[str, tuple[str, str]] = {}
        for link in rows:  # oldest last, so it wins
            cause = (str(link.cause_kind), str(link.cause_ref))
            found[str(link.identifier_id)] = found[str(link.other_identifier_id)] = cause
        return found | brought

    def channels_of_messages(self, workspace_id: str, message_ids: Sequence[str]) -> dict[str, str]:
        if not message_ids:
            return {}
        rows = self.session.execute(
            select(Event.message_id, Event.channel).where(
                Event.workspace_id == workspace_id, Event.message_id.in_(sorted(set(message_ids)))
            )
        ).all()
        return {str(m): str(c) for m, c in rows}
