"""The customer 360, read side: search, one profile with everything known, and one timeline.

A profile is a connected group of identifiers (ADR 0010). Events and orders are never rewritten:
an event belongs to the profile of its ``user_id`` identifier, or, when it has none, to the
profile of its ``anonymous_id`` identifier; an order belongs to the profile holding the
identifier of type ``order`` whose value is the order's id. Order events (message ids
``order:<id>:...``) are shown once, as their order, not a second time as events.

The clerk's search answers from indexed lookups only: an identifier by its unique
``(workspace, type, value)`` index after normalising the query, an order number by the orders
service (its ``(workspace, order_number)`` index), and a name, part of an email or a phone
written any way by a range on one of the profile's search keys (``search`` says how a query
becomes ranges and how hits rank; ``db.types.PrefixKey`` why a range is a prefix).

Its SQL is ``repository.profiles``' (a read model that joins the events and orders tables
directly, as analytics does); the timeline's cursors and items are ``timeline``'s.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.customer import purchases, schemas
from tessera.customer.repository.customers import (
    CUSTOMER_SORTS,
    CustomerCounts,
)
from tessera.customer.repository.customers import (
    CustomerFilter as CustomerFilter,  # the list's filter is part of this service's face
)
from tessera.customer.repository.profiles import ProfileReadRepository
from tessera.customer.repository.purchases import PurchaseReadRepository
from tessera.customer.search import EXACT, Hit, search_probes
from tessera.customer.timeline import (
    Position,
    consent_item,
    consent_out,
    decode_position,
    encode_position,
    event_item,
    merge_item,
    order_item,
)
from tessera.identity.errors import ProfileNotFound
from tessera.identity.graph import identifiers as ids
from tessera.identity.graph.service import IdentityService
from tessera.kit.errors import InvalidInput
from tessera.kit.money import Money, minor_exponent
from tessera.kit.pagination import MAX_LIMIT, clamp_limit, decode_cursor, encode_cursor
from tessera.models.identity import Identifier, Profile, ProfileStatus
from tessera.models.order import Order, OrderStatus
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService

SEARCH_LIMIT = 20
QUERY_MAX = 320
PLATFORM_OF_TYPE = {
    ids.SHOPIFY_CUSTOMER_ID: "shopify",
    ids.TIKTOK_CUSTOMER_ID: "tiktok_shop",
    ids.AMAZON_BUYER_ID: "amazon",
    ids.SQUARE_CUSTOMER_ID: "square",
}
# Identifiers typed whole, in this order among themselves (order numbers last).
_RANK = {
    kind: n
    for n, kind in enumerate(
        (
            ids.EMAIL, ids.PHONE, ids.LOYALTY_ID, ids.POS_CARD_ID, ids.USER_ID,
            ids.SHOPIFY_CUSTOMER_ID, ids.TIKTOK_CUSTOMER_ID, ids.AMAZON_BUYER_ID,
            ids.SQUARE_CUSTOMER_ID, ids.ANONYMOUS_ID, ids.RELAY_EMAIL, ids.ORDER,
        )
    )
}  # fmt: skip
_NAME_TRAITS = ("first_name", "last_name")
EXPORT_MAX = 50_000  # rows in one CSV download
RECENT_PROFILES = 10_000  # profiles ``recent_trait_keys`` reads
CSV_COLUMNS = (
    "id", "name", "email", "phone", "last_seen", "orders", "revenue", "currency", "channels",
    "has_consent",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CustomerListItem:
    """One customer in the list: who, when last seen, what they bought and where."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    last_seen: datetime | None
    orders: int
    revenue: int  # minor units of ``currency``; None when the orders mix currencies
    currency: str | None
    channels: int
    has_consent: bool


@dataclass(frozen=True, slots=True)
class CustomerPage:
    items: list[CustomerListItem]
    next_cursor: str | None


