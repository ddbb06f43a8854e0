"""The API's shapes for templates, the outbox and the sending settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tessera.models.message import (
    Message,
    MessageChannel,
    MessagePurpose,
    MessageSetting,
    MessageStatus,
    TemplateFormat,
)


class TemplateIn(BaseModel):
    """A new template. SMS templates are text; email ones HTML (default) or MJML."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["cart-reminder-email"])
    channel: MessageChannel
    format: TemplateFormat | None = None
    subject: str = Field(
        default="", max_length=300, examples=["Still thinking, {{ profile.first_name }}?"]
    )
    body: str = Field(max_length=200_000, examples=["<p>Hi {{ profile.first_name }}</p>"])
    description: str = Field(default="", max_length=1000)


class TemplatePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    format: TemplateFormat | None = None
    subject: str | None = Field(default=None, max_length=300)
    body: str | None = Field(default=None, max_length=200_000)
    description: str | None = Field(default=None, max_length=1000)


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    channel: MessageChannel
    format: TemplateFormat
    subject: str
    body: str
    description: str
    created_by: str | None
    updated_by: str | None
    created_at: datetime
    updated_at: datetime


class TemplatePage(BaseModel):
    items: list[TemplateOut]
    next_cursor: str | None


class PreviewIn(BaseModel):
    """Whom to preview for (a profile id; none: the sample person) and any context."""

    model_config = ConfigDict(extra="forbid")

    profile_id: str | None = Field(default=None, max_length=40)
    context: dict[str, dict[str, Any]] = Field(default_factory=dict)
    purpose: MessagePurpose = MessagePurpose.MARKETING


class PreviewOut(BaseModel):
    subject: str
    body: str = Field(description="The HTML an email would carry, or an SMS's text")
    text: str
    sms_encoding: Literal["gsm7", "ucs2"] | None
    sms_segments: int | None
    characters: int


class RecommendationOut(BaseModel):
    """One product the person may like, as a template's ``recommendations`` holds it."""

    sku: str
    name: str
    price: str | None = Field(description="On the web channel, in major units: 24.00")
    currency: str | None
    url: str | None
    image_url: str | None


class RecommendationList(BaseModel):
    profile_id: str = Field(description="The profile answered for (a merged id's survivor)")
    items: list[RecommendationOut]


class MessageIn(BaseModel):
    """A message to one person, transactional unless said otherwise (a receipt, a code)."""

    model_config = ConfigDict(extra="forbid")

    profile_id: str = Field(min_length=1, max_length=40)
    channel: MessageChannel
    template: str = Field(min_length=1, max_length=200, description="A template's name or id")
    idempotency_key: str = Field(min_length=1, max_length=255, examples=["order-1001-receipt"])
    purpose: MessagePurpose = MessagePurpose.TRANSACTIONAL
    context: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="order, cart, product, store or event, as the template reads",
    )
    not_before: AwareDatetime | None = None


class MessageSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    profile_id: str
    channel: MessageChannel
    purpose: MessagePurpose
    template_name: str
    status: MessageStatus
    reason: str | None
    reason_detail: str | None
    to_address: str | None
    subject: str | None
    origin: dict[str, Any] | None
    queued_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    provider_id: str | None


class MessageOut(MessageSummary):
    """One outbox row, with what was sent."""

    template_id: str
    idempotency_key: str
    context: dict[str, Any]
    from_address: str | None
    body: str | None
    body_text: str | None
    links: list[str]
    sms_encoding: str | None
    sms_segments: int | None
    not_before: datetime | None
    error_code: str | None
    click_count: int
    held_at: datetime | None
    sending_at: datetime | None
    delivered_at: datetime | None
    finished_at: datetime | None
    first_clicked_at: datetime | None

    @classmethod
    def of(cls, row: Message) -> MessageOut:
        return cls.model_validate(row)


class MessagePage(BaseModel):
    items: list[MessageSummary]
    next_cursor: str | None


class MessageEventIn(BaseModel):
    """What a bounce processor or an email provider reports about a sent email."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["delivered", "hard_bounce", "soft_bounce", "complaint"]
    detail: str = Field(default="", max_length=1000)


class SettingsOut(BaseModel):
    brand_name: str
    email_from: str
    sms_from: str
    help_text: str
    default_timezone: str | None
    quiet_start: str
    quiet_end: str
    email_cap_hours: int
    sms_cap_hours: int
    sms_account_sid: str
    has_own_sms_auth_token: bool
    updated_at: datetime

    @classmethod
    def of(cls, row: MessageSetting) -> SettingsOut:
        return cls(
            brand_name=row.brand_name,
            email_from=row.email_from,
            sms_from=row.sms_from,
            help_text=row.help_text,
            default_timezone=row.default_timezone,
            quiet_start=row.quiet_start,
            quiet_end=row.quiet_end,
            email_cap_hours=row.email_cap_hours,
            sms_cap_hours=row.sms_cap_hours,
            sms_account_sid=row.sms_account_sid,
            has_own_sms_auth_token=bool(row.credentials),
            updated_at=row.updated_at,
        )


class SettingsPatch(BaseModel):
    """Sender identity and sending rules; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")

    brand_name: str | None = Field(default=None, max_length=200)
    email_from: str | None = Field(default=None, max_length=320)
    sms_from: str | None = Field(default=None, max_length=40)
    help_text: str | None = Field(default=None, max_length=300)
    default_timezone: str | None = Field(
        default=None, max_length=64, description='An IANA zone; "" clears it'
    )
    quiet_start: str | None = Field(default=None, max_length=5, examples=["08:00"])
    quiet_end: str | None = Field(default=None, max_length=5, examples=["20:00"])
    email_cap_hours: int | None = Field(default=None, ge=0, le=168)
    sms_cap_hours: int | None = Field(default=None, ge=0, le=168)
    sms_account_sid: str | None = Field(default=None, max_length=64)
    sms_auth_token: str | None = Field(default=None, max_length=200, description="Sealed at rest")


class SmsWebhookAnswer(BaseModel):
    status: Literal["ok"]
