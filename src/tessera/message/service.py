"""The outbox's front door: ``queue`` a message, and read the outbox.

``queue`` writes one ``message`` row in the caller's transaction and enqueues its send job in
the same one, so the message exists if and only if the caller's change commits (a journey's
step, an order's receipt). Its ``idempotency_key`` is unique per workspace: a second ``queue``
with the same key returns the first row and enqueues nothing, so a step that runs twice sends
once. Nothing about sending is decided here; the send job decides, at the time it runs
(``message.sending``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.customer.profiles import ProfileService
from tessera.job.service import JobService
from tessera.kit.bounds import storable_text_problem
from tessera.kit.errors import InvalidInput
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import Clock, utcnow
from tessera.message.domain import choice
from tessera.message.errors import MessageKeyReused, MessageNotFound, TemplateNotFound
from tessera.message.rendering import CONTEXT_KEYS
from tessera.message.repository import JourneyStepSends, MessageFilter, MessageRepository
from tessera.message.sending import SEND_REQUESTED, requested_key
from tessera.models.message import (
    Message,
    MessageChannel,
    MessagePurpose,
    MessageStatus,
    MessageTemplate,
)

MAX_CONTEXT_BYTES = 64 * 1024
MAX_ORIGIN_BYTES = 4 * 1024


def _json_size(value: Any, field: str) -> int:
    try:
        return len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"{field} is not JSON: {error}", field=field) from None


class MessageService:
    """Queue messages and read the outbox. Never commits."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = MessageRepository(session)

    def queue(
        self,
        workspace_id: str,
        profile_id: str,
        channel: MessageChannel | str,
        template: str,
        *,
        idempotency_key: str,
        purpose: MessagePurpose | str = MessagePurpose.MARKETING,
        context: Mapping[str, Any] | None = None,
        not_before: datetime | None = None,
        origin: Mapping[str, Any] | None = None,
    ) -> Message:
        """Write one outbox row and its send job in the caller's transaction; returns the row.

        ``template`` is a template's name (or id) of the same channel. ``context`` holds what
        the template reads besides the profile: ``order``, ``cart``, ``product``, ``store``,
        ``event`` (a journey's entry event, ``message.context``).
        ``not_before`` delays the send; ``origin`` says who asked (a journey's instance and
        step), shown in the outbox and carried on the timeline events.

        Returns the first row when ``idempotency_key`` was used before with the same profile,
        channel and template. Refuses (422, naming the field) an unknown channel or purpose, a
        template of another channel, a key of 1-255 characters it cannot store, a context with
        other keys or over 64 KB, a naive ``not_before``; (404) an unknown profile or
        template; (409) a key already used for another person, channel or template.
        """
        channel = choice(MessageChannel, channel, "channel")
        purpose = choice(MessagePurpose, purpose, "purpose")
        key = _key(idempotency_key)
        row_template = self._template(workspace_id, template, channel)
        context = _context(context)
        origin_value = dict(origin) if origin is not None else None
        if origin_value is not None and _json_size(origin_value, "origin") > MAX_ORIGIN_BYTES:
            raise InvalidInput("origin must be at most 4 KB of JSON", field="origin")
        if not_before is not None and not_before.tzinfo is None:
            raise InvalidInput("not_before must be timezone-aware", field="not_before")
        ProfileService(self.session).resolve(workspace_id, profile_id)
        existing = self.repository.message_by_key(workspace_id, key)
        if existing is not None:
            return self._same_or_refuse(existing, profile_id, channel, row_template)
        now = self.clock()
        message_id = new_id("msg")
        values: dict[str, Any] = {
            "id": message_id,
            "workspace_id": workspace_id,
            "profile_id": profile_id,
            "channel": channel,
            "purpose": purpose,
            "template_id": row_template.id,
            "template_name": row_template.name,
            "status": MessageStatus.QUEUED,
            "idempotency_key": key,
            "context": context,
            "origin": origin_value,
            "links": [],
            "click_count": 0,
            "not_before": not_before,
            "queued_at": now,
            "updated_at": now,
        }
        if not self.repository.insert_message(values):  # a concurrent queue took the key
            found = self.repository.message_by_key(workspace_id, key)
            assert found is not None, "the conflicting row committed before ours could insert"
            return self._same_or_refuse(found, profile_id, channel, row_template)
        JobService(self.session).enqueue(
            SEND_REQUESTED,
            {"message_id": message_id},
            workspace_id=workspace_id,
            run_at=not_before or now,
            idempotency_key=requested_key(message_id),
        )
        row = self.repository.message(workspace_id, message_id)
        assert row is not None
        return row

    def _template(
        self, workspace_id: str, name_or_id: str, channel: MessageChannel
    ) -> MessageTemplate:
        found = self.repository.template_by_name(workspace_id, name_or_id)
        if found is None and name_or_id.startswith("tpl_"):
            found = self.repository.template(workspace_id, name_or_id)
        if found is None:
            raise TemplateNotFound(f"no template {name_or_id!r} in this workspace")
        if found.channel is not channel:
            raise InvalidInput(
                f"template {found.name!r} is for {found.channel.value}, not {channel.value}",
                field="template",
            )
        return found

    @staticmethod
    def _same_or_refuse(
        row: Message, profile_id: str, channel: MessageChannel, template: MessageTemplate
    ) -> Message:
        if (row.profile_id, row.channel, row.template_id) != (profile_id, channel, template.id):
            raise MessageKeyReused(
                f"idempotency key {row.idempotency_key!r} was used for message {row.id} "
                "to another person, channel or template",
                field="idempotency_key",
            )
        return row

    # Reading -----------------------------------------------------------------------------------

    def get(self, workspace_id: str, message_id: str) -> Message:
        """One outbox row; another workspace's is not found."""
        row = self.repository.message(workspace_id, message_id)
        if row is None:
            raise MessageNotFound(f"no message {message_id} in this workspace")
        return row

    def list(
        self,
        workspace_id: str,
        where: MessageFilter | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[Message]:
        """Outbox rows newest first, filtered, a page at a time. Refuses a limit outside
        1-200 and a cursor this service did not hand out."""
        limit = clamp_limit(limit)
        rows = self.repository.messages(
            workspace_id, where or MessageFilter(), decode_cursor(cursor), limit + 1
        )
        return page_from(rows, limit)

    def journey_counts(self, workspace_id: str, journey_id: str) -> dict[str, JourneyStepSends]:
        """Per step of the journey: its messages queued, sent, delivered and clicked."""
        rows = self.repository.journey_step_counts(workspace_id, journey_id)
        return {row.step: row for row in rows}

    def count_by_status(self, workspace_id: str) -> dict[MessageStatus, int]:
        counts = dict.fromkeys(MessageStatus, 0)
        counts.update(self.repository.count_by_status(workspace_id))
        return counts


def make_filter(
    status: str | None = None,
    channel: str | None = None,
    purpose: str | None = None,
    profile_id: str | None = None,
    template: str | None = None,
    reason: str | None = None,
    journey_id: str | None = None,
) -> MessageFilter:
    """A filter from what a person typed; refuses (422) an unknown status, channel or purpose."""
    return MessageFilter(
        status=choice(MessageStatus, status, "status") if status else None,
        channel=choice(MessageChannel, channel, "channel") if channel else None,
        purpose=choice(MessagePurpose, purpose, "purpose") if purpose else None,
        profile_id=(profile_id or "").strip() or None,
        template_name=(template or "").strip() or None,
        reason=(reason or "").strip() or None,
        journey_id=(journey_id or "").strip() or None,
    )


def _key(value: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 255:
        raise InvalidInput("idempotency_key must be 1-255 characters", field="idempotency_key")
    problem = storable_text_problem(value)
    if problem is not None or not value.isprintable():
        raise InvalidInput("idempotency_key must be printable text", field="idempotency_key")
    return value


def _context(context: Mapping[str, Any] | None) -> dict[str, Any]:
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise InvalidInput("context must be a JSON object", field="context")
    for key, value in context.items():
        if key not in CONTEXT_KEYS:
            raise InvalidInput(
                f"context may hold {', '.join(CONTEXT_KEYS)}; {key!r} is none of them",
                field=f"context.{key}",
            )
        if not isinstance(value, dict):
            raise InvalidInput(f"context.{key} must be a JSON object", field=f"context.{key}")
    if _json_size(dict(context), "context") > MAX_CONTEXT_BYTES:
        raise InvalidInput("context must be at most 64 KB of JSON", field="context")
    return dict(context)
