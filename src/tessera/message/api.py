"""``/v1/templates``, ``/v1/messages`` and ``/v1/message-settings``: templates checked at save
and previewed, the outbox read and transactional sends queued, bounce and complaint reports,
and the SMS provider's webhooks (status callbacks, inbound replies), checked by signature.

Roles: viewers read; marketers write templates, queue messages and report email events;
admins change the sending settings. The SMS webhooks take no key: the provider signs them with
the account's auth token (``X-Twilio-Signature``) and an unsigned or altered one is refused.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from fastapi import Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from tessera.config import Settings
from tessera.http.routing import AppSettings, DbSession, router
from tessera.integrations.sms.signature import SIGNATURE_HEADER, is_valid
from tessera.message.compliance import Compliance
from tessera.message.configuration import MessageSettings, SettingsChange
from tessera.message.errors import BadSignature, MessageNotFound
from tessera.message.feedback import Feedback
from tessera.message.recommend import DEFAULT_COUNT, MAX_COUNT
from tessera.message.recommendations import RecommendationService
from tessera.message.repository import MessageFilter
from tessera.message.schemas import (
    MessageEventIn,
    MessageIn,
    MessageOut,
    MessagePage,
    MessageSummary,
    PreviewIn,
    PreviewOut,
    RecommendationList,
    RecommendationOut,
    SettingsOut,
    SettingsPatch,
    TemplateIn,
    TemplateOut,
    TemplatePage,
    TemplatePatch,
)
from tessera.message.service import MessageService, make_filter
from tessera.message.templates import TemplateDraft, TemplateService
from tessera.workspace.auth import Admin, Marketer, Viewer
from tessera.workspace.errors import WorkspaceNotFound
from tessera.workspace.service import WorkspaceService

api = router(prefix="/v1", tags=["messages"])
CURSOR = Query(default=None)
LIMIT = Query(default=50, ge=1, le=200)


def _clock(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.clock


# Templates ------------------------------------------------------------------------------------


@api.get("/templates", response_model=TemplatePage, summary="Templates, newest first")
def list_templates(
    request: Request,
    principal: Viewer,
    session: DbSession,
    channel: str | None = Query(default=None, max_length=10),
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
) -> TemplatePage:
    page = TemplateService(session, _clock(request)).list(
        principal.workspace_id, channel, cursor, limit
    )
    return TemplatePage(
        items=[TemplateOut.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )


@api.post(
    "/templates",
    response_model=TemplateOut,
    status_code=201,
    summary="Save a template; refused (422, naming the field and line) unless it renders",
)
def create_template(
    body: TemplateIn, request: Request, principal: Marketer, session: DbSession
) -> TemplateOut:
    draft = TemplateDraft(
        name=body.name,
        channel=body.channel.value,
        format=body.format.value if body.format else None,
        subject=body.subject,
        body=body.body,
        description=body.description,
    )
    row = TemplateService(session, _clock(request)).create(
        principal.workspace_id, draft, principal.actor
    )
    return TemplateOut.model_validate(row)


@api.get("/templates/{template_id}", response_model=TemplateOut, summary="One template")
def get_template(template_id: str, principal: Viewer, session: DbSession) -> TemplateOut:
    return TemplateOut.model_validate(
        TemplateService(session).get(principal.workspace_id, template_id)
    )


@api.patch(
    "/templates/{template_id}",
    response_model=TemplateOut,
    summary="Change a template; checked as when it was created",
)
def change_template(
    template_id: str,
    body: TemplatePatch,
    request: Request,
    principal: Marketer,
    session: DbSession,
) -> TemplateOut:
    draft = TemplateDraft(
        name=body.name,
        format=body.format.value if body.format else None,
        subject=body.subject,
        body=body.body,
        description=body.description,
    )
    row = TemplateService(session, _clock(request)).change(
        principal.workspace_id, template_id, draft, principal.actor
    )
    return TemplateOut.model_validate(row)


@api.post(
    "/templates/{template_id}/preview",
    response_model=PreviewOut,
    summary="Render a template for a chosen profile (SMS: with its segment count)",
)
def preview_template(
    template_id: str, body: PreviewIn, principal: Viewer, session: DbSession
) -> PreviewOut:
    preview = TemplateService(session).preview(
        principal.workspace_id, template_id, body.profile_id, body.context, body.purpose.value
    )
    return PreviewOut(
        subject=preview.subject,
        body=preview.body,
        text=preview.text,
        sms_encoding=preview.sms_encoding,
        sms_segments=preview.sms_segments,
        characters=preview.characters,
    )


# The outbox -----------------------------------------------------------------------------------


@api.get("/messages", response_model=MessagePage, summary="The outbox, newest first, filtered")
def list_messages(
    principal: Viewer,
    session: DbSession,
    status: str | None = Query(default=None, max_length=20),
    channel: str | None = Query(default=None, max_length=10),
    purpose: str | None = Query(default=None, max_length=20),
    profile_id: str | None = Query(default=None, max_length=40),
    template: str | None = Query(default=None, max_length=200),
    reason: str | None = Query(default=None, max_length=60),
    journey_id: str | None = Query(default=None, max_length=40),
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
) -> MessagePage:
    where: MessageFilter = make_filter(
        status, channel, purpose, profile_id, template, reason, journey_id
    )
    page = MessageService(session).list(principal.workspace_id, where, cursor, limit)
    return MessagePage(
        items=[MessageSummary.model_validate(m) for m in page.items], next_cursor=page.next_cursor
    )


@api.get("/messages/{message_id}", response_model=MessageOut, summary="One message, as sent")
def get_message(message_id: str, principal: Viewer, session: DbSession) -> MessageOut:
    return MessageOut.of(MessageService(session).get(principal.workspace_id, message_id))


@api.post(
    "/messages",
    response_model=MessageOut,
    status_code=202,
    summary="Queue a message (transactional by default); the same key returns the first",
)
def queue_message(
    body: MessageIn, request: Request, principal: Marketer, session: DbSession
) -> MessageOut:
    row = MessageService(session, _clock(request)).queue(
        principal.workspace_id,
        body.profile_id,
        body.channel,
        body.template,
        idempotency_key=body.idempotency_key,
        purpose=body.purpose,
        context=body.context,
        not_before=body.not_before,
        origin={"kind": "api", "actor": principal.actor},
    )
    return MessageOut.of(row)


@api.post(
    "/messages/{message_id}/events",
    response_model=MessageOut,
    summary="Report a delivery, bounce or complaint for an email (a bounce processor's call)",
)
def report_email_event(
    message_id: str, body: MessageEventIn, request: Request, principal: Marketer,
    session: DbSession,
) -> MessageOut:  # fmt: skip
    row = Feedback(session, _clock(request)).email_event(
        principal.workspace_id, message_id, body.type, body.detail
    )
    if row is None:
        raise MessageNotFound(f"no email {message_id} in this workspace")
    return MessageOut.of(row)


# Settings -------------------------------------------------------------------------------------


@api.get(
    "/message-settings", response_model=SettingsOut, summary="Sender identity and sending rules"
)
def get_settings(principal: Viewer, session: DbSession, settings: AppSettings) -> SettingsOut:
    return SettingsOut.of(MessageSettings(session, settings).current(principal.workspace_id))


@api.patch(
    "/message-settings",
    response_model=SettingsOut,
    summary="Change the sender identity, quiet hours, caps or the SMS account",
)
def change_settings(
    body: SettingsPatch, principal: Admin, session: DbSession, settings: AppSettings
) -> SettingsOut:
    values = body.model_dump(exclude_unset=True)
    clear_zone = values.get("default_timezone") == ""
    if clear_zone:
        values.pop("default_timezone")
    change = SettingsChange(**values, clear_default_timezone=clear_zone)
    row = MessageSettings(session, settings).change(principal.workspace_id, change, principal.actor)
    return SettingsOut.of(row)


# The SMS provider's webhooks ------------------------------------------------------------------


async def _signed_form(
    request: Request, session: Session, settings: Settings, workspace_id: str, signature: str | None
) -> dict[str, str]:
    """The webhook's form, once its signature holds for the URL the provider called (our
    public URL: behind a proxy the request's own URL is not the one that was signed)."""
    body = (await request.body()).decode("utf-8", "replace")
    params = parse_qsl(body, keep_blank_values=True)
    url = settings.public_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query

    def token() -> str | None:
        try:
            WorkspaceService(session).get_workspace(workspace_id)
        except WorkspaceNotFound:
            return None  # refused like a bad signature: the path's id proves nothing
        configuration = MessageSettings(session, settings)
        return configuration.sms_auth_token(configuration.current(workspace_id))

    auth_token = await run_in_threadpool(token)
    if not auth_token or not is_valid(auth_token, url, params, signature):
        raise BadSignature("the X-Twilio-Signature does not match this request")
    return dict(params)


