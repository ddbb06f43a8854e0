"""The customer 360, read side: search, one profile with everything known, and one timeline.

A profile is a connected group of identifiers (ADR 0010). Events and orders are never rewritten:
an event belongs to the profile of its ``user_id`` identifier, or, when it has none, to the
profile of its ``anonymous_id`` identifier; an order belongs to the profile holding the
identifier of type ``order`` whose value is the order's id. Order events (message ids
``order:<id>:...``) are shown once, as their order, not a second time as events.

The clerk's search answers from indexed lookups only: an identifier by its unique
``(workspace, type, value)`` index after normalising the query, an order number by the orders
service (its ``(workspace, order_number)`` index), a name by a range on ``profile.name_key``
(a prefix; PostgreSQL's ``C`` collation and SQLite's binary one order it byte-wise, so the
range is the prefix).

Like analytics, this read model joins the events and orders tables directly: a timeline needs
keyset pages over several tables at once, which no single service offers. It never writes
there. Its SQL lives in ``ProfileReadRepository`` below, beside the service it serves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from tessera.db.base import RepositoryBase
from tessera.identity import identifiers as ids
from tessera.identity import schemas
from tessera.identity.service import IdentityService, ProfileNotFound
from tessera.kit.errors import InvalidInput
from tessera.kit.pagination import clamp_limit, decode_cursor, encode_cursor
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
from tessera.models.order import Order, OrderStatus
from tessera.models.workspace import Workspace
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService

SEARCH_LIMIT = 20
QUERY_MAX = 320
MERGE_DEPTH_LIMIT = 64  # a chain of merged_into longer than this is a bug, not data
ORDER_EVENT_PREFIX = "order:"
PLATFORM_OF_TYPE = {
    ids.SHOPIFY_CUSTOMER_ID: "shopify",
    ids.TIKTOK_CUSTOMER_ID: "tiktok_shop",
    ids.AMAZON_BUYER_ID: "amazon",
    ids.SQUARE_CUSTOMER_ID: "square",
}
# Exact hits first, in this order; then order numbers; then names.
SEARCH_RANK = (
    ids.EMAIL, ids.PHONE, ids.LOYALTY_ID, ids.POS_CARD_ID, ids.USER_ID, ids.SHOPIFY_CUSTOMER_ID,
    ids.TIKTOK_CUSTOMER_ID, ids.AMAZON_BUYER_ID, ids.SQUARE_CUSTOMER_ID, ids.ANONYMOUS_ID,
    ids.ORDER,
)  # fmt: skip
_NAME_TRAITS = ("first_name", "last_name")


def query_name_key(text: str) -> str:
    """The search form of a typed name: lower-case, single-spaced (as ``profile.name_key``)."""
    return " ".join(text.split()).lower()


def display_name(traits: dict[str, Any]) -> str | None:
    parts = [str(traits[k]).strip() for k in _NAME_TRAITS if traits.get(k)]
    if parts:
        return " ".join(parts)
    name = traits.get("name")
    return str(name).strip() or None if name else None


# Timeline cursors ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a timeline item sorts: newest first, ties broken by id (descending)."""

    at: datetime
    key: str


def encode_position(position: Position) -> str:
    return encode_cursor(f"{position.at.isoformat()}|{position.key}")


def decode_position(cursor: str | None) -> Position | None:
    """The position a timeline cursor points after; refuses a cursor this API did not make."""
    value = decode_cursor(cursor)
    if value is None:
        return None
    at, sep, key = value.partition("|")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        moment = None
    if not sep or not key or moment is None or moment.tzinfo is None or "\x00" in key:
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return Position(ensure_utc(moment), key)


def _before(column: Any, id_column: Any, position: Position | None) -> ColumnElement[bool]:
    """SQL for "sorts after ``position`` in newest-first order"."""
    if position is None:
        return true()
    return or_(column < position.at, and_(column == position.at, id_column < position.key))


# Repository ----------------------------------------------------------------------------------


