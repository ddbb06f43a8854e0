"""The customers list's SQL: a page of active profiles with their orders, revenue, channels and
consent, filtered and sorted, and the counts above it. Like the rest of the 360's read model it
joins the orders and events tables directly (see ``profiles``); it never writes there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, union
from sqlalchemy.orm import aliased

from tessera.db.base import RepositoryBase
from tessera.identity.graph import identifiers as ids
from tessera.kit.time import ensure_utc
from tessera.models.collect import Event
from tessera.models.identity import Consent, ConsentStatus, Identifier, Profile, ProfileStatus
from tessera.models.order import Order, OrderStatus

CUSTOMER_SORTS = ("last_seen", "orders", "revenue", "channels")


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    """Which profiles the customers list shows; empty fields match everyone."""

    channel: str | None = None
    is_omnichannel: bool = False
    has_consent: bool = False


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """One row of the customers list. ``currency`` is None when the revenue mixes several."""

    id: str
    traits: dict[str, Any]
    last_seen: datetime | None
    orders: int
    revenue: int
    currency: str | None
    channels: int
    has_consent: bool


@dataclass(frozen=True, slots=True)
class CustomerCounts:
    """The headline numbers above the customers list."""

    total: int
    omnichannel: int
    with_consent: int
    by_channel: dict[str, int]


class CustomerListQueries(RepositoryBase):
    """The customers list, mixed into the profile read repository."""

    # The customers list ------------------------------------------------------------------

    @staticmethod
    def _profile_channels(workspace_id: str) -> Any:
        """(profile id, channel) for every channel a profile bought on or was seen on: its
        orders' channels and its events' (through its user and anonymous ids)."""
        bought = (
            select(Identifier.profile_id.label("profile_id"), Order.channel.label("channel"))
            .join(Order, and_(Order.workspace_id == workspace_id, Order.id == Identifier.value))
            .where(Identifier.workspace_id == workspace_id, Identifier.type == ids.ORDER)
        )
        seen = [
            select(Identifier.profile_id, Event.channel)
            .join(Event, and_(Event.workspace_id == workspace_id, column == Identifier.value))
            .where(Identifier.workspace_id == workspace_id, Identifier.type == kind)
            for kind, column in (
                (ids.USER_ID, Event.user_id),
                (ids.ANONYMOUS_ID, Event.anonymous_id),
            )
        ]
        return union(bought, *seen).subquery("profile_channel")

    @staticmethod
    def _has_consent(workspace_id: str) -> ColumnElement[bool]:
        """Whether the profile's newest answer for some identifier, purpose and channel is a
        grant (what the 360's consent card shows as granted)."""
        newer = aliased(Consent)
        return exists(
            select(Consent.id)
            .join(Identifier, Identifier.id == Consent.identifier_id)
            .where(
                Consent.workspace_id == workspace_id,
                Identifier.profile_id == Profile.id,
                Consent.status == ConsentStatus.GRANTED,
                ~exists(
                    select(newer.id).where(
                        newer.identifier_id == Consent.identifier_id,
                        newer.purpose == Consent.purpose,
                        newer.channel == Consent.channel,
                        or_(
                            newer.recorded_at > Consent.recorded_at,
                            and_(newer.recorded_at == Consent.recorded_at, newer.id > Consent.id),
                        ),
                    )
                ),
            )
        )

    def customer_rows(
        self, workspace_id: str, where: CustomerFilter, sort: str, offset: int, limit: int
    ) -> list[CustomerRow]:
        """A page of active profiles with their order count, revenue (cancelled orders left
        out, refunds taken off), channel count and consent, filtered and sorted.

        ``sort`` is one of ``CUSTOMER_SORTS``; ties break on the profile id, newest first.
        Sorted by last seen (the default) and not filtered by reach, the page is chosen first
        and only its people's orders and channels are counted (``_recent_rows``): at 100k
        profiles that is the difference between the whole workspace's aggregates and 50's."""
        if sort == "last_seen" and not where.is_omnichannel:
            return self._recent_rows(workspace_id, where, offset, limit)
        channels = self._profile_channels(workspace_id)
        bought = (
            select(
                Identifier.profile_id.label("profile_id"),
                func.count(Order.id).label("orders"),
                func.sum(
                    case(
                        (Order.status == OrderStatus.CANCELLED, 0),
                        else_=Order.total - Order.refunded_total,
                    )
                ).label("revenue"),
                func.min(Order.currency).label("currency"),
                func.count(func.distinct(Order.currency)).label("currencies"),
            )
            .join(Order, and_(Order.workspace_id == workspace_id, Order.id == Identifier.value))
            .where(Identifier.workspace_id == workspace_id, Identifier.type == ids.ORDER)
            .group_by(Identifier.profile_id)
            .subquery("bought")
        )
        reach = (
            select(channels.c.profile_id, func.count().label("channels"))
            .group_by(channels.c.profile_id)
            .subquery("reach")
        )
        orders = func.coalesce(bought.c.orders, 0)
        revenue = func.coalesce(bought.c.revenue, 0)
        channel_count = func.coalesce(reach.c.channels, 0)
        has_consent = self._has_consent(workspace_id)
        query = (
            select(
                Profile.id,
                Profile.traits,
                Profile.last_seen,
                orders.label("orders"),
                revenue.label("revenue"),
                bought.c.currency,
                func.coalesce(bought.c.currencies, 0).label("currencies"),
                channel_count.label("channels"),
                has_consent.label("has_consent"),
            )
            .outerjoin(bought, bought.c.profile_id == Profile.id)
            .outerjoin(reach, reach.c.profile_id == Profile.id)
            .where(Profile.workspace_id == workspace_id, Profile.status == ProfileStatus.ACTIVE)
        )
        if where.channel:
            query = query.where(
                Profile.id.in_(
                    select(channels.c.profile_id).where(channels.c.channel == where.channel)
                )
            )
        if where.is_omnichannel:
            query = query.where(channel_count >= 2)
        if where.has_consent:
            query = query.where(has_consent)
        order_by: dict[str, list[Any]] = {
            "last_seen": [Profile.last_seen.is_(None), Profile.last_seen.desc()],
            "orders": [orders.desc()],
            "revenue": [revenue.desc()],
            "channels": [channel_count.desc()],
        }
        rows = self.session.execute(
            query.order_by(*order_by[sort], Profile.id.desc()).offset(offset).limit(limit)
        ).all()
        return [
            CustomerRow(
                id=row.id,
                traits=dict(row.traits or {}),
                last_seen=ensure_utc(row.last_seen) if row.last_seen is not None else None,
                orders=int(row.orders),
                revenue=int(row.revenue),
                currency=row.currency if row.currencies == 1 else None,
                channels=int(row.channels),
                has_consent=bool(row.has_consent),
            )
            for row in rows
        ]

    def _recent_rows(
        self, workspace_id: str, where: CustomerFilter, offset: int, limit: int
    ) -> list[CustomerRow]:
        """``customer_rows`` by last seen: a page of profiles, then their orders and channels."""
        has_consent = self._has_consent(workspace_id)
        query = select(Profile.id, Profile.traits, Profile.last_seen).where(
            Profile.workspace_id == workspace_id, Profile.status == ProfileStatus.ACTIVE
        )
        if where.channel:
            channels = self._profile_channels(workspace_id)
            query = query.where(
                Profile.id.in_(
                    select(channels.c.profile_id).where(channels.c.channel == where.channel)
                )
            )
        if where.has_consent:
            query = query.where(has_consent)
        page = self.session.execute(
            query.order_by(Profile.last_seen.is_(None), Profile.last_seen.desc(), Profile.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        ids_ = [row.id for row in page]
        consenting = (
            set(
                self.session.scalars(
                    select(Profile.id).where(Profile.id.in_(ids_), has_consent)
                ).all()
            )
            if ids_
            else set()
        )
        bought = {
            row.profile_id: row
            for row in self.session.execute(
                select(
                    Identifier.profile_id,
                    func.count(Order.id).label("orders"),
                    func.sum(
                        case(
                            (Order.status == OrderStatus.CANCELLED, 0),
                            else_=Order.total - Order.refunded_total,
                        )
                    ).label("revenue"),
                    func.min(Order.currency).label("currency"),
                    func.count(func.distinct(Order.currency)).label("currencies"),
                )
                .join(Order, and_(Order.workspace_id == workspace_id, Order.id == Identifier.value))
                .where(
                    Identifier.workspace_id == workspace_id,
                    Identifier.type == ids.ORDER,
                    Identifier.profile_id.in_(ids_),
                )
                .group_by(Identifier.profile_id)
            )
        }
        reach = self._channel_counts(workspace_id, ids_)
        rows = []
        for row in page:
            sums = bought.get(row.id)
            rows.append(
                CustomerRow(
                    id=row.id,
                    traits=dict(row.traits or {}),
                    last_seen=ensure_utc(row.last_seen) if row.last_seen is not None else None,
                    orders=int(sums.orders) if sums else 0,
                    revenue=int(sums.revenue or 0) if sums else 0,
                    currency=sums.currency if sums and sums.currencies == 1 else None,
                    channels=reach.get(row.id, 0),
                    has_consent=row.id in consenting,
                )
            )
        return rows

    def _channel_counts(self, workspace_id: str, profile_ids: Sequence[str]) -> dict[str, int]:
        """How many channels each of ``profile_ids`` bought on or was seen on."""
        if not profile_ids:
            return {}
        bought = (
            select(Identifier.profile_id.label("profile_id"), Order.channel.label("channel"))
            .join(Order, and_(Order.workspace_id == workspace_id, Order.id == Identifier.value))
            .where(
                Identifier.workspace_id == workspace_id,
                Identifier.type == ids.ORDER,
                Identifier.profile_id.in_(profile_ids),
            )
        )
        seen = [
            select(Identifier.profile_id, Event.channel)
            .join(Event, and_(Event.workspace_id == workspace_id, column == Identifier.value))
            .where(
                Identifier.workspace_id == workspace_id,
                Identifier.type == kind,
                Identifier.profile_id.in_(profile_ids),
            )
            for kind, column in (
                (ids.USER_ID, Event.user_id),
                (ids.ANONYMOUS_ID, Event.anonymous_id),
            )
        ]
        channels = union(bought, *seen).subquery("profile_channel")
        return {
            str(profile): int(count)
            for profile, count in self.session.execute(
                select(channels.c.profile_id, func.count()).group_by(channels.c.profile_id)
            ).all()
        }

    def customer_counts(self, workspace_id: str) -> CustomerCounts:
        """How many active profiles there are: all, on two channels or more, per channel, and
        with a current grant of consent."""
        channels = self._profile_channels(workspace_id)
        active = and_(Profile.workspace_id == workspace_id, Profile.status == ProfileStatus.ACTIVE)
        total = self.session.scalar(select(func.count()).select_from(Profile).where(active))
        per_channel = self.session.execute(
            select(channels.c.channel, func.count(func.distinct(channels.c.profile_id)))
            .join(Profile, Profile.id == channels.c.profile_id)
            .where(active)
            .group_by(channels.c.channel)
        ).all()
        reach = (
            select(channels.c.profile_id)
            .group_by(channels.c.profile_id)
            .having(func.count() >= 2)
            .subquery("reach")
        )
        omnichannel = self.session.scalar(
            select(func.count())
            .select_from(reach)
            .join(Profile, Profile.id == reach.c.profile_id)
            .where(active)
        )
        consenting = self.session.scalar(
            select(func.count()).select_from(Profile).where(active, self._has_consent(workspace_id))
        )
        return CustomerCounts(
            total=int(total or 0),
            omnichannel=int(omnichannel or 0),
            with_consent=int(consenting or 0),
            by_channel={str(c): int(n) for c, n in sorted(per_channel)},
        )
