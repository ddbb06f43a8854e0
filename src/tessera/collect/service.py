"""Collect's ingest: the write key behind a request, and its events stored once each or kept
in the quarantine (``tessera.collect.quarantine``) with the reason. Channels and sources are
in ``tessera.collect.sources``.

Every message of a request ends in exactly one of three places: stored (accepted), recognised
as a replay of a stored message (duplicate), or kept in the quarantine with the reason
(rejected). ``accepted + duplicates + rejected == received`` for every request and file.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect import domain
from tessera.collect.domain import Sender
from tessera.collect.errors import InvalidWriteKey
from tessera.collect.quarantine import QuarantineService
from tessera.collect.repository import CollectRepository
from tessera.collect.sources import SourceService
from tessera.identity.graph.intake import IdentityIntake
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.process import PROCESS
from tessera.kit.time import utcnow
from tessera.models.collect import Event
from tessera.models.workspace import ApiKeyKind
from tessera.workspace.errors import InvalidApiKey
from tessera.workspace.service import WorkspaceService

# A write key is looked up once every few seconds per process, not on every request: the key
# lookup, its last-used update and the source lookup were a third of a single event's cost.
# So a revoked write key is refused by every process within this many seconds (write keys
# are public, sit in web pages, and only send events; Segment's edge caches them too). An
# unknown key is never cached, so a new key works at once.
# Entries hold the time they were checked: an entry past SENDER_CACHE_SECONDS is still served
# to concurrent requests while one of them checks the key again. Bounded by count, because the
# keys are whatever strings clients send, and by a generous age past the check.
SENDER_CACHE_SECONDS = 5.0
_senders = PROCESS.ttl_cache("collect.senders", maxsize=10_000, ttl=12 * SENDER_CACHE_SECONDS)
# A source's last_seen_at is written at most this often per process: every request updating
# the same row would serialise all of a source's concurrent requests on its row lock.
SOURCE_SEEN_RESOLUTION_SECONDS = 10.0
# How many of a workspace's newest events ``recent_event_names`` reads.
RECENT_EVENTS = 100_000
_sources_seen = PROCESS.ttl_cache(
    "collect.sources_seen", maxsize=10_000, ttl=SOURCE_SEEN_RESOLUTION_SECONDS
)


def _due_to_touch(source_id: str) -> bool:
    """Whether this process should write the source's last_seen_at now (see the constant)."""
    if source_id in _sources_seen:
        return False
    _sources_seen[source_id] = True
    return True


@dataclass(frozen=True, slots=True)
class RejectedItem:
    index: int
    reason: str
    field: str | None
    quarantine_id: str
    message_id: str | None = None


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[RejectedItem] = field(default_factory=list)
    suppressed: int = 0  # messages of erased people: dropped, never stored
    accepted_ids: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return (
            self.accepted + self.duplicates + len(self.rejected) + self.suppressed == self.received
        )

    def add(self, other: IngestResult) -> None:
        self.received += other.received
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.suppressed += other.suppressed
        self.rejected.extend(other.rejected)
        self.accepted_ids.extend(other.accepted_ids)


