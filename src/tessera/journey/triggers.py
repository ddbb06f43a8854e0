"""What happens to journeys when something happens to a person: an event (an order is one:
the orders service emits ``Order Completed`` through Collect), or two profiles becoming one.

Identify's stitch announces, in its own transaction, which profile each stored event belongs
to (``events.resolved``); ``announce`` turns that into ``journey.events_arrived`` jobs, so a
journey that fails never rolls back a stitch. Each such job takes its events in time order
and, for each: the person's instances check their exit rules, an instance awaiting this event
(with the instance's key, when the wait is keyed) moves on, and every live journey whose entry
matches lets the person in, as its re-entry rule allows. Entering is ``INSERT ... ON CONFLICT
DO NOTHING`` on the partial unique index of people inside, so concurrent triggers make one
instance, and on the event's message id, so an event announced twice enters once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.service import CollectService
from tessera.identity.graph.service import IdentityService
from tessera.job.service import JobService
from tessera.journey import domain, segments
from tessera.journey.definition import Definition, EventEntry, SegmentEntry, WaitFor
from tessera.journey.facts import Definitions, Happening, People, Person, exit_reason
from tessera.journey.repository import JourneyRepository
from tessera.journey.steps import (
    STEP_JOB,
    arrival,
    enqueue_visit,
    record_visit,
    step_job_key,
    visit_payload,
)
from tessera.kit.ids import new_id
from tessera.kit.time import Clock, utcnow
from tessera.models.collect import Event
from tessera.models.journey import Journey, JourneyInstance, JourneyStatus

TRIGGER_JOB = "journey.events_arrived"
MERGE_JOB = "journey.profiles_merged"
EVENTS_PER_JOB = 500


def announce(session: Session, workspace_id: str, resolved: Sequence[Sequence[str]]) -> int:
    """Queue the trigger jobs for stitched events, given as [message id, profile id] pairs;
    nothing when no journey in the workspace could care. Returns how many jobs."""
    if not resolved or not JourneyRepository(session).is_engaged(workspace_id):
        return 0
    pairs = [[str(message_id), str(profile_id)] for message_id, profile_id in resolved]
    chunks = [pairs[i : i + EVENTS_PER_JOB] for i in range(0, len(pairs), EVENTS_PER_JOB)]
    return JobService(session).enqueue_many(
        TRIGGER_JOB,
        [{"workspace_id": workspace_id, "events": chunk} for chunk in chunks],
        workspace_id=workspace_id,
    )


def announce_merge(session: Session, payload: dict[str, Any]) -> None:
    """Queue the journeys' own merge job for a ``customer.merged`` announcement."""
    workspace_id = payload.get("workspace_id")
    if workspace_id is None:
        return
    JobService(session).enqueue(
        MERGE_JOB,
        {
            "workspace_id": workspace_id,
            "survivor_profile_id": payload["survivor_profile_id"],
            "absorbed_profile_id": payload["absorbed_profile_id"],
        },
        workspace_id=workspace_id,
        idempotency_key=f"journey-merge:{payload['merge_id']}",
    )


@dataclass(frozen=True)
class Pending:
    """An entry not written yet: the instance's row and when its first visit is due."""

    values: dict[str, Any]
    run_at: datetime


