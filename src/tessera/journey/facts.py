"""What a journey reads about the world while it runs: its definitions (immutable, so kept by
the process), one person's traits, orders and consent, and whether an exit rule now holds.

Each ``Person`` reads lazily and once: a condition on a trait never reads orders, and a job
that meets the same person in ten events reads them once. Orders are read from the orders
themselves (every channel, linked to the person through the identity graph), never from
events, so a store sale imported late still makes "ordered since entry" true.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tessera.customer.profiles import ProfileService
from tessera.identity.errors import ProfileNotFound
from tessera.journey import domain, segments
from tessera.journey.definition import Definition, ExitOnEvent, ExitOnOrder, ExitWhen
from tessera.journey.repository import JourneyRepository
from tessera.kit.process import PROCESS
from tessera.models.identity import ConsentStatus
from tessera.models.journey import JourneyInstance, JourneyVersion
from tessera.workspace.service import WorkspaceService

# Parsed definitions by version id: a version never changes, so only the bound matters.
_definitions = PROCESS.ttl_cache("journey.definitions", maxsize=2_000, ttl=24 * 3600.0)
MARKETING = "marketing"


class Definitions:
    """Definitions of (journey, version) pairs, parsed once per process."""

    def __init__(self, session: Session) -> None:
        self.repository = JourneyRepository(session)

    def of(self, version: JourneyVersion) -> Definition:
        found: Definition | None = _definitions.get(version.id)
        if found is None:
            found = Definition.model_validate(version.definition)
            _definitions[version.id] = found
        return found

    def for_instances(
        self, instances: Iterable[JourneyInstance]
    ) -> dict[tuple[str, int], Definition]:
        versions = self.repository.versions_of((i.journey_id, i.version) for i in instances)
        return {pair: self.of(version) for pair, version in versions.items()}


@dataclass(frozen=True)
class Happening:
    """An event as the rules see it: name, key values, when, and which message it was."""

    name: str | None
    message: Mapping[str, Any]
    message_id: str
    at: datetime


class Person:
    """One person as journeys see them, read only when asked. ``exists`` is False once the
    profile is gone (erased between the trigger and now)."""

    def __init__(self, session: Session, workspace_id: str, profile_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.profile_id = profile_id
        self._profiles = ProfileService(session)
        self._ordered: dict[datetime, bool] = {}

    @cached_property
    def _traits(self) -> Mapping[str, Any] | None:
        try:
            profile = self._profiles.resolve(self.workspace_id, self.profile_id)
        except ProfileNotFound:
            return None
        return dict(profile.traits or {})

    @property
    def exists(self) -> bool:
        return self._traits is not None

    @property
    def traits(self) -> Mapping[str, Any]:
        return self._traits or {}

    @cached_property
    def zone(self) -> ZoneInfo:
        workspace = WorkspaceService(self.session).get_workspace(self.workspace_id)
        return domain.zone_for(self.traits, workspace.time_zone)

    def ordered_since(self, since: datetime) -> bool:
        if since not in self._ordered:
            self._ordered[since] = self.exists and bool(
                self._profiles.orders_placed_since(self.workspace_id, self.profile_id, since)
            )
        return self._ordered[since]

    @cached_property
    def _marketing_channels(self) -> set[str]:
        if not self.exists:
            return set()
        identifiers = self._profiles.identity.identifiers_of(self.workspace_id, self.profile_id)
        return {
            consent.channel
            for consent in self._profiles.current_consents(self.workspace_id, identifiers)
            if consent.purpose == MARKETING and consent.status is ConsentStatus.GRANTED
        }

    def consented(self, channel: str) -> bool:
        """A granted marketing consent, current, for the channel (or for every channel)."""
        return bool(self._marketing_channels & {channel, "all"})

    def facts(self, entered_at: datetime) -> domain.Facts:
        return domain.Facts(
            traits=self.traits,
            ordered_since_entry=lambda: self.ordered_since(entered_at),
            consented=self.consented,
            in_segment=self.in_segment,
        )

    def in_segment(self, segment: str) -> bool:
        """Whether the person is in the segment named ``segment`` now."""
        return self.exists and segments.in_segment(
            self.session, self.workspace_id, self.profile_id, segment
        )


class People:
    """The persons one job meets, each read once."""

    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self._known: dict[str, Person] = {}

    def __getitem__(self, profile_id: str) -> Person:
        person = self._known.get(profile_id)
        if person is None:
            person = self._known[profile_id] = Person(self.session, self.workspace_id, profile_id)
        return person


def exit_reason(
    definition: Definition,
    instance: JourneyInstance,
    person: Person,
    happening: Happening | None = None,
) -> str | None:
    """The reason the instance must leave now, or None. With ``happening``, event rules are
    checked against it (never against the event the person entered with, nor one from before
    they entered); the order and condition rules are read afresh either way."""
    for rule in definition.exits:
        match rule:
            case ExitOnEvent():
                if (
                    happening is not None
                    and happening.name == rule.event
                    and happening.message_id != instance.entry_message_id
                    and happening.at >= instance.entered_at
                    and domain.key_matches(happening.message, rule.key, instance.entry_key)
                ):
                    return "event"
            case ExitOnOrder():
                if person.ordered_since(instance.entered_at):
                    return "ordered"
            case ExitWhen():
                if domain.holds(rule.condition, person.facts(instance.entered_at)):
                    return "condition"
    return None
