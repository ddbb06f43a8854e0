"""Whether a message may go now: the rules the send job applies, in order, each saying go on,
skip (with a reason kept on the row) or hold (quiet hours: decided again later).

1. The person: the profile the message was queued for, followed through merges. An erased
   profile is gone: skipped.
2. The address: the person's emails (or phones), the one in their traits first, then the most
   recently seen. Suppressed addresses (hard bounce, complaint, STOP) are never used, whatever
   the purpose.
3. Consent, for marketing: the newest answer for the address, purpose ``marketing``, channel
   ``email``/``sms`` or ``all``, must be ``granted``. Transactional messages (a receipt) need
   none.
4. The checks higher packages register (``PRE_SEND_CHECKS``): the journey runtime's "still
   inside the journey, and no exit rule holds".
5. The frequency cap, for marketing: no other marketing message of the channel went to the
   person within the cap (16 h email, 24 h SMS by default), across every journey. A capped
   message is skipped, not rescheduled (smart sending): a reminder a day late is worse than none.
   The person's rows are locked first (``lock_for_cap``), so two messages decided at once by
   two workers cannot both pass.
6. Quiet hours, for marketing SMS: allowed only between the workspace's hours (08:00-20:00)
   in the recipient's zones (``message.zones``); outside them the message is held until the
   next allowed time. No zone known means held for an hour at a time, and skipped after a day:
   it fails closed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tessera.customer.privacy import suppression_digest
from tessera.customer.profiles import Person, ProfileService
from tessera.identity.errors import ProfileNotFound
from tessera.identity.graph.service import IdentityService
from tessera.message import domain
from tessera.message.configuration import SendingRules
from tessera.message.repository import MessageRepository
from tessera.message.zones import recipient_zones, window_check
from tessera.models.identity import ConsentStatus, Identifier
from tessera.models.message import Message, MessageChannel, MessagePurpose

PreSendCheck = Callable[[Session, Message], str | None]
# Checks higher packages add (the journey runtime's exit rules): given the message, None to go
# on, or a reason code to skip it with. They run in the send job, just before the provider.
PRE_SEND_CHECKS: list[PreSendCheck] = []

IDENTIFIER_OF_CHANNEL = {MessageChannel.EMAIL: "email", MessageChannel.SMS: "phone"}
TRAIT_OF_CHANNEL = {MessageChannel.EMAIL: "email", MessageChannel.SMS: "phone"}


@dataclass(frozen=True, slots=True)
class Go:
    person: Person
    address: str


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Hold:
    reason: str
    until: datetime
    detail: str


Verdict = Go | Skip | Hold


class SendPolicy:
    """The rules above, read from the database. Never commits, writes nothing."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = MessageRepository(session)
        self.profiles = ProfileService(session)
        self.identity = IdentityService(session)

    def person(self, workspace_id: str, profile_id: str) -> Person | None:
        try:
            return self.profiles.person(workspace_id, profile_id)
        except ProfileNotFound:
            return None

    def addresses(self, person: Person, channel: MessageChannel) -> list[Identifier]:
        """The person's addresses for the channel, the one in their traits first, then the
        most recently seen."""
        kind = IDENTIFIER_OF_CHANNEL[channel]
        found = [i for i in person.identifiers if i.type == kind and not i.is_shared]
        found.sort(key=lambda i: i.last_seen, reverse=True)
        preferred = person.profile.traits.get(TRAIT_OF_CHANNEL[channel])
        found.sort(key=lambda i: 0 if preferred in (i.value, i.raw) else 1)
        return found

    def digest(self, workspace_id: str, identifier_type: str, value: str) -> str:
        return suppression_digest(self.identity.erasure_salt(workspace_id), identifier_type, value)

    def suppression_of(
        self, workspace_id: str, identifiers: Sequence[Identifier]
    ) -> dict[str, str]:
        """Identifier id to the reason its address is suppressed, for those that are."""
        digests = {self.digest(workspace_id, i.type, i.value): i.id for i in identifiers}
        reasons = self.repository.suppressions(workspace_id, list(digests))
        return {digests[d]: reason for d, reason in reasons.items()}

    def is_address_suppressed(self, workspace_id: str, channel: MessageChannel, value: str) -> bool:
        digest = self.digest(workspace_id, IDENTIFIER_OF_CHANNEL[channel], value)
        return bool(self.repository.suppressions(workspace_id, [digest]))

    def consented(self, workspace_id: str, person: Person, channel: MessageChannel) -> set[str]:
        """Ids of the person's identifiers whose newest marketing answer for the channel (or
        for ``all``) is ``granted``."""
        newest: dict[str, tuple[datetime, ConsentStatus]] = {}
        for consent in self.profiles.current_consents(workspace_id, person.identifiers):
            if consent.purpose != "marketing" or consent.channel not in (channel.value, "all"):
                continue
            seen = newest.get(consent.identifier_id)
            if seen is None or consent.recorded_at > seen[0]:
                newest[consent.identifier_id] = (consent.recorded_at, consent.status)
        return {i for i, (_at, status) in newest.items() if status is ConsentStatus.GRANTED}

    def may_market(self, workspace_id: str, profile_id: str, channel: MessageChannel) -> bool:
        """Whether marketing on the channel could go to the person now, consent and
        suppression considered (the journey's "consented" condition)."""
        person = self.person(workspace_id, profile_id)
        if person is None:
            return False
        addresses = self.addresses(person, channel)
        suppressed = self.suppression_of(workspace_id, addresses)
        granted = self.consented(workspace_id, person, channel)
        return any(a.id in granted and a.id not in suppressed for a in addresses)

    def lock_for_cap(self, row: Message, rules: SendingRules, now: datetime) -> None:
        """Before a marketing message is decided, lock the person's rows of its channel that
        are pending or went out within the cap, in primary-key order (this row among them):
        two of the person's messages decided at once then see each other, one after the
        other, and never wait on each other the other way round."""
        cap = rules.email_cap if row.channel is MessageChannel.EMAIL else rules.sms_cap
        if row.purpose is not MessagePurpose.MARKETING or cap is None:
            return
        person = self.person(row.workspace_id, row.profile_id)
        profile_ids = person.profile_ids if person else [row.profile_id]
        self.repository.lock_person_channel(row.workspace_id, profile_ids, row.channel, now - cap)

    def verdict(self, row: Message, rules: SendingRules, now: datetime) -> Verdict:
        """Go, skip or hold ``row`` now (the rules in the module docstring, in order)."""
        person = self.person(row.workspace_id, row.profile_id)
        if person is None:
            return Skip(domain.NO_PROFILE, f"profile {row.profile_id} is erased or unknown")
        channel, is_marketing = row.channel, row.purpose is MessagePurpose.MARKETING
        addresses = self.addresses(person, channel)
        if not addresses:
            kind = IDENTIFIER_OF_CHANNEL[channel]
            return Skip(domain.NO_ADDRESS, f"the person has no {kind} to send to")
        suppressed = self.suppression_of(row.workspace_id, addresses)
        usable = [a for a in addresses if a.id not in suppressed]
        if not usable:
            reasons = ", ".join(sorted(set(suppressed.values())))
            return Skip(domain.SUPPRESSED, f"every address of the person is suppressed ({reasons})")
        if is_marketing:
            granted = self.consented(row.workspace_id, person, channel)
            usable = [a for a in usable if a.id in granted]
            if not usable:
                return Skip(domain.NO_CONSENT, f"no granted marketing consent for {channel.value}")
        address = usable[0].value
        for check in PRE_SEND_CHECKS:
            reason = check(self.session, row)
            if reason:
                return Skip(reason[:60], f"a pre-send check said {reason}")
        if is_marketing:
            cap = rules.email_cap if channel is MessageChannel.EMAIL else rules.sms_cap
            if cap is not None:
                last = self.repository.last_marketing_out(
                    row.workspace_id, person.profile_ids, channel, now - cap, row.id
                )
                if last is not None and last.sending_at is not None:
                    return Skip(
                        domain.FREQUENCY_CAP,
                        f"{last.id} went out at {last.sending_at.isoformat()}, within "
                        f"{int(cap.total_seconds() // 3600)} h",
                    )
        if is_marketing and channel is MessageChannel.SMS:
            held = self._quiet_hours(row, person, address, rules, now)
            if held is not None:
                return held
        return Go(person, address)

    def _quiet_hours(
        self, row: Message, person: Person, phone: str, rules: SendingRules, now: datetime
    ) -> Verdict | None:
        zones = recipient_zones(
            person.profile.traits,
            phone,
            rules.default_timezone,
            window_check(now, rules.quiet_start, rules.quiet_end),
        )
        if zones is None:
            first_held = row.held_at if row.reason == domain.TIMEZONE_UNKNOWN else None
            if first_held is not None and now - first_held >= domain.UNKNOWN_ZONE_GIVE_UP:
                return Skip(domain.TIMEZONE_UNKNOWN, "no time zone became known within a day")
            return Hold(
                domain.TIMEZONE_UNKNOWN,
                now + domain.UNKNOWN_ZONE_RETRY,
                "no time zone is known for the person: marketing SMS waits",
            )
        allowed = domain.next_allowed(now, zones.zones, rules.quiet_start, rules.quiet_end)
        assert allowed is not None, "recipient_zones keeps only zones sharing an allowed hour"
        if allowed > now:
            names = ", ".join(z.key for z in zones.zones[:3])
            return Hold(
                domain.QUIET_HOURS,
                allowed,
                f"quiet hours in {names} (from the {zones.source}); allowed from "
                f"{allowed.isoformat()}",
            )
        return None
