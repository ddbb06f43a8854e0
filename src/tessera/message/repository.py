"""Every SQL statement of the message domain: templates, the outbox, suppressed addresses and
each workspace's settings.

An outbox row changes state with one conditional statement where two writers could meet (a
STOP skipping queued rows while a send job decides one), and the send job locks its row, and
the person's rows of the channel in primary-key order, before it decides, so two of a person's
messages decided at once see each other (the frequency cap).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, CursorResult, Result, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tessera.db.base import RepositoryBase
from tessera.models.message import (
    PENDING_STATUSES,
    Message,
    MessageChannel,
    MessagePurpose,
    MessageSetting,
    MessageStatus,
    MessageSuppression,
    MessageTemplate,
)

# What counts as "a message went out" for the frequency cap: it was handed to the provider.
OUT_STATUSES = (
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.BOUNCED,
    MessageStatus.COMPLAINED,
)


class JourneyStepSends(NamedTuple):
    step: str
    queued: int
    sent: int
    delivered: int
    clicked: int


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


@dataclass(frozen=True, slots=True)
class MessageFilter:
    status: MessageStatus | None = None
    channel: MessageChannel | None = None
    purpose: MessagePurpose | None = None
    profile_id: str | None = None
    template_name: str | None = None
    reason: str | None = None
    journey_id: str | None = None


class MessageRepository(RepositoryBase):
    def _insert(self, model: Any) -> Any:
        return postgresql.insert(model) if self.dialect == "postgresql" else sqlite.insert(model)

    # Templates ---------------------------------------------------------------------------------

    def template(self, workspace_id: str, template_id: str) -> MessageTemplate | None:
        return self.session.scalar(
            select(MessageTemplate).where(
                MessageTemplate.workspace_id == workspace_id, MessageTemplate.id == template_id
            )
        )

    def template_by_name(self, workspace_id: str, name: str) -> MessageTemplate | None:
        return self.session.scalar(
            select(MessageTemplate).where(
                MessageTemplate.workspace_id == workspace_id, MessageTemplate.name == name
            )
        )

    def templates(
        self,
        workspace_id: str,
        channel: MessageChannel | None,
        after_id: str | None,
        limit: int,
    ) -> Sequence[MessageTemplate]:
        """Templates newest first."""
        query = select(MessageTemplate).where(MessageTemplate.workspace_id == workspace_id)
        if channel is not None:
            query = query.where(MessageTemplate.channel == channel)
        if after_id:
            query = query.where(MessageTemplate.id < after_id)
        return self.session.scalars(query.order_by(MessageTemplate.id.desc()).limit(limit)).all()

    def template_names(self, workspace_id: str) -> dict[str, MessageChannel]:
        rows = self.session.execute(
            select(MessageTemplate.name, MessageTemplate.channel).where(
                MessageTemplate.workspace_id == workspace_id
            )
        )
        return {row.name: row.channel for row in rows}

    # The outbox: writing -----------------------------------------------------------------------

    def insert_message(self, values: Mapping[str, Any]) -> bool:
        """Insert one outbox row; with its idempotency key already taken, nothing (False)."""
        statement = (
            self._insert(Message)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Message.workspace_id, Message.idempotency_key])
            .returning(Message.id)
        )
        return self.session.execute(statement).scalar() is not None

    def lock_message(self, message_id: str) -> Message | None:
        """The row, locked for this transaction and read fresh from the database."""
        return self.session.scalar(
            select(Message)
            .where(Message.id == message_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    def lock_person_channel(
        self,
        workspace_id: str,
        profile_ids: Sequence[str],
        channel: MessageChannel,
        since: datetime,
    ) -> None:
        """Lock, in primary-key order, the person's rows of the channel that are pending or
        went out since ``since``: a concurrent decision for the same person waits here."""
        self.session.execute(
            select(Message.id)
            .where(
                Message.workspace_id == workspace_id,
                Message.profile_id.in_(profile_ids),
                Message.channel == channel,
                (
                    Message.status.in_([*PENDING_STATUSES, MessageStatus.SENDING])
                    | (Message.sending_at >= since)
                ),
            )
            .order_by(Message.id)
            .with_for_update()
        ).all()

    def last_marketing_out(
        self,
        workspace_id: str,
        profile_ids: Sequence[str],
        channel: MessageChannel,
        since: datetime,
        other_than: str,
    ) -> Message | None:
        """The person's latest marketing message of the channel that went out after ``since``
        (one exactly a cap ago no longer counts)."""
        return self.session.scalar(
            select(Message)
            .where(
                Message.workspace_id == workspace_id,
                Message.profile_id.in_(profile_ids),
                Message.channel == channel,
                Message.purpose == MessagePurpose.MARKETING,
                Message.status.in_(OUT_STATUSES),
                Message.sending_at > since,
                Message.id != other_than,
            )
            .order_by(Message.sending_at.desc())
            .limit(1)
        )

    def skip_pending(
        self,
        workspace_id: str,
        channel: MessageChannel,
        profile_ids: Collection[str],
        address: str | None,
        purposes: Collection[MessagePurpose],
        reason: str,
        detail: str,
        now: datetime,
    ) -> list[str]:
        """Skip every queued or held row of the channel for these profiles or this address
        (one statement each); returns the ids skipped."""
        owned: ColumnElement[bool] = Message.profile_id.in_(list(profile_ids))
        if address:
            owned = owned | (Message.to_address == address)
        ids = list(
            self.session.scalars(
                select(Message.id).where(
                    Message.workspace_id == workspace_id,
                    Message.channel == channel,
                    Message.status.in_(PENDING_STATUSES),
                    Message.purpose.in_(list(purposes)),
                    owned,
                )
            )
        )
        if ids:
            self.session.execute(
                update(Message)
                .where(Message.id.in_(ids), Message.status.in_(PENDING_STATUSES))
                .values(
                    status=MessageStatus.SKIPPED,
                    reason=reason,
                    reason_detail=detail,
                    finished_at=now,
                    updated_at=now,
                ),
                execution_options={"synchronize_session": False},
            )
        return ids

    def count_click(self, message_id: str, now: datetime) -> None:
        self.session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(
                click_count=Message.click_count + 1,
                first_clicked_at=func.coalesce(Message.first_clicked_at, now),
                updated_at=now,
            ),
            execution_options={"synchronize_session": False},
        )

    # The outbox: reading -----------------------------------------------------------------------

    def message(self, workspace_id: str, message_id: str) -> Message | None:
        return self.session.scalar(
            select(Message)
            .where(Message.workspace_id == workspace_id, Message.id == message_id)
            .execution_options(populate_existing=True)
        )

    def message_of_any_workspace(self, message_id: str) -> Message | None:
        """By id alone: for the send jobs and signed links (the job or the token names the
        row; the row says its workspace)."""
        return self.session.scalar(
            select(Message)
            .where(Message.id == message_id)
            .execution_options(populate_existing=True)
        )

    def message_by_key(self, workspace_id: str, key: str) -> Message | None:
        return self.session.scalar(
            select(Message)
            .where(Message.workspace_id == workspace_id, Message.idempotency_key == key)
            .execution_options(populate_existing=True)
        )

    def message_by_provider_id(self, workspace_id: str, provider_id: str) -> Message | None:
        return self.session.scalar(
            select(Message)
            .where(Message.workspace_id == workspace_id, Message.provider_id == provider_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    def messages(
        self, workspace_id: str, where: MessageFilter, after_id: str | None, limit: int
    ) -> Sequence[Message]:
        """Outbox rows newest first, filtered."""
        query = select(Message).where(Message.workspace_id == workspace_id)
        if where.status is not None:
            query = query.where(Message.status == where.status)
        if where.channel is not None:
            query = query.where(Message.channel == where.channel)
        if where.purpose is not None:
            query = query.where(Message.purpose == where.purpose)
        if where.profile_id:
            query = query.where(Message.profile_id == where.profile_id)
        if where.template_name:
            query = query.where(Message.template_name == where.template_name)
        if where.reason:
            query = query.where(Message.reason == where.reason)
        if where.journey_id:
            journey = Message.origin["journey_id"].as_string()
            query = query.where(journey == where.journey_id)
        if after_id:
            query = query.where(Message.id < after_id)
        return self.session.scalars(query.order_by(Message.id.desc()).limit(limit)).all()

    def count_by_status(self, workspace_id: str) -> dict[MessageStatus, int]:
        rows = self.session.execute(
            select(Message.status, func.count())
            .where(Message.workspace_id == workspace_id)
            .group_by(Message.status)
        )
        return {MessageStatus(row[0]): int(row[1]) for row in rows}

    def last_sent_with_origin(
        self, workspace_id: str, address: str, kind: str, since: datetime
    ) -> Message | None:
        """The latest SMS sent to ``address`` whose origin is ``kind`` (a double opt-in)."""
        origin_kind = Message.origin["kind"].as_string()
        return self.session.scalar(
            select(Message)
            .where(
                Message.workspace_id == workspace_id,
                Message.channel == MessageChannel.SMS,
                Message.to_address == address,
                Message.status.in_(OUT_STATUSES),
                origin_kind == kind,
                Message.queued_at >= since,
            )
            .order_by(Message.id.desc())
            .limit(1)
        )

    # Suppression -------------------------------------------------------------------------------

    def suppress(
        self,
        workspace_id: str,
        digest: str,
        channel: MessageChannel,
        reason: str,
        message_id: str | None,
        now: datetime,
    ) -> bool:
        """Suppress an address; an address already suppressed keeps its first reason."""
        statement = (
            self._insert(MessageSuppression)
            .values(
                workspace_id=workspace_id,
                digest=digest,
                channel=channel,
                reason=reason,
                message_id=message_id,
                created_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=[MessageSuppression.workspace_id, MessageSuppression.digest]
            )
            .returning(MessageSuppression.digest)
        )
        return self.session.execute(statement).scalar() is not None

    def suppressions(self, workspace_id: str, digests: Collection[str]) -> dict[str, str]:
        """The reason each of ``digests`` is suppressed, for those that are."""
        if not digests:
            return {}
        rows = self.session.execute(
            select(MessageSuppression.digest, MessageSuppression.reason).where(
                MessageSuppression.workspace_id == workspace_id,
                MessageSuppression.digest.in_(list(digests)),
            )
        )
        return {row.digest: row.reason for row in rows}

    def lift_suppression(self, workspace_id: str, digest: str, reason: str) -> bool:
        """Remove a suppression of ``reason`` only (START lifts a STOP, never a bounce)."""
        result = self.session.execute(
            delete(MessageSuppression).where(
                MessageSuppression.workspace_id == workspace_id,
                MessageSuppression.digest == digest,
                MessageSuppression.reason == reason,
            )
        )
        return _rowcount(result) == 1

    # Settings ----------------------------------------------------------------------------------

    def setting(self, workspace_id: str) -> MessageSetting | None:
        return self.session.get(MessageSetting, workspace_id)

    def ensure_setting(self, values: Mapping[str, Any]) -> None:
        """Insert a workspace's settings row unless it exists (two first readers race)."""
        statement = (
            self._insert(MessageSetting)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[MessageSetting.workspace_id])
        )
        self.session.execute(statement)

    def lock_every_setting(self) -> Sequence[MessageSetting]:
        """Every workspace's settings, locked: resealing credentials under a new key."""
        return self.session.scalars(
            select(MessageSetting).order_by(MessageSetting.workspace_id).with_for_update()
        ).all()

    def journey_step_counts(self, workspace_id: str, journey_id: str) -> list[JourneyStepSends]:
        """Per step of a journey (its messages' ``origin``): messages queued, sent, reported
        delivered and clicked at least once."""
        step = Message.origin["step"].as_string()
        rows = self.session.execute(
            select(
                step,
                func.count(),
                func.count(Message.sent_at),
                func.count(Message.delivered_at),
                func.count(Message.first_clicked_at),
            )
            .where(
                Message.workspace_id == workspace_id,
                Message.origin["journey_id"].as_string() == journey_id,
            )
            .group_by(step)
        ).all()
        return [
            JourneyStepSends(str(name), int(queued), int(sent), int(delivered), int(clicked))
            for name, queued, sent, delivered, clicked in rows
        ]
