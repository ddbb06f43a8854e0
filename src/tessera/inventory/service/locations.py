"""Locations and which of them feed each channel, ranked, with the channel's routing rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.orm import Session

from tessera.inventory import domain
from tessera.inventory.errors import DuplicateLocation, InvalidStockInput, LocationNotFound
from tessera.inventory.repository.locations import LocationRepository
from tessera.inventory.schemas import ChannelLocationsIn, LocationIn
from tessera.kit.time import utcnow
from tessera.models.inventory import Location, LocationKind


class LocationService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = LocationRepository(session)

    def create_location(self, workspace_id: str, data: LocationIn) -> Location:
        """Add a location; refuses a code already used in the workspace (409) and pickup at
        anything but a store (422): only a store has a counter to collect from."""
        if self.repository.location_by_code(workspace_id, data.code) is not None:
            raise DuplicateLocation(f"a location with code {data.code!r} exists", field="code")
        if data.is_pickup_enabled and data.kind is not LocationKind.STORE:
            raise InvalidStockInput("only a store offers pickup", field="is_pickup_enabled")
        location = Location(workspace_id=workspace_id, **data.model_dump(), created_at=utcnow())
        self.session.add(location)
        self.session.flush()
        return location

    def locations(self, workspace_id: str) -> Sequence[Location]:
        """Every location of the workspace, by code."""
        return self.repository.locations(workspace_id)

    def location_by_code(self, workspace_id: str, code: str) -> Location:
        """The location with ``code``; refuses an unknown code (404 location-not-found)."""
        location = self.repository.location_by_code(workspace_id, code)
        if location is None:
            raise LocationNotFound(f"no location {code!r} in this workspace", field="location")
        return location

    def set_channel_locations(
        self, workspace_id: str, channel: str, data: ChannelLocationsIn
    ) -> list[tuple[int, Location]]:
        """Which locations feed ``channel``, ranked, and how its orders are routed.

        Refuses an unknown location code and the same code twice. FBA and retail locations
        may feed a channel's numbers (Amazon FBA feeds nothing we push) but are never routed.
        """
        if len(set(data.locations)) != len(data.locations):
            raise InvalidStockInput("a location is named twice", field="locations")
        ids = [self.location_by_code(workspace_id, code).id for code in data.locations]
        self.repository.replace_channel_locations(workspace_id, channel, ids)
        if data.rules is not None or data.is_ship_from_store:
            self.repository.set_routing_rule(
                workspace_id,
                channel,
                [r.value for r in (data.rules or list(domain.DEFAULT_RULES))],
                data.is_ship_from_store,
                utcnow(),
            )
        return self.locations_for_channel(workspace_id, channel)

    def locations_for_channel(self, workspace_id: str, channel: str) -> list[tuple[int, Location]]:
        """The locations whose stock ``channel`` may sell, as (rank, location), rank 1 first."""
        return [
            (link.rank, loc)
            for link, loc in self.repository.channel_locations(workspace_id, channel)
        ]

    def channel_feeds(self, workspace_id: str) -> dict[str, list[tuple[int, Location]]]:
        """Every channel with its ranked locations."""
        result: dict[str, list[tuple[int, Location]]] = defaultdict(list)
        for link, location in self.repository.channel_locations(workspace_id):
            result[link.channel].append((link.rank, location))
        return dict(result)

    def routing_rules(self, workspace_id: str, channel: str) -> tuple[list[str], bool]:
        """The channel's routing rules (defaults when none are set) and ship-from-store."""
        rule = self.repository.routing_rule(workspace_id, channel)
        if rule is None:
            return [r.value for r in domain.DEFAULT_RULES], False
        return list(rule.rules), rule.is_ship_from_store
