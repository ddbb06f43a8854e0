"""Locations, the channels they feed (ranked) and each channel's routing rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, select

from tessera.inventory.repository.base import InventoryRepositoryBase
from tessera.models.inventory import ChannelLocation, Location, LocationKind, RoutingRule


class ChannelCandidate(NamedTuple):
    """A location feeding a channel, with what routing needs of it and the channel's rule
    (``rules`` and ``is_ship_from_store`` are None when the channel has no rule)."""

    rank: int
    location_id: str
    kind: LocationKind
    is_active: bool
    is_ship_enabled: bool
    latitude: float | None
    longitude: float | None
    country: str | None
    rules: list[str] | None
    is_ship_from_store: bool | None


# Built once: a reservation's general path reads it every time, and building a statement costs
# more CPU than running it.
_CANDIDATES = (
    select(
        ChannelLocation.rank,
        Location.id,
        Location.kind,
        Location.is_active,
        Location.is_ship_enabled,
        Location.latitude,
        Location.longitude,
        Location.country,
        RoutingRule.rules,
        RoutingRule.is_ship_from_store,
    )
    .join(Location, Location.id == ChannelLocation.location_id)
    .outerjoin(
        RoutingRule,
        and_(
            RoutingRule.workspace_id == ChannelLocation.workspace_id,
            RoutingRule.channel == ChannelLocation.channel,
        ),
    )
    .where(
        ChannelLocation.workspace_id == bindparam("w"), ChannelLocation.channel == bindparam("c")
    )
    .order_by(ChannelLocation.rank, Location.code)
)


class LocationRepository(InventoryRepositoryBase):
    def location(self, workspace_id: str, location_id: str) -> Location | None:
        return self.session.scalar(
            select(Location).where(
                Location.workspace_id == workspace_id, Location.id == location_id
            )
        )

    def location_by_code(self, workspace_id: str, code: str) -> Location | None:
        return self.session.scalar(
            select(Location).where(Location.workspace_id == workspace_id, Location.code == code)
        )

    def locations(self, workspace_id: str) -> Sequence[Location]:
        return self.session.scalars(
            select(Location).where(Location.workspace_id == workspace_id).order_by(Location.code)
        ).all()

    def channel_locations(
        self, workspace_id: str, channel: str | None = None
    ) -> Sequence[tuple[ChannelLocation, Location]]:
        query = (
            select(ChannelLocation, Location)
            .join(Location, Location.id == ChannelLocation.location_id)
            .where(ChannelLocation.workspace_id == workspace_id)
        )
        if channel is not None:
            query = query.where(ChannelLocation.channel == channel)
        rows = self.session.execute(
            query.order_by(ChannelLocation.channel, ChannelLocation.rank, Location.code)
        ).all()
        return [(row.ChannelLocation, row.Location) for row in rows]

    def replace_channel_locations(
        self, workspace_id: str, channel: str, ranked: Sequence[str]
    ) -> None:
        self.session.execute(
            ChannelLocation.__table__.delete().where(  # type: ignore[attr-defined]
                ChannelLocation.workspace_id == workspace_id, ChannelLocation.channel == channel
            )
        )
        for rank, location_id in enumerate(ranked, start=1):
            self.session.add(
                ChannelLocation(
                    workspace_id=workspace_id, channel=channel, location_id=location_id, rank=rank
                )
            )
        self.session.flush()

    def channel_locations_and_rule(
        self, workspace_id: str, channel: str
    ) -> tuple[list[tuple[int, Location]], RoutingRule | None]:
        """The channel's ranked locations and its routing rule, in one query."""
        rows = self.session.execute(
            select(ChannelLocation.rank, Location, RoutingRule)
            .join(Location, Location.id == ChannelLocation.location_id)
            .outerjoin(
                RoutingRule,
                and_(
                    RoutingRule.workspace_id == ChannelLocation.workspace_id,
                    RoutingRule.channel == ChannelLocation.channel,
                ),
            )
            .where(ChannelLocation.workspace_id == workspace_id, ChannelLocation.channel == channel)
            .order_by(ChannelLocation.rank, Location.code)
        ).all()
        rule = rows[0].RoutingRule if rows else self.routing_rule(workspace_id, channel)
        return [(int(r.rank), r.Location) for r in rows], rule

    def routing_rule(self, workspace_id: str, channel: str) -> RoutingRule | None:
        return self.session.scalar(
            select(RoutingRule).where(
                RoutingRule.workspace_id == workspace_id, RoutingRule.channel == channel
            )
        )

    def set_routing_rule(
        self,
        workspace_id: str,
        channel: str,
        rules: Sequence[str],
        is_ship_from_store: bool,
        now: datetime,
    ) -> None:
        """Create or replace the channel's routing rule."""
        rule = self.routing_rule(workspace_id, channel)
        if rule is None:
            rule = RoutingRule(workspace_id=workspace_id, channel=channel)
            self.session.add(rule)
        rule.rules = list(rules)
        rule.is_ship_from_store = is_ship_from_store
        rule.updated_at = now
        self.session.flush()

    def channel_candidates(self, workspace_id: str, channel: str) -> list[ChannelCandidate]:
        """Every location feeding the channel, by rank then code, with the channel's rule."""
        rows: Any = self.session.execute(_CANDIDATES, {"w": workspace_id, "c": channel})
        return [ChannelCandidate._make(row) for row in rows]
