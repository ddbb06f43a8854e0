"""Templates: saved only when they render, previewed with a chosen person.

A template is checked whole when it is created or changed (``rendering.check``): it must render
in the strict environment against sample data for every variable a message can carry, so what
does not render is refused at save time with the field and the line, and never discovered
when a person's message is sent. A preview renders it as the send job would for a chosen
profile: that person's traits, sample data for the order, cart, product and store unless the
preview gives its own, and for SMS the disclosure and the segment count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tessera.customer.profiles import ProfileService
from tessera.kit.bounds import storable_text_problem
from tessera.kit.errors import InvalidInput
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import Clock, utcnow
from tessera.message import domain, rendering
from tessera.message.configuration import MessageSettings
from tessera.message.domain import choice
from tessera.message.errors import DuplicateTemplate, TemplateDoesNotRender, TemplateNotFound
from tessera.message.recommendations import RecommendationService
from tessera.message.repository import MessageRepository
from tessera.models.message import MessageChannel, MessagePurpose, MessageTemplate, TemplateFormat
from tessera.workspace.service import WorkspaceService

NAME_MAX = 200


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    """A template as a caller writes it; None in a change leaves the value as it is."""

    name: str | None = None
    channel: str | None = None
    format: str | None = None
    subject: str | None = None
    body: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    subject: str
    body: str  # HTML for email, the text for SMS
    text: str
    sms_encoding: str | None
    sms_segments: int | None
    characters: int


class TemplateService:
    """Create, change, read and preview templates. Never commits."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = MessageRepository(session)

    def create(self, workspace_id: str, draft: TemplateDraft, actor: str) -> MessageTemplate:
        """Save a new template if it renders. Refuses (422, naming the field and the line) a
        template that does not render with sample data, an unknown channel or format, a
        format that does not fit the channel (SMS is text), an empty or long name; (409) a
        name the workspace already uses."""
        name = _name(draft.name)
        channel = choice(MessageChannel, draft.channel, "channel")
        default_format = "text" if channel is MessageChannel.SMS else "html"
        format = choice(TemplateFormat, draft.format or default_format, "format")
        _fits(channel, format)
        subject, body = draft.subject or "", draft.body or ""
        _check(channel, format, subject, body)
        if self.repository.template_by_name(workspace_id, name) is not None:
            raise DuplicateTemplate(f"a template is already called {name!r}", field="name")
        now = self.clock()
        row = MessageTemplate(
            workspace_id=workspace_id,
            name=name,
            channel=channel,
            format=format,
            subject=subject if channel is MessageChannel.EMAIL else "",
            body=body,
            description=(draft.description or "").strip()[:1000],
            created_by=actor,
            updated_by=actor,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        self.session.flush()
        WorkspaceService(self.session).record(
            workspace_id, actor, "template.created", row.id, {"name": name}
        )
        return row

    def change(
        self, workspace_id: str, template_id: str, draft: TemplateDraft, actor: str
    ) -> MessageTemplate:
        """Change a template's name, subject, body, format or description, checked as
        ``create`` checks. The channel cannot change: messages already queued with the
        template were written for it. Messages not yet sent use the new version."""
        row = self.get(workspace_id, template_id)
        if draft.channel is not None and draft.channel != row.channel.value:
            raise InvalidInput("a template's channel cannot change", field="channel")
        name = _name(draft.name) if draft.name is not None else row.name
        format = choice(TemplateFormat, draft.format, "format") if draft.format else row.format
        _fits(row.channel, format)
        subject = draft.subject if draft.subject is not None else row.subject
        body = draft.body if draft.body is not None else row.body
        _check(row.channel, format, subject, body)
        if name != row.name and self.repository.template_by_name(workspace_id, name) is not None:
            raise DuplicateTemplate(f"a template is already called {name!r}", field="name")
        row.name, row.format, row.subject, row.body = name, format, subject, body
        if draft.description is not None:
            row.description = draft.description.strip()[:1000]
        row.updated_by, row.updated_at = actor, self.clock()
        self.session.flush()
        WorkspaceService(self.session).record(
            workspace_id, actor, "template.changed", row.id, {"name": name}
        )
        return row

    def get(self, workspace_id: str, template_id: str) -> MessageTemplate:
        """A template by id or name; another workspace's is not found."""
        row = self.repository.template(workspace_id, template_id)
        if row is None:
            row = self.repository.template_by_name(workspace_id, template_id)
        if row is None:
            raise TemplateNotFound(f"no template {template_id!r} in this workspace")
        return row

    def list(
        self,
        workspace_id: str,
        channel: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[MessageTemplate]:
        limit = clamp_limit(limit)
        chosen = choice(MessageChannel, channel, "channel") if channel else None
        rows = self.repository.templates(workspace_id, chosen, decode_cursor(cursor), limit + 1)
        return page_from(rows, limit)

    def names(self, workspace_id: str) -> dict[str, MessageChannel]:
        """Every template's name and channel: what a journey's steps may name."""
        return self.repository.template_names(workspace_id)

    def unusable(self, workspace_id: str, name: str, channel: str) -> str | None:
        """Why a message of ``channel`` cannot be sent with the template called ``name`` (it
        does not exist, is for another channel, or does not render with sample data), or
        None when it can: what a journey checks when it is published."""
        row = self.repository.template_by_name(workspace_id, name)
        if row is None:
            return f"no template {name!r} in this workspace"
        if row.channel.value != channel:
            return f"template {name!r} is for {row.channel.value}, not {channel}"
        try:
            rendering.check(row.channel, row.format, row.subject, row.body)
        except rendering.RenderError as error:
            return f"template {name!r} does not render: {error.fault.describe()}"
        return None

    def preview(
        self,
        workspace_id: str,
        template_id: str,
        profile_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        purpose: str = MessagePurpose.MARKETING.value,
    ) -> Preview:
        """The template as ``profile_id`` would receive it, their recommendations included
        (sample data for what is not given). Refuses (404) an unknown template or profile,
        (422) a context key no message carries and a template that does not render with this
        person's data."""
        row = self.get(workspace_id, template_id)
        chosen = choice(MessagePurpose, purpose, "purpose")
        data = rendering.sample_context()
        for key, value in (context or {}).items():
            if key not in rendering.CONTEXT_KEYS:
                raise InvalidInput(
                    f"context may hold {', '.join(rendering.CONTEXT_KEYS)}", field=key
                )
            data[key] = value
        rules = MessageSettings(self.session).rules(workspace_id)
        data["brand"] = {"name": rules.brand_name, "help": rules.help_text}
        if profile_id:
            profile = ProfileService(self.session).resolve(workspace_id, profile_id)
            data["profile"] = rendering.profile_view(dict(profile.traits), profile.id)
            if rendering.uses(rendering.RECOMMENDATIONS, row.subject, row.body):
                picks = RecommendationService(self.session).for_profile(workspace_id, profile.id)
                data[rendering.RECOMMENDATIONS] = [pick.as_context() for pick in picks]
        try:
            rendered = rendering.render(row.channel, row.format, row.subject, row.body, data)
        except rendering.RenderError as error:
            raise _refusal(error.fault) from None
        if row.channel is MessageChannel.SMS:
            text = rendered.body
            if chosen is MessagePurpose.MARKETING:
                text = domain.with_disclosure(text)
            segments = domain.sms_segments(text)
            return Preview("", text, text, segments.encoding, segments.count, len(text))
        return Preview(rendered.subject, rendered.body, rendered.text, None, None,
                       len(rendered.body))  # fmt: skip


def _refusal(fault: rendering.RenderFault) -> TemplateDoesNotRender:
    return TemplateDoesNotRender(
        fault.describe(), field=fault.field, line=fault.line, liquid_error=fault.message
    )


def _check(channel: MessageChannel, format: TemplateFormat, subject: str, body: str) -> None:
    if len(body) > rendering.MAX_BODY:
        raise InvalidInput(f"body must be at most {rendering.MAX_BODY} characters", field="body")
    if len(subject) > rendering.MAX_SUBJECT:
        raise InvalidInput(
            f"subject must be at most {rendering.MAX_SUBJECT} characters", field="subject"
        )
    for field, text in (("subject", subject), ("body", body)):
        problem = storable_text_problem(text)
        if problem is not None:
            raise InvalidInput(f"{field} {problem}", field=field)
    try:
        rendering.check(channel, format, subject, body)
    except rendering.RenderError as error:
        raise _refusal(error.fault) from None


def _name(value: str | None) -> str:
    name = (value or "").strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise InvalidInput(f"name must be 1-{NAME_MAX} printable characters", field="name")
    return name


def _fits(channel: MessageChannel, format: TemplateFormat) -> None:
    if channel is MessageChannel.SMS and format is not TemplateFormat.TEXT:
        raise InvalidInput("an SMS template is text", field="format")