class CollectService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = CollectRepository(session)
        self.sources = SourceService(session)
        self.quarantine = QuarantineService(session)

    # Senders ----------------------------------------------------------------------------------

    def sender_for_write_key(self, token: str | None, now: datetime | None = None) -> Sender:
        """The workspace and source behind a write key; refuses unknown and revoked keys.

        Secret keys are refused here: a key that can change a workspace must never be placed
        in a web page, so collection takes public write keys only. A key once found is
        remembered by this process for SENDER_CACHE_SECONDS (see there).
        """
        if not token:
            raise InvalidWriteKey("send the write key as HTTP Basic user, Bearer, or writeKey")
        cached: tuple[float, Sender] | None = _senders.get(token)
        if cached is not None:
            checked_at, sender = cached
            if time.monotonic() - checked_at < SENDER_CACHE_SECONDS:
                return sender
            # This request checks the key again; concurrent ones keep using the entry
            # meanwhile instead of all checking at once. A refusal below forgets it.
            _senders[token] = (time.monotonic(), sender)
        try:
            principal = WorkspaceService(self.session).authenticate_key(token, now)
        except InvalidApiKey:
            _senders.pop(token, None)
            raise InvalidWriteKey("the write key is unknown or revoked") from None
        if principal.kind is not ApiKeyKind.PUBLIC:
            _senders.pop(token, None)
            raise InvalidWriteKey("collection takes a public write key (twk_...)")
        source = self.sources.source_for_key(principal.actor)
        if source is not None:  # committed before this request: safe to remember
            sender = Sender(principal.workspace_id, source.id, source.default_channel)
            _senders[token] = (time.monotonic(), sender)
            return sender
        key = WorkspaceService(self.session).repository.key(principal.workspace_id, principal.actor)
        source = self.sources.add_key_source(
            principal.workspace_id, principal.actor, key.name if key else None
        )
        return Sender(principal.workspace_id, source.id, source.default_channel)

    # Events -----------------------------------------------------------------------------------

    def ingest(
        self,
        sender: Sender,
        messages: Sequence[Any],
        origin: str,
        received_at: datetime | None = None,
        forced_type: str | None = None,
        batch_sent_at: datetime | None = None,
        *,
        identify: bool = True,
    ) -> IngestResult:
        """Store each well-formed message once and quarantine the rest, with reasons.

        Refuses nothing as a whole: a bad message never costs its neighbours. A message whose
        ``messageId`` the workspace already holds is a duplicate, however long ago it came. A
        message naming an erased person anywhere is dropped before its checks (suppressed):
        neither stored nor quarantined, so erasure holds against replays and resends. The
        stored messages go to the identity graph unless ``identify`` is false (messages about
        nobody, such as a store's week of sales).
        """
        received_at = received_at or utcnow()
        result = IngestResult(received=len(messages))
        known = self.sources.known_channels(sender.workspace_id)
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        intake = IdentityIntake(self.session)
        # An erased person's messages are neither stored nor quarantined, whether or not they
        # pass their checks: counted as suppressed, nothing of them is kept (ADR 0020).
        erased = intake.suppressed_indexes(sender.workspace_id, messages)
        result.suppressed = len(erased)
        for index, raw in enumerate(messages):
            if index in erased:
                continue
            clean = domain.clean_message(raw, received_at, forced_type, batch_sent_at)
            if isinstance(clean, domain.Rejection):
                result.rejected.append(
                    self._reject_item(sender, index, raw, clean, origin, kind="event")
                )
                continue
            if clean.message_id in seen:
                result.duplicates += 1
                continue
            seen.add(clean.message_id)
            rows.append(domain.event_row(sender, clean, known, received_at))
        inserted = self.repository.insert_events(rows)
        if identify:
            stored = [r for r in rows if r["message_id"] in inserted]
            intake.enqueue_stitch(sender.workspace_id, stored)
        result.accepted = len(inserted)
        result.duplicates += len(rows) - len(inserted)
        result.accepted_ids = [r["message_id"] for r in rows if r["message_id"] in inserted]
        if sender.source_id and rows and _due_to_touch(sender.source_id):
            self.repository.touch_source(sender.source_id, received_at)
        return result

    def record_messages(
        self,
        sender: Sender,
        messages: Sequence[dict[str, Any]],
        origin: str,
        *,
        identify: bool = True,
    ) -> IngestResult:
        """Store messages Tessera itself derived (e.g. ``Order Completed`` from an order).

        They pass the same checks as anything sent from outside; ``identify`` as ``ingest``.
        """
        return self.ingest(sender, messages, origin, identify=identify)

    def _reject_item(
        self,
        sender: Sender,
        index: int,
        raw: Any,
        rejection: domain.Rejection,
        origin: str,
        kind: str,
    ) -> RejectedItem:
        entry = self.quarantine.keep(
            sender.workspace_id,
            f"{origin} item {index}",
            rejection.reason,
            raw,
            field=rejection.field,
            kind=kind,
            source_id=sender.source_id,
        )
        message_id = raw.get("messageId") if isinstance(raw, dict) else None
        return RejectedItem(
            index=index,
            reason=rejection.reason,
            field=rejection.field,
            quarantine_id=entry.id,
            message_id=str(message_id) if message_id is not None else None,
        )

    def list_events(
        self,
        workspace_id: str,
        cursor: str | None = None,
        limit: int = 50,
        channel: str | None = None,
    ) -> Page[Event]:
        """Stored events, newest first."""
        limit = clamp_limit(limit)
        rows = self.repository.events(workspace_id, decode_cursor(cursor), limit + 1, channel)
        return page_from(rows, limit)

    def find_event(self, workspace_id: str, event_id: str) -> Event | None:
        """One stored event of the workspace; None for another workspace's."""
        return self.repository.event(workspace_id, event_id)

    def events_by_message_id(self, workspace_id: str, message_ids: Sequence[str]) -> list[Event]:
        """The workspace's stored events with these message ids (those it holds), in no order."""
        return list(self.repository.events_by_message_id(workspace_id, message_ids))

    def recent_event_names(self, workspace_id: str, scanned: int = RECENT_EVENTS) -> set[str]:
        """The event names the workspace sent lately: the distinct names among its newest
        ``scanned`` events (100,000 by default), so the question costs the same in a
        workspace of a thousand events and one of a billion. For checking a name someone
        typed (a journey's entry), not for analytics."""
        return self.repository.recent_event_names(workspace_id, scanned)