class ProfileReadRepository(RepositoryBase):
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

    def profiles_by_name_prefix(self, workspace_id: str, prefix: str, limit: int) -> Sequence[str]:
        """Active profiles whose name key starts with ``prefix``: a range on the index."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return self.session.scalars(
            select(Profile.id)
            .where(
                Profile.workspace_id == workspace_id,
                Profile.name_key >= prefix,
                Profile.name_key < upper,
                Profile.status == ProfileStatus.ACTIVE,
            )
            .order_by(Profile.name_key, Profile.id)
            .limit(limit)
        ).all()

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
    ) -> tuple[int, datetime | None, datetime | None, list[str]]:
        """(count, first, last, channels) of the profile's events, order events excepted."""
        where = and_(
            self.events_of(workspace_id, user_ids, anonymous_ids),
            ~Event.message_id.startswith(ORDER_EVENT_PREFIX),
        )
        row = self.session.execute(
            select(func.count(), func.min(Event.timestamp), func.max(Event.timestamp)).where(where)
        ).one()
        channels = self.session.scalars(select(Event.channel).where(where).distinct()).all()
        first = ensure_utc(row[1]) if row[1] is not None else None
        last = ensure_utc(row[2]) if row[2] is not None else None
        return int(row[0]), first, last, sorted(str(c) for c in channels)

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
        for a, b, kind, ref in rows:  # oldest last, so it wins
            found[str(a)] = found[str(b)] = (str(kind), str(ref))
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

    def region(self, workspace_id: str) -> str:
        region = self.session.scalar(
            select(Workspace.default_region).where(Workspace.id == workspace_id)
        )
        return str(region or "US")


# Service -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """A resolved profile with its identifiers split the ways the read side needs them."""

    profile: Profile
    requested_id: str
    identifiers: Sequence[Identifier]
    absorbed_ids: Sequence[str]

    def values(self, kind: str) -> list[str]:
        return sorted(i.value for i in self.identifiers if i.type == kind)

    @property
    def user_ids(self) -> list[str]:
        return self.values("user_id")

    @property
    def anonymous_ids(self) -> list[str]:
        return self.values("anonymous_id")

    @property
    def order_ids(self) -> list[str]:
        return self.values("order")

    @property
    def profile_ids(self) -> list[str]:
        return [self.profile.id, *self.absorbed_ids]