def display_name(traits: dict[str, Any]) -> str | None:
    parts = [str(traits[k]).strip() for k in _NAME_TRAITS if traits.get(k)]
    if parts:
        return " ".join(parts)
    name = traits.get("name")
    return str(name).strip() or None if name else None


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
        self.purchases = PurchaseReadRepository(session)
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
        """Profiles matching what a clerk typed, best first: an email, phone, loyalty or card
        id, order number or profile id typed whole; then a full name ("First Last" or "Last
        First"); then a surname; then the start of a name, an email, an email's domain or a
        phone. A phone matches written any way (``kit.phones``), names without accents or
        honorifics (``kit.names``).

        Refuses an empty query and one longer than 320 characters. Every lookup is an indexed
        probe or range whatever the size of the workspace: the identifiers' unique index, the
        orders' number index, and one range per search key of ``profile`` (one statement).
        """
        text = query.strip()
        if not text:
            raise InvalidInput("type an email, phone, loyalty id, order number or name", field="q")
        if len(text) > QUERY_MAX:
            raise InvalidInput(f"q must be at most {QUERY_MAX} characters", field="q")
        if "\x00" in text:
            raise InvalidInput("q must not contain the NUL character", field="q")
        limit = clamp_limit(limit)
        rules = self.identity.rules(workspace_id)
        hits: list[Hit] = []
        if text.startswith("cus_"):
            with contextlib.suppress(ProfileNotFound):
                hits.append(Hit(EXACT, (0,), self.resolve(workspace_id, text).id, "id"))
        pairs = [ident.key for ident in ids.parse_query(text, rules)]
        orders = OrderService(self.session).find_by_number(workspace_id, text)
        pairs.extend((ids.ORDER, order.id) for order in orders)
        for kind, profile_id in self.repository.profile_ids_by_identifiers(workspace_id, pairs):
            matched_by = "order_number" if kind == ids.ORDER else kind
            rank = (1, _RANK.get(kind, len(_RANK)), profile_id)
            hits.append(Hit(EXACT, rank, profile_id, matched_by))
        typed = search_probes(text, rules.region)
        found = self.repository.profiles_by_key_prefix(workspace_id, typed.probes, limit)
        wanted = {h.profile_id for h in hits} | {h.profile_id for h in found}
        profiles = {p.id: p for p in self.repository.profiles(workspace_id, wanted)}
        probe_order = {column: n for n, (column, _) in enumerate(typed.probes)}
        for hit in found:
            profile = profiles.get(hit.profile_id)
            if profile is not None:
                tier, matched_by = typed.judge(hit, profile.traits or {})
                place = (2, probe_order[hit.column], hit.key, hit.profile_id)
                hits.append(Hit(tier, place, hit.profile_id, matched_by))
        hits.sort(key=lambda hit: (hit.tier, hit.order))
        return self._summaries(workspace_id, hits, profiles, limit)

    def _summaries(
        self, workspace_id: str, hits: Sequence[Hit], profiles: dict[str, Profile], limit: int
    ) -> list[schemas.ProfileSummary]:
        """The first ``limit`` profiles hit, best first, each once (a merged one as its
        survivor), with what matched."""
        results: list[schemas.ProfileSummary] = []
        seen: set[str] = set()
        for hit in hits:
            matched_by = hit.matched_by
            profile = profiles.get(hit.profile_id)
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

    # The customers list --------------------------------------------------------------------

    def customers(
        self,
        workspace_id: str,
        where: CustomerFilter | None = None,
        sort: str = "last_seen",
        cursor: str | None = None,
        limit: int = 50,
    ) -> CustomerPage:
        """Active profiles with their orders, revenue, channels and consent, filtered, sorted
        (``CUSTOMER_SORTS``, largest or newest first) and paged.

        Refuses an unknown sort, a cursor it did not make and a limit outside 1..200. The
        cursor is a position in the sorted list, not a key: sorting by aggregates leaves no
        column to seek on, so a page may shift by a row when profiles change between pages."""
        if sort not in CUSTOMER_SORTS:
            names = ", ".join(CUSTOMER_SORTS)
            raise InvalidInput(f"sort must be one of {names}", field="sort")
        limit = clamp_limit(limit)
        offset = _decode_offset(cursor)
        rows = self.repository.customer_rows(
            workspace_id, where or CustomerFilter(), sort, offset, limit + 1
        )
        more = len(rows) > limit
        return CustomerPage(
            items=[
                CustomerListItem(
                    id=row.id,
                    name=display_name(row.traits),
                    email=_text(row.traits.get("email")),
                    phone=_text(row.traits.get("phone")),
                    last_seen=row.last_seen,
                    orders=row.orders,
                    revenue=row.revenue,
                    currency=row.currency,
                    channels=row.channels,
                    has_consent=row.has_consent,
                )
                for row in rows[:limit]
            ],
            next_cursor=encode_cursor(f"off_{offset + limit}") if more else None,
        )

    def customer_counts(self, workspace_id: str) -> CustomerCounts:
        """All active profiles, those on two channels or more, per channel, with consent."""
        return self.repository.customer_counts(workspace_id)

    def customers_csv(
        self, workspace_id: str, where: CustomerFilter | None = None, sort: str = "last_seen"
    ) -> tuple[str, bool]:
        """The filtered, sorted list as CSV text, and whether it stopped at ``EXPORT_MAX``
        rows (a download is built whole in the request's transaction, so it is bounded)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        cursor: str | None = None
        written = 0
        while True:
            page = self.customers(workspace_id, where, sort, cursor, MAX_LIMIT)
            for item in page.items:
                writer.writerow(
                    [
                        item.id,
                        item.name or "",
                        item.email or "",
                        item.phone or "",
                        item.last_seen.isoformat(timespec="seconds") if item.last_seen else "",
                        item.orders,
                        _major(item.revenue, item.currency),
                        item.currency or "",
                        item.channels,
                        "yes" if item.has_consent else "no",
                    ]
                )
            written += len(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return buffer.getvalue(), False
            if written >= EXPORT_MAX:
                return buffer.getvalue(), True

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
        (per currency, cancelled orders left out, refunds taken off). Orders are the
        connector orders the person holds and the orders their own ``Order Completed`` events
        report that no connector order holds (``customer.purchases``)."""
        events = self.repository.event_summary(workspace_id, person.user_ids, person.anonymous_ids)
        first, last, channels = events.first, events.last, events.channels
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
        reported = self.reported_orders(workspace_id, person)
        for sale in reported:
            revenue[sale.currency] = revenue.get(sale.currency, 0) + sale.amount
            counted[sale.currency] = counted.get(sale.currency, 0) + 1
        return schemas.ComputedTraits(
            first_seen=min(seen) if seen else None,
            last_seen=max(seen) if seen else None,
            channels=sorted(channels),
            event_count=events.count,
            order_count=len(orders) + len(reported),
            revenue=[schemas.MoneyTotal(currency=c, amount=a) for c, a in sorted(revenue.items())],
            average_order_value=[
                schemas.MoneyTotal(currency=c, amount=round(a / counted[c]))
                for c, a in sorted(revenue.items())
            ],
        )

    def reported_orders(self, workspace_id: str, person: Person) -> list[purchases.ReportedOrder]:
        """The orders the person's own ``Order Completed`` events report, once per order id,
        leaving out those a connector order holds (the same order, counted as stored)."""
        reported = purchases.reported_orders(
            self.purchases.completed_order_events(
                workspace_id, person.user_ids, person.anonymous_ids
            )
        )
        forms = purchases.forms_of(order.order_id for order in reported)
        return purchases.not_held(reported, self.purchases.held_order_ids(workspace_id, forms))

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

    # What journeys ask -----------------------------------------------------------------------

    def orders_placed_since(
        self, workspace_id: str, profile_id: str, since: datetime
    ) -> list[Order]:
        """The person's orders on every channel placed at or after ``since``, cancelled ones
        left out: "ordered since entering", read from orders, so a store sale imported late
        counts once it is linked to the person."""
        identifiers = self.identity.identifiers_of(workspace_id, profile_id)
        order_ids = [i.value for i in identifiers if i.type == ids.ORDER]
        return [
            order
            for order in self.repository.orders(workspace_id, order_ids)
            if order.placed_at >= since and order.status is not OrderStatus.CANCELLED
        ]

    def skus_bought(
        self, workspace_id: str, profile_id: str | None = None
    ) -> list[tuple[str, str]]:
        """(profile id, SKU) the workspace's people bought on every channel, cancelled orders
        and lines left out; given ``profile_id``, only that person's (merges followed).
        Refuses (404) a profile that does not exist."""
        if profile_id is not None:
            profile_id = self.identity.resolve(workspace_id, profile_id).id
        return self.purchases.skus_bought(workspace_id, profile_id)

    def recent_trait_keys(self, workspace_id: str, profiles: int = RECENT_PROFILES) -> set[str]:
        """The trait names held by the workspace's newest ``profiles`` profiles (10,000 by
        default): a bounded answer to "does this trait exist here?" for a name someone typed."""
        return {
            key
            for traits in self.repository.recent_traits(workspace_id, profiles)
            for key in traits or {}
        }

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
            items.append((Position(event.timestamp, event.id), event_item(event)))
        for order in repo.order_page(workspace_id, person.order_ids, position, fetch):
            items.append((Position(order.placed_at, order.id), order_item(order)))
        for consent in repo.consent_page(workspace_id, list(by_id), position, fetch):
            item = consent_out(consent, by_id[consent.identifier_id])
            items.append((Position(consent.recorded_at, consent.id), consent_item(item)))
        for merge in repo.merge_page(
            workspace_id, person.profile_ids, position, fetch, undone=False
        ):
            items.append((Position(merge.created_at, merge.id), merge_item(merge, undone=False)))
        for merge in repo.merge_page(
            workspace_id, person.profile_ids, position, fetch, undone=True
        ):
            assert merge.undone_at is not None
            key = Position(merge.undone_at, f"{merge.id}~u")
            if position is None or key < position:
                items.append((key, merge_item(merge, undone=True)))
        items.sort(key=lambda pair: pair[0], reverse=True)
        page = items[:limit]
        has_more = len(items) > limit
        return schemas.TimelinePage(
            items=[item for _, item in page],
            next_cursor=encode_position(page[-1][0]) if has_more and page else None,
        )


def _decode_offset(cursor: str | None) -> int:
    value = decode_cursor(cursor)
    if value is None:
        return 0
    kind, _, number = value.partition("_")
    if kind != "off" or not number.isdigit():
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return int(number)


def _major(amount: int, currency: str | None) -> str:
    """Revenue in major units for a spreadsheet; minor units when currencies are mixed."""
    if currency is None:
        return str(amount) if amount else "0"
    return f"{Money(amount, currency).to_decimal():.{minor_exponent(currency)}f}"


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