Signature = Annotated[str | None, Header(alias=SIGNATURE_HEADER)]
UNSIGNED: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "The X-Twilio-Signature is missing or does not match the request",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
}


@api.post(
    "/messages/sms/{workspace_id}/status",
    status_code=204,
    summary="The SMS provider's status callback (delivered, undelivered, failed)",
    responses=UNSIGNED,
    description="Form-encoded as Twilio sends it, signed with `X-Twilio-Signature`.",
)
async def sms_status(
    workspace_id: str,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    signature: Signature = None,
    message_id: str | None = Query(default=None, max_length=40),
) -> Response:
    form = await _signed_form(request, session, settings, workspace_id, signature)
    await run_in_threadpool(
        Feedback(session, _clock(request)).sms_status,
        workspace_id,
        message_id,
        form.get("MessageSid", ""),
        form.get("MessageStatus", ""),
        form.get("ErrorCode") or None,
    )
    return Response(status_code=204)


@api.post(
    "/messages/sms/{workspace_id}/inbound",
    summary="Inbound SMS: STOP, START, HELP and the double opt-in's Y, answered in TwiML",
    description="Form-encoded as Twilio sends it, signed with `X-Twilio-Signature`.",
    response_class=Response,
    responses={
        200: {"content": {"text/xml": {}}, "description": "TwiML: the reply, if any"},
        **UNSIGNED,
    },
)
async def sms_inbound(
    workspace_id: str,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    signature: Signature = None,
) -> Response:
    form = await _signed_form(request, session, settings, workspace_id, signature)
    reply = await run_in_threadpool(
        Compliance(session, _clock(request), settings).inbound_sms,
        workspace_id,
        form.get("From", ""),
        form.get("Body", ""),
        form.get("MessageSid", ""),
    )
    inner = f"<Message>{escape(reply)}</Message>" if reply else ""
    twiml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
    return Response(twiml, media_type="text/xml")


# Recommendations ------------------------------------------------------------------------------


@api.get(
    "/profiles/{profile_id}/recommendations",
    response_model=RecommendationList,
    tags=["profiles"],
    summary="Products the person may like: bought together by others, in stock where they shop",
)
def get_recommendations(
    request: Request,
    profile_id: str,
    principal: Viewer,
    session: DbSession,
    limit: int = Query(default=DEFAULT_COUNT, ge=1, le=MAX_COUNT),
) -> RecommendationList:
    """What a template's ``recommendations`` would hold for this person now; 404 for a
    profile of another workspace or none."""
    service = RecommendationService(session, _clock(request))
    resolved = service.profiles.resolve(principal.workspace_id, profile_id).id
    picks = service.for_profile(principal.workspace_id, resolved, limit)
    return RecommendationList(
        profile_id=resolved,
        items=[RecommendationOut.model_validate(pick.as_context()) for pick in picks],
    )