class ProfileService:
    """Use cases of the customer 360's read side. Never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = ProfileReadRepository(session)
        self.identity = IdentityService(session)

    # Resolving ---------------------------------------------------------------------------

    def resolve(self, workspace_id: str, profile_id: str) -> Profile:
        """The active profile ``profile_id`` is or was merged into; 404 for an id of another
        workspace, one that never was, and one that was erased."""
        return self.identity.resolve(workspace_id, profile_id)

    def person(self, workspace_id: str, profile_id: str) -> Person:
        """The resolved profile with its identifiers and every profile merged into it."""
        profile = self.resolve(workspace_id, profile_id)
        absorbed: list[str] = []
        frontier = [profile.id]
        seen = {profile.id}
        while frontier:
            found = [
                pid
                for pid in self.repository.absorbed_into(workspace_id, frontier)
                if pid not in seen
            ]
            seen.update(found)
            absorbed.extend(found)
            frontier = found
        return Person(
            profile=profile,
            requested_id=profile_id,
            identifiers=self.repository.identifiers(workspace_id, profile.id),
            absorbed_ids=sorted(absorbed),
        )

    # Search ------------------------------------------------------------------------------

    def search(
        self, workspace_id: str, query: str, limit: int = SEARCH_LIMIT
    ) -> list[schemas.ProfileSummary]:
        """Profiles matching what a clerk typed: an email, a phone, a loyalty or card id, an
        order number, a profile id or the start of a name. Exact identifier hits come first.

        Refuses an empty query and one longer than 320 characters. Every lookup is one indexed
        probe, whatever the size of the workspace.
        """
        text = query.strip()
        if not text:
            raise InvalidInput("type an email, phone, loyalty id, order number or name", field="q")
        if len(text) > QUERY_MAX:
            raise InvalidInput(f"q must be at most {QUERY_MAX} characters", field="q")
        if "\x00" in text:
            raise InvalidInput("q must not contain the NUL character", field="q")
        limit = clamp_limit(limit)
        hits: list[tuple[str, str]] = []  # (profile id, matched by), best first
        if text.startswith("cus_"):
            with contextlib.suppress(ProfileNotFound):
                hits.append((self.resolve(workspace_id, text).id, "id"))
        rules = self.identity.rules(workspace_id)
        pairs = [ident.key for ident in ids.parse_query(text, rules)]
        orders = OrderService(self.session).find_by_number(workspace_id, text)
        pairs.extend((ids.ORDER, order.id) for order in orders)
        rank = {kind: n for n, kind in enumerate(SEARCH_RANK)}
        found = sorted(
            self.repository.profile_ids_by_identifiers(workspace_id, pairs),
            key=lambda hit: (rank.get(hit[0], 9), hit[1]),
        )
        hits.extend((pid, "order_number" if kind == "order" else kind) for kind, pid in found)
        key = query_name_key(text)
        if any(c.isalpha() for c in key) and "@" not in key:
            hits.extend(
                (pid, "name")
                for pid in self.repository.profiles_by_name_prefix(workspace_id, key, limit)
            )
        return self._summaries(workspace_id, hits, limit)

    def _summaries(
        self, workspace_id: str, hits: Sequence[tuple[str, str]], limit: int
    ) -> list[schemas.ProfileSummary]:
        profiles = {p.id: p for p in self.repository.profiles(workspace_id, [h[0] for h in hits])}
        results: list[schemas.ProfileSummary] = []
        seen: set[str] = set()
        for profile_id, matched_by in hits:
            profile = profiles.get(profile_id)
            if profile is None:
                continue
            if profile.status is ProfileStatus.MERGED:
                try:
                    profile = self.resolve(workspace_id, profile.id)
                except ProfileNotFound:
                    continue
            if profile.id in seen:
                continue
            seen.add(profile.id)
            traits = profile.traits or {}
            results.append(
                schemas.ProfileSummary(
                    id=profile.id,
                    name=display_name(traits),
                    email=_text(traits.get("email")),
                    phone=_text(traits.get("phone")),
                    last_seen=profile.last_seen,
                    matched_by=matched_by,
                )
            )
            if len(results) == limit:
                break
        return results

    # The 360 ---------------------------------------------------------------------------------

    def view(self, workspace_id: str, profile_id: str, *, actor: str) -> schemas.Profile360:
        """Everything known about a person, and an audit row saying who looked.

        A merged profile's id answers with its survivor (``requested_id`` keeps the id asked
        for). Refuses an unknown id, or one of another workspace, as not found.
        """
        person = self.person(workspace_id, profile_id)
        profile = person.profile
        identifiers = person.identifiers
        consents = self.current_consents(workspace_id, identifiers)
        sources = self.identifier_sources(workspace_id, person)
        WorkspaceService(self.session).record(
            workspace_id,
            actor,
            "profile.viewed",
            profile.id,
            {"requested_id": profile_id} if profile_id != profile.id else {},
        )
        return schemas.Profile360(
            id=profile.id,
            requested_id=profile_id,
            status=profile.status,
            name=display_name(profile.traits or {}),
            traits=profile.traits or {},
            trait_stamps=profile.trait_stamps or {},
            computed=self.computed_traits(workspace_id, person),
            identifiers=[
                schemas.IdentifierOut.model_validate(i).model_copy(
                    update={"source": sources[i.id] or None}
                )
                for i in identifiers
            ],
            consents=consents,
            merges=[
                schemas.MergeOut.model_validate(m)
                for m in self.repository.merges(workspace_id, person.profile_ids)
            ],
            absorbed_profile_ids=list(person.absorbed_ids),
            created_at=profile.created_at,
            updated_at=profile.updated_at,
        )

    def identifier_sources(self, workspace_id: str, person: Person) -> dict[str, str]:
        """Where each identifier came from: its recorded source, else the channel of the record
        that first linked it (or ``match``/``manual``), else the platform its type names, else
        the channel of its order."""
        identifiers = person.identifiers
        links = self.repository.first_links([i.id for i in identifiers])
        channels = self.repository.channels_of_messages(
            workspace_id, [ref for kind, ref in links.values() if kind == "event"]
        )
        orders = {o.id: o.channel for o in self.repository.orders(workspace_id, person.order_ids)}
        sources: dict[str, str] = {}
        for identifier in identifiers:
            kind, ref = links.get(identifier.id, ("", ""))
            source = (
                identifier.source
                or (channels.get(ref) if kind == "event" else kind)
                or PLATFORM_OF_TYPE.get(identifier.type)
                or (orders.get(identifier.value) if identifier.type == ids.ORDER else None)
            )
            sources[identifier.id] = source or ""
        return sources

    def computed_traits(self, workspace_id: str, person: Person) -> schemas.ComputedTraits:
        """First and last seen, channels used, events, orders, revenue and average order value
        (per currency, cancelled orders left out, refunds taken off)."""
        count, first, last, channels = self.repository.event_summary(
            workspace_id, person.user_ids, person.anonymous_ids
        )
        orders = self.repository.orders(workspace_id, person.order_ids)
        revenue: dict[str, int] = {}
        counted: dict[str, int] = {}
        seen = [t for t in (first, last, person.profile.first_seen, person.profile.last_seen) if t]
        for order in orders:
            seen.append(order.placed_at)
            if order.channel not in channels:
                channels.append(order.channel)
            if order.status is OrderStatus.CANCELLED:
                continue
            revenue[order.currency] = (
                revenue.get(order.currency, 0) + order.total - order.refunded_total
            )
            counted[order.currency] = counted.get(order.currency, 0) + 1
        return schemas.ComputedTraits(
            first_seen=min(seen) if seen else None,
            last_seen=max(seen) if seen else None,
            channels=sorted(channels),
            event_count=count,
            order_count=len(orders),
            revenue=[schemas.MoneyTotal(currency=c, amount=a) for c, a in sorted(revenue.items())],
            average_order_value=[
                schemas.MoneyTotal(currency=c, amount=round(a / counted[c]))
                for c, a in sorted(revenue.items())
            ],
        )

    def current_consents(
        self, workspace_id: str, identifiers: Sequence[Identifier]
    ) -> list[schemas.ConsentOut]:
        """The newest answer per identifier, purpose and channel."""
        history = self.consent_history(workspace_id, identifiers)
        current: dict[tuple[str, str, str], schemas.ConsentOut] = {}
        for consent in history:  # newest first, so the first seen per key wins
            current.setdefault((consent.identifier_id, consent.purpose, consent.channel), consent)
        return sorted(
            current.values(), key=lambda c: (c.purpose, c.channel, c.identifier_type, c.id)
        )

    def consent_history(
        self, workspace_id: str, identifiers: Sequence[Identifier]
    ) -> list[schemas.ConsentOut]:
        """Every consent recorded for these identifiers, newest first."""
        by_id = {i.id: i for i in identifiers}
        return [
            consent_out(c, by_id[c.identifier_id])
            for c in self.repository.consents(workspace_id, list(by_id))
        ]

    # Timeline --------------------------------------------------------------------------------

    def timeline(
        self, workspace_id: str, profile_id: str, cursor: str | None = None, limit: int = 50
    ) -> schemas.TimelinePage:
        """One timeline across channels: events, orders, consents, merges and unmerges, newest
        first, a page at a time (the cursor is opaque). Refuses a cursor it did not make."""
        limit = clamp_limit(limit)
        position = decode_position(cursor)
        person = self.person(workspace_id, profile_id)
        repo = self.repository
        by_id = {i.id: i for i in person.identifiers}
        items: list[tuple[Position, schemas.TimelineItem]] = []
        fetch = limit + 1
        for event in repo.event_page(
            workspace_id, person.user_ids, person.anonymous_ids, position, fetch
        ):
            items.append((Position(event.timestamp, event.id), _event_item(event)))
        for order in repo.order_page(workspace_id, person.order_ids, position, fetch):
            items.append((Position(order.placed_at, order.id), _order_item(order)))
        for consent in repo.consent_page(workspace_id, list(by_id), position, fetch):
            item = consent_out(consent, by_id[consent.identifier_id])
            items.append((Position(consent.recorded_at, consent.id), _consent_item(item)))
        for merge in repo.merge_page(
            workspace_id, person.profile_ids, position, fetch, undone=False
        ):
            items.append((Position(merge.created_at, merge.id), _merge_item(merge, undone=False)))
        for merge in repo.merge_page(
            workspace_id, person.profile_ids, position, fetch, undone=True
        ):
            assert merge.undone_at is not None
            key = Position(merge.undone_at, f"{merge.id}~u")
            if position is None or key < position:
                items.append((key, _merge_item(merge, undone=True)))
        items.sort(key=lambda pair: pair[0], reverse=True)
        page = items[:limit]
        has_more = len(items) > limit
        return schemas.TimelinePage(
            items=[item for _, item in page],
            next_cursor=encode_position(page[-1][0]) if has_more and page else None,
        )


def consent_out(consent: Consent, identifier: Identifier) -> schemas.ConsentOut:
    return schemas.ConsentOut(
        id=consent.id,
        identifier_id=consent.identifier_id,
        identifier_type=identifier.type,
        identifier_value=identifier.value,
        purpose=consent.purpose,
        channel=consent.channel,
        status=consent.status,
        recorded_at=consent.recorded_at,
        source=consent.source,
        wording=consent.wording,
        evidence=consent.evidence or {},
        actor=consent.actor,
        created_at=consent.created_at,
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _event_item(event: Event) -> schemas.TimelineItem:
    payload = event.payload or {}
    title = event.event or (f"{event.type}" if event.type != "page" else "page view")
    if event.type in ("page", "screen") and payload.get("name"):
        title = f"{event.type}: {payload['name']}"
    detail: dict[str, Any] = {"type": event.type, "message_id": event.message_id}
    for part in ("properties", "traits"):
        if isinstance(payload.get(part), dict) and payload[part]:
            detail[part] = payload[part]
    return schemas.TimelineItem(
        id=event.id,
        kind="event",
        occurred_at=event.timestamp,
        channel=event.channel,
        title=title,
        detail=detail,
    )


def _order_item(order: Order) -> schemas.TimelineItem:
    return schemas.TimelineItem(
        id=order.id,
        kind="order",
        occurred_at=order.placed_at,
        channel=order.channel,
        title=f"Order {order.order_number}",
        detail={
            "order_id": order.id,
            "platform": order.platform,
            "order_number": order.order_number,
            "status": order.status.value,
            "currency": order.currency,
            "total": order.total,
            "refunded_total": order.refunded_total,
        },
    )


def _consent_item(consent: schemas.ConsentOut) -> schemas.TimelineItem:
    return schemas.TimelineItem(
        id=consent.id,
        kind="consent",
        occurred_at=consent.recorded_at,
        channel=consent.channel,
        title=f"Consent {consent.status.value}: {consent.purpose} by {consent.channel}",
        detail={
            "identifier_type": consent.identifier_type,
            "identifier_value": consent.identifier_value,
            "source": consent.source,
            "wording": consent.wording,
        },
    )


def _merge_item(merge: IdentityMerge, *, undone: bool) -> schemas.TimelineItem:
    if undone:
        assert merge.undone_at is not None
        return schemas.TimelineItem(
            id=merge.id,
            kind="unmerge",
            occurred_at=merge.undone_at,
            channel=None,
            title=f"Unmerged {merge.absorbed_profile_id} from {merge.survivor_profile_id}",
            detail={"merge_id": merge.id, "undone_by": merge.undone_by},
        )
    return schemas.TimelineItem(
        id=merge.id,
        kind="merge",
        occurred_at=merge.created_at,
        channel=None,
        title=f"Merged {merge.absorbed_profile_id} into {merge.survivor_profile_id}",
        detail={
            "merge_id": merge.id,
            "cause_kind": merge.cause_kind,
            "cause_ref": merge.cause_ref,
            "evidence": merge.evidence or {},
            "actor": merge.actor,
        },
    )
