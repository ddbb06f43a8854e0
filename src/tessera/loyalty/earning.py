"""Points that follow what people do: orders on any channel, refunds and cancellations,
registered retail purchases, merges, expiry, and the tier each move leads to.

Orders reach loyalty the way they reach journeys: the orders service stores ``Order
Completed`` / ``Order Refunded`` / ``Order Cancelled`` through Collect, Identify stitches them
to a profile and announces ``events.resolved``; ``announce`` queues a ``loyalty.events_arrived``
job for the batches that hold order or registration events, so ingestion never waits on
loyalty and a loyalty failure never rolls back a stitch. Each entry's idempotency key is made
from the event's message id (``earn:order:<order id>:completed``,
``reverse:order:<order id>:refund:<refund id>``), so a re-delivered order earns once.

A tier is recomputed after every move; a change is stored as a ``Loyalty Tier Changed`` event
on the person's timeline (message id from the entry that caused it), which journeys can enter
on like any other event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.customer.profiles import ProfileService
from tessera.identity.errors import ProfileNotFound
from tessera.identity.graph.service import IdentityService
from tessera.job.service import JobService
from tessera.kit.ids import new_id
from tessera.kit.time import Clock, utcnow
from tessera.loyalty import domain
from tessera.loyalty.repository import LoyaltyRepository
from tessera.loyalty.service import expiry_of, tiers_of
from tessera.models.collect import Event
from tessera.models.loyalty import EntryKind, LoyaltyMember, LoyaltyProgram
from tessera.order.errors import OrderNotFound
from tessera.order.service import OrderService

EARN_JOB = "loyalty.events_arrived"
MERGE_JOB = "loyalty.profiles_merged"
UNMERGE_JOB = "loyalty.profiles_unmerged"
EXPIRY_JOB = "loyalty.points_expired"
TIER_EVENT = "Loyalty Tier Changed"
REGISTERED_EVENT = "Product Registered"
EXPIRY_LOOKBACK = timedelta(days=7)  # a worker down this long still expires what fell due
EVENTS_PER_JOB = 500
# Earning first, then what takes back: a cancelled order's two events share a timestamp.
ORDER_EVENTS = {"Order Completed": 0, REGISTERED_EVENT: 0, "Order Refunded": 1,
                "Order Cancelled": 2}  # fmt: skip


def _concerns_loyalty(message_id: str) -> bool:
    return message_id.startswith(("order:", "registration:"))


def announce(session: Session, workspace_id: str, resolved: Sequence[Sequence[str]]) -> int:
    """Queue earning jobs for the stitched order and registration events of a workspace with
    an enabled program; returns how many jobs."""
    pairs = [[str(m), str(p)] for m, p in resolved if _concerns_loyalty(str(m))]
    if not pairs:
        return 0
    program = LoyaltyRepository(session).program(workspace_id)
    if program is None or not program.is_enabled:
        return 0
    chunks = [pairs[i : i + EVENTS_PER_JOB] for i in range(0, len(pairs), EVENTS_PER_JOB)]
    return JobService(session).enqueue_many(
        EARN_JOB,
        [{"workspace_id": workspace_id, "events": chunk} for chunk in chunks],
        workspace_id=workspace_id,
    )


def announce_merge(session: Session, payload: dict[str, Any]) -> None:
    """Queue loyalty's merge job for a ``customer.merged`` announcement."""
    workspace_id = payload.get("workspace_id")
    if workspace_id is None or LoyaltyRepository(session).program(workspace_id) is None:
        return
    JobService(session).enqueue(
        MERGE_JOB,
        {
            "workspace_id": workspace_id,
            "merge_id": payload["merge_id"],
            "survivor_profile_id": payload["survivor_profile_id"],
            "absorbed_profile_id": payload["absorbed_profile_id"],
        },
        workspace_id=workspace_id,
        idempotency_key=f"loyalty-merge:{payload['merge_id']}",
    )


