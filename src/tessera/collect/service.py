"""Collect's use cases: accept events, keep what is refused, replay what was fixed.

Every message of a request ends in exactly one of three places: stored (accepted), recognised
as a replay of a stored message (duplicate), or kept in the quarantine with the reason
(rejected). ``accepted + duplicates + rejected == received`` for every request and file.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect import domain
from tessera.collect.errors import (
    InvalidWriteKey,
    QuarantineEntryNotFound,
    QuarantineEntryResolved,
    UnknownChannel,
)
from tessera.collect.repository import CollectRepository
from tessera.db.statements import insert_ignoring_conflicts
from tessera.identity.intake import IdentityIntake
from tessera.kit.errors import InvalidInput
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.collect import (
    Channel,
    ChannelKind,
    Event,
    QuarantineEntry,
    QuarantineStatus,
    Source,
    SourceKind,
)
from tessera.models.workspace import ApiKeyKind
from tessera.workspace.errors import InvalidApiKey
from tessera.workspace.service import WorkspaceService

RAW_LIMIT = 64 * 1024  # bytes of a refused payload kept in the quarantine
CHANNEL_KEY_LENGTH = 80  # channel.key's column
DEFAULT_CHANNELS: tuple[tuple[str, ChannelKind, str], ...] = (
    ("web", ChannelKind.WEB, "Website"),
    ("app", ChannelKind.APP, "Mobile app"),
    ("tiktok_shop", ChannelKind.TIKTOK_SHOP, "TikTok Shop"),
    ("instagram", ChannelKind.INSTAGRAM, "Instagram"),
    ("amazon", ChannelKind.AMAZON, "Amazon"),
    ("email", ChannelKind.EMAIL, "Email"),
    ("sms", ChannelKind.SMS, "SMS"),
)
_CHANNEL_CACHE_SECONDS = 5.0
_channel_cache: dict[str, tuple[float, frozenset[str]]] = {}
_channel_cache_lock = threading.Lock()
# A write key is looked up once every few seconds per process, not on every request: the key
# lookup, its last-used update and the source lookup were a third of a single event's cost.
# So a revoked write key is refused by every process within this many seconds (write keys
# are public, sit in web pages, and only send events; Segment's edge caches them too). An
# unknown key is never cached, so a new key works at once.
SENDER_CACHE_SECONDS = 5.0
_sender_cache: dict[str, tuple[float, Sender]] = {}
# A source's last_seen_at is written at most this often per process: every request updating
# the same row would serialise all of a source's concurrent requests on its row lock.
SOURCE_SEEN_RESOLUTION_SECONDS = 10.0
_source_seen: dict[str, float] = {}


def _due_to_touch(source_id: str) -> bool:
    """Whether this process should write the source's last_seen_at now (see the constant)."""
    now = time.monotonic()
    last = _source_seen.get(source_id)
    if last is not None and now - last < SOURCE_SEEN_RESOLUTION_SECONDS:
        return False
    _source_seen[source_id] = now
    return True


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a request: the workspace and the source behind a write key or connector."""

    workspace_id: str
    source_id: str | None
    default_channel: str | None = None


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


def raw_text(payload: Any) -> tuple[str, bool]:
    """A refused payload as text for the quarantine, cut at 64 KB; (text, was_cut)."""
    if isinstance(payload, bytes):
        data = payload
    elif isinstance(payload, str):
        data = payload.encode(errors="replace")
    else:
        try:
            data = json.dumps(payload, ensure_ascii=False, default=str).encode(errors="replace")
        except RecursionError:  # parse_json refuses such bodies; other callers may not
            data = b"(nested too deeply to keep as text)"
    cut = len(data) > RAW_LIMIT
    # PostgreSQL text cannot hold NUL; JSON text never has a bare one, so nothing is lost.
    return data[:RAW_LIMIT].decode("utf-8", errors="replace").replace("\x00", "\ufffd"), cut


# A replayer takes a fixed payload of a quarantined record and applies it through the right
# connector; connectors register one per quarantine kind (``order:shopify``, ``row:amazon``).
Replayer = Callable[[Session, QuarantineEntry, Any], str]
REPLAYERS: dict[str, Replayer] = {}


def replayer(kind: str) -> Callable[[Replayer], Replayer]:
    def register(func: Replayer) -> Replayer:
        REPLAYERS[kind] = func
        return func

    return register


@dataclass(frozen=True, slots=True)
class HourlyCount:
    hour: datetime  # start of the hour, UTC
    channel: str
    count: int


@dataclass(frozen=True, slots=True)
class ChannelActivity:
    key: str
    name: str
    kind: str
    events_last_day: int
    last_event_at: datetime | None


@dataclass(frozen=True, slots=True)
class SourceActivity:
    id: str
    name: str
    kind: str
    default_channel: str | None
    events_last_day: int
    open_quarantine: int
    last_seen_at: datetime | None


@dataclass(frozen=True)
class Activity:
    """What the Sources page shows: per channel and source, volume, last seen and errors."""

    channels: list[ChannelActivity]
    sources: list[SourceActivity]
    hourly: list[HourlyCount]
    unattributed_quarantine: int


class CollectService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = CollectRepository(session)

    # Senders ----------------------------------------------------------------------------------

    def sender_for_write_key(self, token: str | None, now: datetime | None = None) -> Sender:
        """The workspace and source behind a write key; refuses unknown and revoked keys.

        Secret keys are refused here: a key that can change a workspace must never be placed
        in a web page, so collection takes public write keys only. A key once found is
        remembered by this process for SENDER_CACHE_SECONDS (see there).
        """
        if not token:
            raise InvalidWriteKey("send the write key as HTTP Basic user, Bearer, or writeKey")
        cached = _sender_cache.get(token)
        if cached is not None:
            checked_at, sender = cached
            if time.monotonic() - checked_at < SENDER_CACHE_SECONDS:
                return sender
            # This request checks the key again; concurrent ones keep using the entry
            # meanwhile instead of all checking at once. A refusal below forgets it.
            _sender_cache[token] = (time.monotonic(), sender)
        try:
            principal = WorkspaceService(self.session).authenticate_key(token, now)
        except InvalidApiKey:
            _sender_cache.pop(token, None)
            raise InvalidWriteKey("the write key is unknown or revoked") from None
        if principal.kind is not ApiKeyKind.PUBLIC:
            _sender_cache.pop(token, None)
            raise InvalidWriteKey("collection takes a public write key (twk_...)")
        source = self.repository.source_for_key(principal.actor)
        if source is not None:  # committed before this request: safe to remember
            sender = Sender(principal.workspace_id, source.id, source.default_channel)
            _sender_cache[token] = (time.monotonic(), sender)
            return sender
        key = WorkspaceService(self.session).repository.key(principal.workspace_id, principal.actor)
        insert_ignoring_conflicts(
            self.session,
            Source,
            [
                {
                    "workspace_id": principal.workspace_id,
                    "kind": SourceKind.SEGMENT,
                    # The key's id keeps the name unique (two keys may share a name).
                    "name": f"{key.name if key else 'write key'} ({principal.actor})",
                    "api_key_id": principal.actor,
                    "settings": {},
                }
            ],
            ("api_key_id",),
        )
        source = self.repository.source_for_key(principal.actor)
        assert source is not None
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
    ) -> IngestResult:
        """Store each well-formed message once and quarantine the rest, with reasons.

        Refuses nothing as a whole: a bad message never costs its neighbours. A message whose
        ``messageId`` the workspace already holds is a duplicate, however long ago it came.
        """
        received_at = received_at or utcnow()
        result = IngestResult(received=len(messages))
        known = self.known_channels(sender.workspace_id)
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, raw in enumerate(messages):
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
            rows.append(self._row(sender, clean, known, received_at))
        intake = IdentityIntake(self.session)
        erased = intake.suppressed_indexes(sender.workspace_id, [r["payload"] for r in rows])
        if erased:  # an erased person's events are not stored again, nor counted as refused
            result.suppressed = len(erased)
            rows = [r for i, r in enumerate(rows) if i not in erased]
        inserted = self.repository.insert_events(rows)
        intake.enqueue_stitch(sender.workspace_id, [r for r in rows if r["message_id"] in inserted])
        result.accepted = len(inserted)
        result.duplicates += len(rows) - len(inserted)
        result.accepted_ids = [r["message_id"] for r in rows if r["message_id"] in inserted]
        if sender.source_id and rows and _due_to_touch(sender.source_id):
            self.repository.touch_source(sender.source_id, received_at)
        return result

    def record_messages(
        self, sender: Sender, messages: Sequence[dict[str, Any]], origin: str
    ) -> IngestResult:
        """Store messages Tessera itself derived (e.g. ``Order Completed`` from an order).

        They pass the same checks as anything sent from outside.
        """
        return self.ingest(sender, messages, origin)

    def _row(
        self,
        sender: Sender,
        clean: domain.CleanMessage,
        known: frozenset[str],
        received_at: datetime,
    ) -> dict[str, Any]:
        return {
            "workspace_id": sender.workspace_id,
            "message_id": clean.message_id,
            "type": clean.type,
            "event": clean.event,
            "user_id": clean.user_id,
            "anonymous_id": clean.anonymous_id,
            "channel": domain.resolve_channel(clean.payload, known, sender.default_channel),
            "source_id": sender.source_id,
            "timestamp": clean.timestamp,
            "original_timestamp": clean.original_timestamp,
            "sent_at": clean.sent_at,
            "received_at": received_at,
            "payload": clean.payload,
        }

    def _reject_item(
        self,
        sender: Sender,
        index: int,
        raw: Any,
        rejection: domain.Rejection,
        origin: str,
        kind: str,
    ) -> RejectedItem:
        entry = self.quarantine(
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

    # Quarantine -------------------------------------------------------------------------------

    def quarantine(
        self,
        workspace_id: str | None,
        origin: str,
        reason: str,
        raw: Any,
        field: str | None = None,
        kind: str = "event",
        source_id: str | None = None,
    ) -> QuarantineEntry:
        """Keep a refused payload with why and where it came from."""
        text, cut = raw_text(raw)
        return self.repository.add_quarantine(
            QuarantineEntry(
                workspace_id=workspace_id,
                source_id=source_id,
                kind=kind,
                origin=origin[:300],
                reason=reason[:500],
                field=field,
                raw=text,
                is_truncated=cut,
            )
        )

    def list_quarantine(
        self,
        workspace_id: str,
        status: QuarantineStatus | None = QuarantineStatus.OPEN,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[QuarantineEntry]:
        """Quarantined records, newest first, by default only those still open."""
        limit = clamp_limit(limit)
        rows = self.repository.quarantine(workspace_id, decode_cursor(cursor), limit + 1, status)
        return page_from(rows, limit)

    def get_quarantine_entry(self, workspace_id: str, entry_id: str) -> QuarantineEntry:
        entry = self.repository.quarantine_entry(workspace_id, entry_id)
        if entry is None:
            raise QuarantineEntryNotFound(f"no quarantine entry {entry_id} in this workspace")
        return entry

    def replay(
        self, workspace_id: str, entry_id: str, fixed: Any = None, actor: str = "system"
    ) -> QuarantineEntry:
        """Apply a quarantined record again, as stored or as ``fixed`` by a person.

        Refuses an entry already replayed or discarded (409), and a record that still fails
        its checks (422 with the reason; the entry stays open so it can be fixed again).
        """
        entry = self.get_quarantine_entry(workspace_id, entry_id)
        if entry.status is not QuarantineStatus.OPEN:
            raise QuarantineEntryResolved(f"{entry_id} is already {entry.status.value}")
        if fixed is None:
            if entry.is_truncated:
                raise InvalidInput(
                    "this payload was cut at 64 KB; send the fixed record", field="payload"
                )
            try:
                fixed = json.loads(entry.raw)
            except json.JSONDecodeError:
                raise InvalidInput(
                    "the stored payload is not JSON; send the fixed record", field="payload"
                ) from None
        if entry.kind in ("event", "request"):
            resolution = self._replay_events(workspace_id, entry, fixed)
        elif entry.kind in REPLAYERS:
            resolution = REPLAYERS[entry.kind](self.session, entry, fixed)
        else:
            raise InvalidInput(f"entries of kind {entry.kind} cannot be replayed", field="kind")
        if not self.repository.resolve_quarantine(
            entry.id, QuarantineStatus.REPLAYED, resolution, utcnow()
        ):
            raise QuarantineEntryResolved(f"{entry_id} was resolved by someone else")
        WorkspaceService(self.session).record(
            workspace_id, actor, "quarantine.replayed", entry.id, {"resolution": resolution}
        )
        self.session.refresh(entry)
        return entry

    def _replay_events(self, workspace_id: str, entry: QuarantineEntry, fixed: Any) -> str:
        if isinstance(fixed, dict) and isinstance(fixed.get("batch"), list):
            items = [
                domain.merge_batch_context(i, fixed) if isinstance(i, dict) else i
                for i in fixed["batch"]
            ]
        else:
            items = fixed if isinstance(fixed, list) else [fixed]
        sender = Sender(workspace_id, entry.source_id, self._default_channel(entry.source_id))
        results = []
        for item in items:
            clean = domain.clean_message(item, utcnow())
            if isinstance(clean, domain.Rejection):
                raise InvalidInput(f"still refused: {clean.reason}", field=clean.field)
            results.append(clean)
        known = self.known_channels(workspace_id)
        rows = [self._row(sender, clean, known, utcnow()) for clean in results]
        inserted = self.repository.insert_events(rows)
        return (
            f"replayed {len(rows)}: {len(inserted)} accepted, {len(rows) - len(inserted)} duplicate"
        )

    def _default_channel(self, source_id: str | None) -> str | None:
        if source_id is None:
            return None
        source = self.session.get(Source, source_id)
        return source.default_channel if source else None

    def discard(
        self, workspace_id: str, entry_id: str, why: str, actor: str = "system"
    ) -> QuarantineEntry:
        """Close an entry without applying it (spam, test data); the record stays readable."""
        entry = self.get_quarantine_entry(workspace_id, entry_id)
        if not self.repository.resolve_quarantine(
            entry.id, QuarantineStatus.DISCARDED, why or "discarded", utcnow()
        ):
            raise QuarantineEntryResolved(f"{entry_id} is already {entry.status.value}")
        WorkspaceService(self.session).record(
            workspace_id, actor, "quarantine.discarded", entry.id, {"why": why}
        )
        self.session.refresh(entry)
        return entry

    # Channels and sources ---------------------------------------------------------------------

    def known_channels(self, workspace_id: str) -> frozenset[str]:
        """The workspace's channel keys, creating the default channels on first use.

        Cached for a few seconds per process: channels change rarely and this runs per request.
        """
        now = time.monotonic()
        with _channel_cache_lock:
            cached = _channel_cache.get(workspace_id)
        if cached and now - cached[0] < _CHANNEL_CACHE_SECONDS:
            return cached[1]
        keys = frozenset(channel.key for channel in self.list_channels(workspace_id))
        with _channel_cache_lock:
            _channel_cache[workspace_id] = (now, keys)
        return keys

    def list_channels(self, workspace_id: str) -> Sequence[Channel]:
        """The workspace's channels; the defaults (web, app, ...) exist from the first call."""
        channels = self.repository.channels(workspace_id)
        if channels:
            return channels
        insert_ignoring_conflicts(
            self.session,
            Channel,
            [
                {
                    "workspace_id": workspace_id,
                    "key": key,
                    "kind": kind,
                    "name": name,
                    "external_refs": [],
                }
                for key, kind, name in DEFAULT_CHANNELS
            ],
            ("workspace_id", "key"),
        )
        return self.repository.channels(workspace_id)

    def add_channel(
        self,
        workspace_id: str,
        kind: ChannelKind,
        name: str,
        key: str | None = None,
        external_refs: Sequence[str] = (),
    ) -> Channel:
        """Register a store, a retail partner or another channel.

        Stores get keys ``store:<slug>``, partners ``retail:<slug>``. Refuses a key in use.
        """
        self.list_channels(workspace_id)
        slug = "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
        if not slug and not key:
            raise InvalidInput("name must contain letters or digits", field="name")
        key = key or (
            f"{kind.value}:{slug}" if kind in (ChannelKind.STORE, ChannelKind.RETAIL) else slug
        )[:CHANNEL_KEY_LENGTH].rstrip("-")  # a long name makes a key the column holds
        if self.repository.channel(workspace_id, key):
            raise InvalidInput(f"channel {key!r} exists already", field="key")
        channel = Channel(
            workspace_id=workspace_id,
            key=key,
            kind=kind,
            name=name,
            external_refs=list(external_refs),
        )
        self.session.add(channel)
        self.session.flush()
        with _channel_cache_lock:
            _channel_cache.pop(workspace_id, None)
        return channel

    def channel_for_ref(self, workspace_id: str, ref: str) -> Channel | None:
        """The store or partner channel a POS location id or partner name belongs to."""
        for channel in self.list_channels(workspace_id):
            if ref in (channel.external_refs or []):
                return channel
        return None

    def require_channel(self, workspace_id: str, key: str) -> Channel:
        channel = self.repository.channel(workspace_id, key)
        if channel is None:
            raise UnknownChannel(f"no channel {key!r} in this workspace", field="channel")
        return channel

    def list_sources(self, workspace_id: str) -> Sequence[Source]:
        return self.repository.sources(workspace_id)

    def connector_source(
        self,
        workspace_id: str,
        kind: SourceKind,
        name: str,
        default_channel: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Source:
        """The source row of a connector (a Shopify shop, an Amazon account), made on first use."""
        source = self.repository.source_named(workspace_id, kind, name)
        if source is None:
            insert_ignoring_conflicts(
                self.session,
                Source,
                [
                    {
                        "workspace_id": workspace_id,
                        "kind": kind,
                        "name": name,
                        "default_channel": default_channel,
                        "settings": settings or {},
                    }
                ],
                ("workspace_id", "kind", "name"),
            )
            source = self.repository.source_named(workspace_id, kind, name)
            assert source is not None
        return source

    def activity(self, workspace_id: str, now: datetime, hours: int = 48) -> Activity:
        """Events per hour by channel over the last ``hours`` (by event time), and per channel
        and source the last day's volume, last seen time and open quarantine entries."""
        current = now.replace(minute=0, second=0, microsecond=0)
        first = current - timedelta(hours=hours - 1)
        counted = {(h, c): n for h, c, n in self.repository.events_per_hour(workspace_id, first)}
        channels = self.list_channels(workspace_id)
        per_channel = self.repository.event_counts_by_channel(workspace_id, now - timedelta(days=1))
        last_event = self.repository.last_event_by_channel(workspace_id)
        seen_channels = sorted({c for _, c in counted})
        hourly = [
            HourlyCount(
                first + timedelta(hours=offset),
                channel,
                counted.get(
                    (int((first + timedelta(hours=offset)).timestamp()) // 3600, channel), 0
                ),
            )
            for offset in range(hours)
            for channel in seen_channels
        ]
        per_source = self.repository.event_counts_by_source(workspace_id, now - timedelta(days=1))
        quarantined = self.repository.open_quarantine_by_source(workspace_id)
        return Activity(
            channels=[
                ChannelActivity(
                    c.key, c.name, c.kind.value, per_channel.get(c.key, 0), last_event.get(c.key)
                )
                for c in channels
            ],
            sources=[
                SourceActivity(
                    s.id,
                    s.name,
                    s.kind.value,
                    s.default_channel,
                    per_source.get(s.id, 0),
                    quarantined.get(s.id, 0),
                    s.last_seen_at,
                )
                for s in self.list_sources(workspace_id)
            ],
            hourly=hourly,
            unattributed_quarantine=quarantined.get(None, 0),
        )

    def source_activity(self, workspace_id: str, hours: int = 24) -> dict[str, int]:
        """Events per channel over the last ``hours``."""
        return self.repository.event_counts_by_channel(
            workspace_id, utcnow() - timedelta(hours=hours)
        )
