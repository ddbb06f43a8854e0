"""Messages: templates, the outbox, suppressed addresses and each workspace's sending rules.

``message`` is the outbox (ADR 0022): one row per email or SMS someone asked to send, written
in the asker's transaction with a unique idempotency key, then decided (consent, suppression,
quiet hours, caps), rendered, marked ``sending`` and committed before the provider is called,
and finally ``sent`` with the provider's id. What was sent (subject, body, the address) stays
on the row, so the outbox shows exactly what a person received.

``message_suppression`` holds addresses that must not be sent to at all, whatever the purpose:
hard bounces, spam complaints, and phones that texted STOP. It keeps a salted digest of the
address (the one erasure uses, ``customer.privacy.suppression_digest``), never the address.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, SealedJSON, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class MessageChannel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class TemplateFormat(enum.StrEnum):
    HTML = "html"  # Liquid over HTML
    MJML = "mjml"  # Liquid over MJML, compiled to responsive HTML after rendering
    TEXT = "text"  # Liquid over plain text (every SMS)


class MessagePurpose(enum.StrEnum):
    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"  # an order's receipt: no consent or cap, but suppression


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"  # written; its send job decides when it runs
    HELD = "held"  # quiet hours (or an unknown zone): decided again at ``next_attempt_at``
    SENDING = "sending"  # committed before the provider call; reconciled if found again
    SENT = "sent"  # the provider took it (``provider_id``)
    DELIVERED = "delivered"  # the provider reported delivery
    BOUNCED = "bounced"  # refused by the recipient's side; a hard bounce suppresses
    COMPLAINED = "complained"  # marked as spam; suppresses
    FAILED = "failed"  # the provider refused it, or it could not be rendered
    SKIPPED = "skipped"  # a rule said no (``reason``): consent, cap, suppression, exit...


PENDING_STATUSES = (MessageStatus.QUEUED, MessageStatus.HELD)


class MessageTemplate(Base):
    """A workspace's named email or SMS template: Liquid over HTML, MJML or text.

    Saved only when it renders with sample data in the strict environment
    (``message.rendering``), so a broken template is refused at save time, never at send.
    """

    __tablename__ = "message_template"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        Index("ix_message_template_workspace", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("tpl"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[MessageChannel] = mapped_column(StrEnumColumn(MessageChannel))
    format: Mapped[TemplateFormat] = mapped_column(StrEnumColumn(TemplateFormat))
    subject: Mapped[str] = mapped_column(String(1000), default="")  # email only
    body: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    """One email or SMS in the outbox, from the request to the provider's last word."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key"),
        Index("ix_message_workspace", "workspace_id", "id"),
        Index("ix_message_workspace_status", "workspace_id", "status", "id"),
        Index("ix_message_profile", "workspace_id", "profile_id", "channel", "id"),
        Index("ix_message_provider", "workspace_id", "provider_id"),
        Index("ix_message_address", "workspace_id", "channel", "to_address", "status"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("msg"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    profile_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[MessageChannel] = mapped_column(StrEnumColumn(MessageChannel))
    purpose: Mapped[MessagePurpose] = mapped_column(StrEnumColumn(MessagePurpose))
    template_id: Mapped[str] = mapped_column(String(40))
    template_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[MessageStatus] = mapped_column(
        StrEnumColumn(MessageStatus), default=MessageStatus.QUEUED
    )
    reason: Mapped[str | None] = mapped_column(String(60), nullable=True)  # a code: no_consent
    reason_detail: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # What the template reads besides the profile: order, cart, product, store.
    context: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # Who asked: {"kind": "journey", "journey_id": ..., "instance_id": ..., "step": ...}.
    origin: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    # What was sent, fixed when it was decided, so a re-send is byte for byte the same.
    to_address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    from_address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)  # HTML for email, text for SMS
    body_text: Mapped[str | None] = mapped_column(Text, nullable=True)  # email's text part
    links: Mapped[list[str]] = mapped_column(JSONDocument, default=list)  # tracked, by index
    sms_encoding: Mapped[str | None] = mapped_column(String(10), nullable=True)  # gsm7 | ucs2
    sms_segments: Mapped[int | None] = mapped_column(Integer, nullable=True)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    click_count: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageSuppression(Base):
    """An address no message may go to: a hard bounce, a complaint, or an SMS STOP."""

    __tablename__ = "message_suppression"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(
        String(64), primary_key=True
    )  # of "email:..." / "phone:..."
    channel: Mapped[MessageChannel] = mapped_column(StrEnumColumn(MessageChannel))
    reason: Mapped[str] = mapped_column(String(40))  # hard_bounce | complaint | sms_stop
    message_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageSetting(Base):
    """A workspace's sender identity and sending rules; one row, made with defaults when read.

    ``credentials`` are the workspace's own provider credentials (an SMS account's auth token,
    an SMTP password) when it does not use the deployment's: sealed, opened only to send.
    """

    __tablename__ = "message_setting"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    brand_name: Mapped[str] = mapped_column(String(200), default="")
    email_from: Mapped[str] = mapped_column(String(320), default="")
    sms_from: Mapped[str] = mapped_column(String(40), default="")
    help_text: Mapped[str] = mapped_column(String(300), default="")
    default_timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quiet_start: Mapped[str] = mapped_column(String(5), default="08:00")  # sending allowed from
    quiet_end: Mapped[str] = mapped_column(String(5), default="20:00")  # until (exclusive)
    email_cap_hours: Mapped[int] = mapped_column(Integer, default=16)  # 0: no cap
    sms_cap_hours: Mapped[int] = mapped_column(Integer, default=24)
    sms_account_sid: Mapped[str] = mapped_column(String(64), default="")
    credentials: Mapped[dict[str, Any]] = mapped_column(SealedJSON, default=dict)
    updated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
