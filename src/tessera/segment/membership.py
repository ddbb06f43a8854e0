"""Keeping segment membership true as data arrives, and saying so on the timeline.

``recompute`` evaluates every segment of the workspace for some people and writes only the
differences: a person who now matches is inserted (``ON CONFLICT DO NOTHING``), one who no
longer does is deleted, and whichever statement changed a row records ``Segment Entered`` or
``Segment Exited`` (with the segment's name and id) through Collect, as the message package
records deliveries: the events are stitched to the person like any other, so journeys enter
on them (a ``segment`` entry is an entry on ``Segment Entered`` with that name) and they show on
the timeline. Before reading a person's data the recompute upserts their evaluation row, whose
lock makes two workers recomputing one person take turns; the second reads what the first
committed, so the membership left behind is the newest data's.

Events a segment records are left out of every rule (``segment:`` message ids), so a rule about
them cannot make membership flip on its own records. Audiences fed by a segment follow it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.customer.profiles import Person, ProfileService
from tessera.identity.errors import ProfileNotFound
from tessera.kit.time import Clock, ensure_utc, utcnow
from tessera.models.order import OrderStatus
from tessera.models.segment import Segment
from tessera.segment import domain
from tessera.segment.repository import SegmentRepository
from tessera.segment.rules import Rule, parse_rule

ENTERED = "Segment Entered"
EXITED = "Segment Exited"
MESSAGE_PREFIX = "segment:"
CHANNEL = "segment"
ACTOR = "segment"


@dataclass
class Changes:
    entered: list[tuple[str, str]] = field(default_factory=list)  # (segment id, profile id)
    exited: list[tuple[str, str]] = field(default_factory=list)
    forgotten: int = 0


def is_own_event(message_id: str) -> bool:
    return message_id.startswith(MESSAGE_PREFIX)


class Membership:
    """Recomputes people's memberships on the caller's session. Never commits."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = SegmentRepository(session)
        self.profiles = ProfileService(session)

    # Reading a person --------------------------------------------------------------------------

    def activity(self, workspace_id: str, person: Person) -> domain.Activity:
        """Everything a rule can ask about ``person``: traits, events (a segment's own left
        out), and orders on every channel (connector orders and those only their events
        report, counted once)."""
        rows = [
            r
            for r in self.repository.events(workspace_id, person.user_ids, person.anonymous_ids)
            if not is_own_event(r.message_id)
        ]
        events = [domain.Happened(r.name, r.channel, ensure_utc(r.at)) for r in rows]
        channel_of_order = {str(r.order_id): r.channel for r in rows if r.order_id is not None}
        orders = [
            domain.Purchase(
                channel=o.channel,
                at=ensure_utc(o.placed_at),
                amount=o.total - o.refunded_total,
                currency=o.currency,
                is_cancelled=o.status is OrderStatus.CANCELLED,
            )
            for o in self.repository.orders(workspace_id, person.order_ids)
        ]
        for sale in self.profiles.reported_orders(workspace_id, person):
            channel = channel_of_order.get(sale.order_id, "web")
            orders.append(domain.Purchase(channel, sale.at, sale.amount, sale.currency))
        return domain.Activity(dict(person.profile.traits or {}), events, orders)

    # Recomputing -------------------------------------------------------------------------------

    def recompute(self, workspace_id: str, profile_ids: Iterable[str]) -> Changes:
        """Bring these people's memberships of every segment of the workspace up to date.

        An id merged into another stands for its survivor (its own memberships go); an erased
        or unknown one has its memberships removed. People are taken in id order, so two
        recomputes of overlapping people lock them in the same order.
        """
        segments = [(s, parse_rule(s.rule)) for s in self.repository.segments(workspace_id)]
        changes = Changes()
        survivors: set[str] = set()
        for profile_id in sorted(set(profile_ids)):
            live = self._live(workspace_id, profile_id)
            if live != profile_id:
                self._forget(workspace_id, profile_id, changes)
            if live is not None:
                survivors.add(live)
        if not segments:
            return changes
        for profile_id in sorted(survivors):
            self._recompute_one(workspace_id, profile_id, segments, changes)
        return changes

    def _live(self, workspace_id: str, profile_id: str) -> str | None:
        """The live profile ``profile_id`` stands for now, None when erased or unknown."""
        try:
            return self.profiles.resolve(workspace_id, profile_id).id
        except ProfileNotFound:
            return None

    def _still_live(self, workspace_id: str, profile_id: str) -> bool:
        """Whether ``profile_id`` is live as the database says now, not as this session read
        it earlier: the profile row is read again."""
        try:
            cached = self.profiles.resolve(workspace_id, profile_id)
        except ProfileNotFound:
            return False
        self.session.expire(cached)
        return self._live(workspace_id, profile_id) == profile_id

    def _forget(self, workspace_id: str, profile_id: str, changes: Changes) -> None:
        """Remove a merged-away or erased person's memberships, after taking their evaluation
        row's lock: a recompute that began while they were live and is writing for them now
        holds it, so its rows are committed (and removed here) before this delete reads."""
        self.repository.lock_person(workspace_id, profile_id, self.clock())
        changes.forgotten += self.repository.forget_profiles(workspace_id, [profile_id])

    def _recompute_one(
        self,
        workspace_id: str,
        profile_id: str,
        segments: Sequence[tuple[Segment, Rule]],
        changes: Changes,
    ) -> None:
        now = self.clock()
        self.repository.lock_person(workspace_id, profile_id, now)
        # Merged away or erased since it was resolved (before the lock)? Then a merge's own
        # recompute may already have run, and nothing written here would be taken back.
        if not self._still_live(workspace_id, profile_id):
            changes.forgotten += self.repository.forget_profiles(workspace_id, [profile_id])
            return
        person = self.profiles.person(workspace_id, profile_id)
        activity = self.activity(workspace_id, person)
        held = self.repository.memberships_of(workspace_id, profile_id)
        for segment, rule in segments:
            should = domain.matches(rule, activity, now)
            if should and segment.id not in held:
                if self.repository.enter(workspace_id, segment.id, profile_id, now):
                    changes.entered.append((segment.id, profile_id))
                    self._announce(person, segment, ENTERED, now)
                    self._feed_audiences(workspace_id, segment.id, profile_id, True, now)
            elif (
                not should and segment.id in held and self.repository.leave(segment.id, profile_id)
            ):
                changes.exited.append((segment.id, profile_id))
                self._announce(person, segment, EXITED, now)
                self._feed_audiences(workspace_id, segment.id, profile_id, False, now)

    def _feed_audiences(
        self, workspace_id: str, segment_id: str, profile_id: str, entered: bool, at: datetime
    ) -> None:
        for audience in self.repository.audiences_fed_by(segment_id):
            if entered:
                self.repository.add_to_audience(workspace_id, audience.id, profile_id, ACTOR, at)
            else:
                self.repository.remove_from_audience(audience.id, profile_id)

    def _announce(self, person: Person, segment: Segment, event: str, at: datetime) -> None:
        """Record ``event`` on the person's timeline, named so the stitch finds them: their
        user id, else an anonymous id of theirs, else an email or phone of theirs."""
        what = "entered" if event == ENTERED else "exited"
        message_id = f"{MESSAGE_PREFIX}{segment.id}:{person.profile.id}:{what}:{at:%Y%m%dT%H%M%S%f}"
        payload: dict[str, Any] = {
            "type": "track",
            "event": event,
            "messageId": message_id,
            "timestamp": at.isoformat(),
            "context": {"channel": CHANNEL},
            "properties": {"segment": segment.name, "segment_id": segment.id},
        }
        if person.user_ids:
            payload["userId"] = person.user_ids[0]
        elif person.anonymous_ids:
            payload["anonymousId"] = person.anonymous_ids[0]
        else:
            traits = {
                kind: person.values(kind)[0] for kind in ("email", "phone") if person.values(kind)
            }
            if not traits:
                return  # nothing Collect could join them by: the membership row still says it
            payload["anonymousId"] = f"{MESSAGE_PREFIX}{person.profile.id}"
            payload["context"]["traits"] = traits
        sender = Sender(person.profile.workspace_id, None, CHANNEL)
        CollectService(self.session).record_messages(sender, [payload], f"segment {segment.id}")

    # Whole workspace ---------------------------------------------------------------------------

    def refresh_page(self, workspace_id: str, after: str | None, limit: int = 200) -> str | None:
        """Recompute one page of the workspace's active people (for rules with a window,
        which time alone changes); returns the cursor of the next page, or None at the end,
        where each segment's size of the day is recorded."""
        page = self.repository.active_profile_ids(workspace_id, after, limit)
        if page:
            self.recompute(workspace_id, page)
        if len(page) == limit:
            return page[-1]
        now = self.clock()
        segments = self.repository.segments(workspace_id)
        counts = self.repository.member_counts([s.id for s in segments])
        for segment in segments:
            self.repository.record_size(segment.id, now.date(), counts.get(segment.id, 0))
        self.repository.mark_refreshed([s.id for s in segments], now)
        return None

    def preview(
        self, workspace_id: str, rule: Rule, scan: int = 5000, sample: int = 10
    ) -> tuple[int, int, list[str]]:
        """(matching, scanned, a sample of matching ids) over the first ``scan`` active
        people, without writing anything."""
        now = self.clock()
        ids = self.repository.active_profile_ids(workspace_id, None, scan)
        found: list[str] = []
        for profile_id in ids:
            person = self.profiles.person(workspace_id, profile_id)
            if domain.matches(rule, self.activity(workspace_id, person), now):
                found.append(profile_id)
        return len(found), len(ids), found[:sample]
