"""Where data comes from: a workspace's channels (web, app, stores, partners) and its sources
(write keys, connectors, file imports), and the activity the Sources page shows for each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.errors import UnknownChannel
from tessera.collect.repository import CollectRepository
from tessera.kit.errors import InvalidInput
from tessera.kit.process import PROCESS
from tessera.kit.time import utcnow
from tessera.models.collect import Channel, ChannelKind, Source, SourceKind

DEFAULT_CHANNELS: tuple[tuple[str, ChannelKind, str], ...] = (
    ("web", ChannelKind.WEB, "Website"),
    ("app", ChannelKind.APP, "Mobile app"),
    ("tiktok_shop", ChannelKind.TIKTOK_SHOP, "TikTok Shop"),
    ("instagram", ChannelKind.INSTAGRAM, "Instagram"),
    ("amazon", ChannelKind.AMAZON, "Amazon"),
    ("email", ChannelKind.EMAIL, "Email"),
    ("sms", ChannelKind.SMS, "SMS"),
)
CHANNEL_KEY_LENGTH = 80  # channel.key's column
# Channels change rarely and are read on every request: a process remembers a workspace's for
# a few seconds (a new channel is seen at once by the process that added it).
_channel_keys = PROCESS.ttl_cache("collect.channel_keys", maxsize=10_000, ttl=5.0)


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


class SourceService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = CollectRepository(session)

    # Channels ---------------------------------------------------------------------------------

    def known_channels(self, workspace_id: str) -> frozenset[str]:
        """The workspace's channel keys, creating the default channels on first use.

        Cached for a few seconds per process: channels change rarely and this runs per request.
        """
        cached: frozenset[str] | None = _channel_keys.get(workspace_id)
        if cached is not None:
            return cached
        keys = frozenset(channel.key for channel in self.list_channels(workspace_id))
        _channel_keys[workspace_id] = keys
        return keys

    def list_channels(self, workspace_id: str) -> Sequence[Channel]:
        """The workspace's channels; the defaults (web, app, ...) exist from the first call."""
        channels = self.repository.channels(workspace_id)
        if channels:
            return channels
        self.repository.add_channels_once(
            {
                "workspace_id": workspace_id,
                "key": key,
                "kind": kind,
                "name": name,
                "external_refs": [],
            }
            for key, kind, name in DEFAULT_CHANNELS
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
        _channel_keys.pop(workspace_id, None)
        return channel

    def channel_for_ref(self, workspace_id: str, ref: str) -> Channel | None:
        """The store or partner channel a POS location id or partner name belongs to."""
        for channel in self.list_channels(workspace_id):
            if ref in (channel.external_refs or []):
                return channel
        return None

    def require_channel(self, workspace_id: str, key: str) -> Channel:
        """The workspace's channel ``key``; refuses (``UnknownChannel``, 422) one it lacks, so
        nothing is ever recorded under a channel no page or report knows."""
        channel = self.repository.channel(workspace_id, key)
        if channel is None:
            raise UnknownChannel(f"no channel {key!r} in this workspace", field="channel")
        return channel

    # Sources ----------------------------------------------------------------------------------

    def list_sources(self, workspace_id: str) -> Sequence[Source]:
        """The workspace's sources by name."""
        return self.repository.sources(workspace_id)

    def source(self, workspace_id: str, source_id: str) -> Source | None:
        """The workspace's source ``source_id``; None for another workspace's (not found)."""
        return self.repository.source(workspace_id, source_id)

    def source_by_id(self, source_id: str) -> Source | None:
        """Any workspace's source: for a webhook, whose URL names the source and whose
        signature proves it; never for a caller whose workspace is known."""
        return self.repository.source_by_id(source_id)

    def default_channel(self, source_id: str | None) -> str | None:
        """The channel a source's events belong to unless they name one."""
        if source_id is None:
            return None
        source = self.repository.source_by_id(source_id)
        return source.default_channel if source else None

    def set_default_channel(
        self, workspace_id: str, source_id: str, channel: str | None
    ) -> Source | None:
        """Set (or clear, with None) the source's default channel; None when the workspace has
        no such source. Refuses a channel the workspace does not have (``UnknownChannel``)."""
        source = self.repository.source(workspace_id, source_id)
        if source is None:
            return None
        if channel is not None:
            self.require_channel(workspace_id, channel)
        source.default_channel = channel
        self.session.flush()
        return source

    def source_for_key(self, api_key_id: str) -> Source | None:
        """The Segment source of a write key, if it sent before."""
        return self.repository.source_for_key(api_key_id)

    def add_key_source(self, workspace_id: str, api_key_id: str, key_name: str | None) -> Source:
        """The Segment source of a write key, made on its first request (a concurrent first
        request makes the same one)."""
        # The key's id keeps the name unique (two keys may share a name).
        name = f"{key_name or 'write key'} ({api_key_id})"
        self.repository.add_key_source_once(workspace_id, api_key_id, name)
        source = self.repository.source_for_key(api_key_id)
        assert source is not None
        return source

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
            self.repository.add_source_once(
                workspace_id, kind, name, default_channel, settings or {}
            )
            source = self.repository.source_named(workspace_id, kind, name)
            assert source is not None
        return source

    def touch(self, source_id: str, now: datetime) -> None:
        """Record that the source sent something at ``now`` (never moves it back)."""
        self.repository.touch_source(source_id, now)

    def lock_every_source(self) -> Sequence[Source]:
        """Every workspace's sources, locked until the transaction ends: for rewriting their
        settings (sealed secrets) without losing a change made meanwhile."""
        return self.repository.locked_sources_of_every_workspace()

    # Activity ---------------------------------------------------------------------------------

    def activity(self, workspace_id: str, now: datetime, hours: int = 48) -> Activity:
        """Events per hour by channel over the last ``hours`` (by event time), and per channel
        and source the last day's volume, last seen time and open quarantine entries."""
        current = now.replace(minute=0, second=0, microsecond=0)
        first = current - timedelta(hours=hours - 1)
        counted = {
            (bucket.hour, bucket.channel): bucket.events
            for bucket in self.repository.events_per_hour(workspace_id, first)
        }
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