def announce_unmerge(session: Session, payload: dict[str, Any]) -> None:
    """Queue loyalty's unmerge job for a ``customer.unmerged`` announcement."""
    workspace_id = payload.get("workspace_id")
    if workspace_id is None or LoyaltyRepository(session).program(workspace_id) is None:
        return
    JobService(session).enqueue(
        UNMERGE_JOB,
        {"workspace_id": workspace_id, "merge_id": payload["merge_id"]},
        workspace_id=workspace_id,
        idempotency_key=f"loyalty-unmerge:{payload['merge_id']}",
    )


class Earning:
    """Points moved by what happened, on the caller's session. Never commits."""

    def __init__(self, session: Session, workspace_id: str, clock: Clock = utcnow) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.clock = clock
        self.repository = LoyaltyRepository(session)

    def _program(self) -> LoyaltyProgram | None:
        program = self.repository.program(self.workspace_id)
        return program if program is not None and program.is_enabled else None

    def _live(self, profile_id: str) -> str | None:
        try:
            return IdentityService(self.session).resolve(self.workspace_id, profile_id).id
        except ProfileNotFound:
            return None  # erased since: nothing of theirs is kept

    # Events ----------------------------------------------------------------------------------

    def events_arrived(self, resolved: Sequence[Sequence[str]]) -> int:
        """Earn and reverse for stitched events, given as [message id, profile id] pairs, in
        time order; returns how many entries were written. Safe to run twice."""
        program = self._program()
        if program is None:
            return 0
        profile_of = {str(m): str(p) for m, p in resolved}
        events = CollectService(self.session).events_by_message_id(
            self.workspace_id, sorted(profile_of)
        )
        events = [e for e in events if e.type == "track" and (e.event or "") in ORDER_EVENTS]
        events.sort(key=lambda e: (e.timestamp, ORDER_EVENTS[e.event or ""], e.message_id))
        registrations = {
            r.message_id: r
            for r in self.repository.registrations_by_message(
                self.workspace_id, [e.message_id for e in events]
            )
        }
        written = 0
        for event in events:
            live = self._live(profile_of[event.message_id])
            if live is None:
                continue
            if event.event == REGISTERED_EVENT:
                registration = registrations.get(event.message_id)
                if registration is None:
                    continue
                registration.profile_id = live
                written += self.earn(
                    program, live, f"registration:{registration.id}", registration.points,
                    "registration", registration.id, event.timestamp,
                    {"sku": registration.sku, "retailer": registration.retailer},
                )  # fmt: skip
            else:
                written += self._order_event(program, live, event)
        return written

    def _order_event(self, program: LoyaltyProgram, profile_id: str, event: Event) -> int:
        """Earn or take back for one order event. Amounts come from the stored order, never
        from the event, so an event sent through a write key that merely looks like an
        order's earns nothing unless it names a real order of this workspace."""
        parts = event.message_id.split(":")
        if len(parts) < 3 or parts[0] != "order":
            return 0
        order_id = parts[1]
        try:
            order, _lines, refunds = OrderService(self.session).get(self.workspace_id, order_id)
        except OrderNotFound:
            return 0
        if order.currency != program.currency:
            return 0  # points are per unit of the program's currency
        if event.event == "Order Completed":
            revenue = order.subtotal - order.discount
            detail = {
                "order_number": order.order_number or order.external_id,
                "channel": order.channel,
                "total": order.total,
                "revenue": revenue,
            }
            points = domain.points_for(revenue, order.currency, program.points_per_unit)
            return self.earn(
                program, profile_id, f"earn:{event.message_id}", points, "order", order_id,
                event.timestamp, detail,
            )  # fmt: skip
        earned = self.repository.entry_by_key(self.workspace_id, f"earn:order:{order_id}:completed")
        if earned is None or earned.points <= 0:
            return 0
        before = self.repository.reversed_for(self.workspace_id, order_id)
        if event.event == "Order Cancelled":
            points, refund = max(0, earned.points - before.points), 0
            source = "cancellation"
        else:
            external_id = ":".join(parts[3:]) if parts[2] == "refund" else ""
            refund = next((r.amount for r in refunds if r.external_id == external_id), 0)
            total = int(earned.detail.get("total") or 0)
            points = domain.reversal_for(
                earned.points, total, before.refunded, refund, before.points
            )
            source = "refund"
        return self.take_back(
            profile_id, f"reverse:{event.message_id}", points, source, order_id,
            event.timestamp, {"refund_amount": refund},
        )  # fmt: skip

    # Writing ---------------------------------------------------------------------------------

    def earn(
        self,
        program: LoyaltyProgram,
        profile_id: str,
        key: str,
        points: int,
        source: str,
        reference: str,
        at: datetime,
        detail: dict[str, Any],
    ) -> int:
        """Write an earned entry once per key (nothing for zero points); 1 if written."""
        if points <= 0:
            return 0
        member = self.repository.locked_member(self.workspace_id, profile_id, self.clock())
        written = self.repository.insert_entry(
            self._entry(member, EntryKind.EARNED, points, key, source, reference, at, detail)
            | {"expires_at": expiry_of(program, at)}
        )
        if written is None:
            return 0
        self.update_tier(program, member, written)
        return 1

    def take_back(
        self,
        profile_id: str,
        key: str,
        points: int,
        source: str,
        reference: str,
        at: datetime,
        detail: dict[str, Any],
    ) -> int:
        """Write a reversal once per key. It may leave the balance below zero (points spent
        before the refund came): the next earnings repay it."""
        if points <= 0:
            return 0
        member = self.repository.locked_member(self.workspace_id, profile_id, self.clock())
        written = self.repository.insert_entry(
            self._entry(member, EntryKind.REVERSED, -points, key, source, reference, at, detail)
        )
        if written is None:
            return 0
        program = self._program()
        if program is not None:
            self.update_tier(program, member, written)
        return 1

    def _entry(
        self,
        member: LoyaltyMember,
        kind: EntryKind,
        points: int,
        key: str,
        source: str,
        reference: str,
        at: datetime,
        detail: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "id": new_id("lle"),
            "workspace_id": self.workspace_id,
            "member_id": member.id,
            "kind": kind,
            "points": points,
            "idempotency_key": key,
            "source": source,
            "reference": reference,
            "detail": detail,
            "occurred_at": at,
            "expires_at": None,
            "created_at": self.clock(),
        }

    # Tiers -----------------------------------------------------------------------------------

    def update_tier(self, program: LoyaltyProgram, member: LoyaltyMember, cause: str) -> None:
        """Recompute the member's tier now; a change is stored and announced as an event."""
        now = self.clock()
        points = domain.tier_points(self.repository.movements(member.id), now, program.tier_basis)
        tier = domain.tier_for(points, tiers_of(program))
        if tier == member.tier:
            return
        before = member.tier
        self.repository.set_tier(member.id, tier, now)
        self._announce_tier(member, before, tier, points, cause, now)

    def _announce_tier(
        self,
        member: LoyaltyMember,
        before: str | None,
        tier: str | None,
        points: int,
        cause: str,
        now: datetime,
    ) -> None:
        try:
            person = ProfileService(self.session).person(self.workspace_id, member.profile_id)
        except ProfileNotFound:
            return
        payload: dict[str, Any] = {
            "type": "track",
            "event": TIER_EVENT,
            "messageId": f"loyalty:{member.id}:tier:{cause}",
            "timestamp": now.isoformat(),
            "properties": {"previous_tier": before, "tier": tier, "tier_points": points},
        }
        if person.user_ids:
            payload["userId"] = person.user_ids[0]
        elif person.anonymous_ids:
            payload["anonymousId"] = person.anonymous_ids[0]
        else:
            emails = person.values("email")
            payload["anonymousId"] = f"loyalty:{person.profile.id}"
            if emails:
                payload["context"] = {"traits": {"email": emails[0]}}
        sender = Sender(self.workspace_id, None, None)
        CollectService(self.session).record_messages(sender, [payload], f"loyalty {member.id}")

    # Merges and expiry -----------------------------------------------------------------------

    def profiles_merged(
        self, survivor_id: str, absorbed_id: str, merge_id: str | None = None
    ) -> int:
        """Two profiles became one: the absorbed member's entries and codes follow the
        survivor, whose tier is recomputed; each moved entry is remembered with ``merge_id``
        so an unmerge can move it back. Returns how many entries moved.

        The identity graph's workspace lock is held first, so an unmerge of the same merge
        either committed before (the absorbed profile is live again: nothing moves) or waits
        until these moves and their records commit (and its own job then finds them)."""
        IdentityService(self.session).lock(self.workspace_id)
        absorbed = self.repository.member(self.workspace_id, absorbed_id)
        if absorbed is None:
            return 0
        live = self._live(survivor_id)
        if live is None or live == absorbed_id or self._live(absorbed_id) == absorbed_id:
            return 0
        now = self.clock()
        # Locked in id order, so two merges of the same pair never wait on each other.
        first, second = sorted([absorbed_id, live])
        locked = {
            p: self.repository.locked_member(self.workspace_id, p, now) for p in (first, second)
        }
        moved = self.repository.move_member(locked[absorbed_id], locked[live], merge_id, now)
        survivor = self.repository.member(self.workspace_id, live)
        program = self._program()
        if survivor is not None and program is not None:
            self.update_tier(program, survivor, f"merge:{absorbed_id}")
        return moved

    def profiles_unmerged(self, merge_id: str) -> int:
        """A merge was undone: the entries it moved (and the codes they paid for) go back to
        the profile each came from (or the one that profile has since become), and both sides'
        tiers are recomputed. Every balance stays the sum of its member's entries, and the
        workspace's total is unchanged. Entries written after the merge stay where they are.
        Returns how many entries moved; a second run finds none."""
        transfers = self.repository.transfers(self.workspace_id, merge_id)
        if not transfers:
            return 0
        now = self.clock()
        by_origin: dict[str, list[str]] = {}
        for transfer in transfers:
            by_origin.setdefault(transfer.from_profile_id, []).append(transfer.entry_id)
        holders = {transfer.member_id for transfer in transfers}
        targets = {origin: self._live(origin) for origin in by_origin}
        holder_profiles = {
            member.profile_id
            for member in (self.repository.member_by_id(m) for m in holders)
            if member is not None
        }
        # Every member concerned locked in profile id order (as merges lock theirs).
        involved = sorted(holder_profiles | {t for t in targets.values() if t is not None})
        locked = {p: self.repository.locked_member(self.workspace_id, p, now) for p in involved}
        moved = 0
        for origin, entry_ids in sorted(by_origin.items()):
            target = targets[origin]
            if target is None:  # erased since: what was theirs stays with who holds it
                continue
            moved += self.repository.return_entries(
                self.workspace_id, merge_id, entry_ids, locked[target]
            )
        program = self._program()
        if program is not None:
            for profile_id in involved:
                member = self.repository.member(self.workspace_id, profile_id)
                if member is not None:
                    self.update_tier(program, member, f"unmerge:{merge_id}")
        return moved

    def expire(self) -> int:
        """Write the expiry of every lot that fell due in the last week and was not spent
        (first in, first out); returns how many members lost points. Safe to run twice."""
        program = self._program()
        if program is None:
            return 0
        now = self.clock()
        profiles = self.repository.members_with_lots_expiring(
            self.workspace_id, now - EXPIRY_LOOKBACK, now
        )
        count = 0
        for profile_id in profiles:
            member = self.repository.locked_member(self.workspace_id, profile_id, now)
            points = domain.expiring(self.repository.movements(member.id), now)
            if points <= 0:
                continue
            key = f"expire:{member.id}:{now:%Y%m%dT%H%M}"
            written = self.repository.insert_entry(
                self._entry(member, EntryKind.EXPIRED, -points, key, "expiry", member.id, now, {})
            )
            if written is not None:
                count += 1
                self.update_tier(program, member, written)
        return count
