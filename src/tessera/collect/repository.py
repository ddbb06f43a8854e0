"""Every SQL statement of Collect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from tessera.db.base import RepositoryBase
from tessera.db.statements import insert_ignoring_conflicts
from tessera.models.collect import (
    Channel,
    Event,
    QuarantineEntry,
    QuarantineStatus,
    Source,
    SourceKind,
    WebhookReceipt,
)


class CollectRepository(RepositoryBase):
    # Channels and sources ---------------------------------------------------------------------

    def channels(self, workspace_id: str) -> Sequence[Channel]:
        return self.session.scalars(
            select(Channel).where(Channel.workspace_id == workspace_id).order_by(Channel.key)
        ).all()

    def channel(self, workspace_id: str, key: str) -> Channel | None:
        return self.session.scalar(
            select(Channel).where(Channel.workspace_id == workspace_id, Channel.key == key)
        )

    def source_for_key(self, api_key_id: str) -> Source | None:
        return self.session.scalar(select(Source).where(Source.api_key_id == api_key_id))

    def source(self, workspace_id: str, source_id: str) -> Source | None:
        return self.session.scalar(
            select(Source).where(Source.workspace_id == workspace_id, Source.id == source_id)
        )

    def source_named(self, workspace_id: str, kind: SourceKind, name: str) -> Source | None:
        return self.session.scalar(
            select(Source).where(
                Source.workspace_id == workspace_id, Source.kind == kind, Source.name == name
            )
        )

    def sources(self, workspace_id: str) -> Sequence[Source]:
        return self.session.scalars(
            select(Source).where(Source.workspace_id == workspace_id).order_by(Source.name)
        ).all()

    def touch_source(self, source_id: str, now: datetime) -> None:
        self.session.execute(
            update(Source)
            .where(Source.id == source_id)
            .where((Source.last_seen_at.is_(None)) | (Source.last_seen_at < now))
            .values(last_seen_at=now)
        )

    # Events -----------------------------------------------------------------------------------

    def insert_events(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert events, skipping message ids the workspace has; returns those inserted."""
        inserted = insert_ignoring_conflicts(
            self.session, Event, rows, ("workspace_id", "message_id"), "message_id"
        )
        return set(inserted)

    def events(
        self, workspace_id: str, after_id: str | None, limit: int, channel: str | None = None
    ) -> Sequence[Event]:
        query = select(Event).where(Event.workspace_id == workspace_id)
        if after_id:
            query = query.where(Event.id < after_id)
        if channel:
            query = query.where(Event.channel == channel)
        return self.session.scalars(query.order_by(Event.id.desc()).limit(limit)).all()

    def event(self, workspace_id: str, event_id: str) -> Event | None:
        return self.session.scalar(
            select(Event).where(Event.workspace_id == workspace_id, Event.id == event_id)
        )

    def event_counts_by_channel(self, workspace_id: str, since: datetime) -> dict[str, int]:
        rows = self.session.execute(
            select(Event.channel, func.count())
            .where(Event.workspace_id == workspace_id, Event.received_at >= since)
            .group_by(Event.channel)
        ).all()
        return {channel: count for channel, count in rows}

    # Quarantine -------------------------------------------------------------------------------

    def add_quarantine(self, entry: QuarantineEntry) -> QuarantineEntry:
        self.session.add(entry)
        self.session.flush()
        return entry

    def quarantine(
        self,
        workspace_id: str,
        after_id: str | None,
        limit: int,
        status: QuarantineStatus | None,
    ) -> Sequence[QuarantineEntry]:
        query = select(QuarantineEntry).where(QuarantineEntry.workspace_id == workspace_id)
        if status is not None:
            query = query.where(QuarantineEntry.status == status)
        if after_id:
            query = query.where(QuarantineEntry.id < after_id)
        return self.session.scalars(query.order_by(QuarantineEntry.id.desc()).limit(limit)).all()

    def quarantine_entry(self, workspace_id: str, entry_id: str) -> QuarantineEntry | None:
        return self.session.scalar(
            select(QuarantineEntry).where(
                QuarantineEntry.workspace_id == workspace_id, QuarantineEntry.id == entry_id
            )
        )

    def resolve_quarantine(
        self, entry_id: str, status: QuarantineStatus, resolution: str, now: datetime
    ) -> bool:
        """Move an open entry to ``status``; False when someone else resolved it first."""
        result = self.session.execute(
            update(QuarantineEntry)
            .where(QuarantineEntry.id == entry_id, QuarantineEntry.status == QuarantineStatus.OPEN)
            .values(status=status, resolution=resolution[:300], resolved_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def quarantine_counts(self, workspace_id: str) -> dict[str, int]:
        rows = self.session.execute(
            select(QuarantineEntry.status, func.count())
            .where(QuarantineEntry.workspace_id == workspace_id)
            .group_by(QuarantineEntry.status)
        ).all()
        return {str(status): count for status, count in rows}

    # Webhook receipts -------------------------------------------------------------------------

    def record_delivery(
        self, workspace_id: str, source_id: str, delivery_id: str, topic: str
    ) -> bool:
        """Record a webhook delivery; False when this delivery id was seen before."""
        inserted = insert_ignoring_conflicts(
            self.session,
            WebhookReceipt,
            [
                {
                    "workspace_id": workspace_id,
                    "source_id": source_id,
                    "delivery_id": delivery_id,
                    "topic": topic,
                }
            ],
            ("source_id", "delivery_id"),
            "id",
        )
        return bool(inserted)