class Triggers:
    """Events and merges applied to a workspace's journeys, on the caller's session."""

    def __init__(self, session: Session, workspace_id: str, clock: Clock = utcnow) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.clock = clock
        self.repository = JourneyRepository(session)
        self.definitions = Definitions(session)
        self.people = People(session, workspace_id)
        self._inside: dict[str, list[JourneyInstance]] = {}
        self._versions: dict[tuple[str, int], Definition] = {}
        # Set-based entering (``_enter``): who entered each journey before, read once per
        # journey for every person of the batch, and the entries not written yet.
        self._profiles: set[str] = set()
        self._entered: dict[str, dict[tuple[str, str], list[datetime]]] = {}
        self._read: dict[str, set[str]] = {}  # whose entries are in ``_entered``, per journey
        self._pending: dict[str, Pending] = {}

    # Events ----------------------------------------------------------------------------------

    def events_arrived(self, resolved: Sequence[Sequence[str]]) -> None:
        """Apply stored events, given as [message id, profile id] pairs, in time order."""
        profile_of = {message_id: profile_id for message_id, profile_id in resolved}
        events = CollectService(self.session).events_by_message_id(
            self.workspace_id, sorted(profile_of)
        )
        events.sort(key=lambda e: (e.timestamp, e.id))
        # Each announced profile's live profile now (merged since, it is the survivor's);
        # erased ones are left out.
        owners = IdentityService(self.session).resolve_many(self.workspace_id, profile_of.values())
        self._profiles = set(owners.values())
        self._load_inside(self._profiles)
        entries = self._entries_by_event()
        for event in events:
            profile_id = owners.get(profile_of[event.message_id])
            if profile_id is not None:
                self._apply(event, profile_id, entries.get(event.event or "", []))
        self._write_entries(read_back=False)

    def _load_inside(self, profile_ids: set[str]) -> None:
        for instance in self.repository.inside_of(self.workspace_id, profile_ids):
            self._inside.setdefault(instance.profile_id, []).append(instance)
        self._versions.update(
            self.definitions.for_instances(i for group in self._inside.values() for i in group)
        )

    def _entries_by_event(self) -> dict[str, list[tuple[Journey, int, Definition]]]:
        entries: dict[str, list[tuple[Journey, int, Definition]]] = {}
        for journey, version in self.repository.live_versions(self.workspace_id):
            definition = self.definitions.of(version)
            self._versions[(journey.id, version.version)] = definition
            if isinstance(definition.entry, EventEntry):
                entries.setdefault(definition.entry.event, []).append(
                    (journey, version.version, definition)
                )
            elif isinstance(definition.entry, SegmentEntry):
                entries.setdefault(segments.SEGMENT_ENTERED, []).append(
                    (journey, version.version, definition)
                )
        return entries

    def _apply(
        self, event: Event, profile_id: str, entries: list[tuple[Journey, int, Definition]]
    ) -> None:
        if any(i.id in self._pending for i in self._inside.get(profile_id, [])):
            self._write_entries()  # what follows reads and changes their rows
        person = self.people[profile_id]
        happening = Happening(
            name=event.event if event.type == "track" else None,
            message=event.payload,
            message_id=event.message_id,
            at=event.timestamp,
        )
        for instance in list(self._inside.get(profile_id, [])):
            definition = self._versions[(instance.journey_id, instance.version)]
            reason = exit_reason(definition, instance, person, happening)
            if reason is not None:
                at = max(happening.at, instance.entered_at)
                self.repository.leave(instance.id, None, at, reason)
                self._inside[profile_id].remove(instance)
                continue
            self._answer_wait(instance, definition, happening, person)
        if happening.name is None:
            return
        for journey, version, definition in entries:
            self._enter(journey, version, definition, event, happening, person)

    def _answer_wait(
        self,
        instance: JourneyInstance,
        definition: Definition,
        happening: Happening,
        person: Person,
    ) -> None:
        """Move an instance awaiting this event on to the wait's ``on_event`` step."""
        if (
            happening.name is None
            or instance.awaiting_event != happening.name
            or happening.message_id == instance.entry_message_id
            or happening.at < instance.entered_at
        ):
            return
        wait = definition.step(instance.current_step)
        assert isinstance(wait, WaitFor), "only a wait_for step awaits an event"
        if not domain.key_matches(happening.message, wait.key, instance.entry_key):
            return
        began = (instance.wake_at or happening.at) - wait.timeout
        at = max(happening.at, began, instance.entered_at)
        landing = arrival(definition, wait.on_event, at, instance.entry_key, person)
        visit = instance.visit
        if not self.repository.advance(instance.id, visit, landing.values):
            return
        record_visit(
            self.repository,
            instance,
            visit,
            wait.id,
            "event",
            at,
            {"message_id": happening.message_id},
        )
        enqueue_visit(self.session, self.workspace_id, instance.id, visit + 1, landing.run_at)
        self.session.refresh(instance)

    def _enter(
        self,
        journey: Journey,
        version: int,
        definition: Definition,
        event: Event,
        happening: Happening,
        person: Person,
    ) -> None:
        entry = definition.entry
        if isinstance(entry, SegmentEntry):
            if not segments.entered_segment(entry, happening.message):
                return
            entry = segments.as_event_entry(entry)
        assert isinstance(entry, EventEntry)
        if entry.channels is not None and event.channel not in entry.channels:
            return
        key = ""
        if entry.key is not None:
            found = domain.read_path(event.payload, entry.key)
            if found is None:  # a keyed journey cannot hold someone without the key
                return
            key = found
        at = happening.at
        if entry.condition is not None and not domain.holds(entry.condition, person.facts(at)):
            return
        before = self._entries(journey.id, person.profile_id, key)
        if not domain.may_enter(definition.reentry, before, at):
            return
        inside = self._inside.get(person.profile_id, [])
        if any(i.journey_id == journey.id and i.entry_key == key for i in inside):
            return  # inside already: the partial unique index would refuse the row
        landing = arrival(definition, definition.start, at, key, person)
        values = {
            "id": new_id("jri"),
            "workspace_id": self.workspace_id,
            "journey_id": journey.id,
            "version": version,
            "profile_id": person.profile_id,
            "entry_key": key,
            "entry_message_id": event.message_id,
            "visit": 1,
            "is_holdout": False,
            "entered_at": at,
            **landing.values,
        }
        # Written with the batch's other entries (``_write_entries``), before anything else
        # reads or changes this person's instances; until then it stands in memory.
        self._pending[values["id"]] = Pending(values, landing.run_at)
        before.append(at)
        self._inside.setdefault(person.profile_id, []).append(JourneyInstance(**values))

    def _entries(self, journey_id: str, profile_id: str, key: str) -> list[datetime]:
        """When the person (with this key) entered the journey before: read for every person
        of the batch at the journey's first call, then kept up to date in memory."""
        read = self._read.setdefault(journey_id, set())
        entered = self._entered.setdefault(journey_id, {})
        if profile_id not in read:
            people = {profile_id} if read else self._profiles | {profile_id}
            entered.update(self.repository.entries_of(journey_id, people))
            read.update(people)
        return entered.setdefault((profile_id, key), [])

    def _write_entries(self, read_back: bool = True) -> None:
        """Insert the pending entries in one statement and their first visits' jobs in
        another. An entry refused by the database (the person entered in a transaction
        that committed meanwhile, or this event entered them before) is dropped, with its
        job; the entries still in memory are then read back, as later events may change
        them."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        inserted = self.repository.insert_instances([p.values for p in pending.values()])
        JobService(self.session).enqueue_many_once(
            STEP_JOB,
            (
                (visit_payload(instance_id, 1, p.run_at), step_job_key(instance_id, 1), p.run_at)
                for instance_id, p in pending.items()
                if instance_id in inserted
            ),
            workspace_id=self.workspace_id,
        )
        if not read_back:
            return
        loaded = {i.id: i for i in self.repository.instances_by_id(inserted)}
        for profile_id, instances in self._inside.items():
            if any(i.id in pending for i in instances):
                self._inside[profile_id] = [
                    loaded.get(i.id, i)
                    for i in instances
                    if i.id not in pending or i.id in inserted
                ]
        for instance_id, p in pending.items():
            if instance_id not in inserted:
                key = (p.values["profile_id"], p.values["entry_key"])
                before = self._entered.get(p.values["journey_id"], {}).get(key, [])
                if p.values["entered_at"] in before:
                    before.remove(p.values["entered_at"])

    # Merges ----------------------------------------------------------------------------------

    def profiles_merged(self, survivor_id: str, absorbed_id: str) -> None:
        """Two profiles became one: at most one instance per journey and key goes on. The
        survivor's own instance continues; the absorbed profile's leaves ("merged") where
        the survivor has one, and moves to the survivor where not. The survivor's instances
        then check their exit rules again: the absorbed profile's orders are theirs now."""
        now = self.clock()
        instances = self.repository.inside_of(self.workspace_id, [survivor_id, absorbed_id])
        held = {(i.journey_id, i.entry_key) for i in instances if i.profile_id == survivor_id}
        for instance in instances:
            if instance.profile_id != absorbed_id:
                continue
            place = (instance.journey_id, instance.entry_key)
            if place in held:
                self.repository.leave(instance.id, None, now, "merged")
            elif self.repository.move_to_profile(instance.id, survivor_id):
                held.add(place)
        survivors = self.repository.inside_of(self.workspace_id, [survivor_id])
        versions = self.definitions.for_instances(survivors)
        person = self.people[survivor_id]
        journeys = self.repository.journeys_by_id(i.journey_id for i in survivors)
        for instance in survivors:
            if journeys[instance.journey_id].status is JourneyStatus.ARCHIVED:
                continue
            reason = exit_reason(
                versions[(instance.journey_id, instance.version)], instance, person
            )
            if reason is not None:
                self.repository.leave(instance.id, None, max(now, instance.entered_at), reason)
