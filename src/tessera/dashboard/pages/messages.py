"""Messages: the outbox, where every email and SMS can be read as it was sent (an email's HTML
in a sandboxed frame: no scripts, no same-origin, no forms), with why a message was skipped
or held; and the templates, edited with the save-time check and previewed for a chosen person.

Everyone signed in may look; marketers and above save templates. Each page has its API twin
(``/v1/messages``, ``/v1/templates``), served by the same services.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from tessera.dashboard.session import Member, SignedIn, flash
from tessera.dashboard.web import DashboardRoute, link, query_string, render
from tessera.http.routing import DbSession
from tessera.kit.errors import InvalidInput, Problem
from tessera.message.domain import choice
from tessera.message.service import MessageService, make_filter
from tessera.message.templates import Preview, TemplateDraft, TemplateService
from tessera.models.message import (
    MessageChannel,
    MessagePurpose,
    MessageStatus,
    MessageTemplate,
    TemplateFormat,
)
from tessera.models.workspace import Role

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 50
FILTERS = ("status", "channel", "purpose", "reason", "template", "profile")


@pages.get("/messages")
def outbox(
    request: Request,
    member: SignedIn,
    session: DbSession,
    status: str = "",
    channel: str = "",
    purpose: str = "",
    reason: str = "",
    template: str = "",
    profile: str = "",
    cursor: str | None = None,
) -> Response:
    """The outbox, newest first; the filters stay in the URL."""
    service = MessageService(session)
    where = make_filter(status, channel, purpose, profile, template, reason)
    page = service.list(member.workspace.id, where, cursor, PAGE_SIZE)
    chosen = {"status": status, "channel": channel, "purpose": purpose, "reason": reason,
              "template": template, "profile": profile}  # fmt: skip
    filters = query_string(**chosen)
    context = {
        "member": member,
        "page": page,
        "counts": service.count_by_status(member.workspace.id),
        "statuses": [s.value for s in MessageStatus],
        "chosen": chosen,
        "filters": filters,
        "is_filtered": bool(filters),
        "next_url": link("/messages", **chosen, cursor=page.next_cursor)
        if page.next_cursor
        else None,
        "is_first_page": not cursor,
    }
    return render(request, "messages.html", context)


@pages.get("/messages/{message_id}")
def message(request: Request, member: SignedIn, session: DbSession, message_id: str) -> Response:
    """One message as it was sent; another workspace's is not found."""
    row = MessageService(session).get(member.workspace.id, message_id)
    return render(request, "message.html", {"member": member, "message": row})


# Templates ------------------------------------------------------------------------------------


def _template_page(
    request: Request,
    member: Member,
    session: Session,
    template: MessageTemplate | None,
    *,
    form: dict[str, str] | None = None,
    error: Problem | None = None,
    profile: str = "",
    purpose: str = MessagePurpose.MARKETING.value,
    status: int = 200,
) -> Response:
    preview: Preview | None = None
    preview_error: Problem | None = None
    if template is not None and error is None:
        try:
            preview = TemplateService(session).preview(
                member.workspace.id, template.id, profile or None, None, purpose
            )
        except Problem as problem:
            preview_error = problem
    values = form or (
        {"name": template.name, "channel": template.channel.value, "format": template.format.value,
         "subject": template.subject, "body": template.body, "description": template.description}
        if template is not None
        else {"name": "", "channel": "email", "format": "html", "subject": "", "body": "",
              "description": ""}
    )  # fmt: skip
    context = {
        "member": member,
        "template": template,
        "form": values,
        "error": error,
        "preview": preview,
        "preview_error": preview_error,
        "profile": profile,
        "purpose": purpose,
        "formats": [f.value for f in TemplateFormat],
        "channels": [c.value for c in MessageChannel],
        "can_edit": member.can(Role.MARKETER),
    }
    return render(request, "message_template.html", context, status=status)


@pages.get("/templates")
def templates(
    request: Request, member: SignedIn, session: DbSession, cursor: str | None = None
) -> Response:
    """Every template; the link to each opens its editor and preview."""
    page = TemplateService(session).list(member.workspace.id, None, cursor, PAGE_SIZE)
    context = {"member": member, "page": page, "is_first_page": not cursor}
    return render(request, "message_templates.html", context)


@pages.get("/templates/new")
def new_template(request: Request, member: SignedIn, session: DbSession) -> Response:
    return _template_page(request, member, session, None)


@pages.get("/templates/{template_id}")
def template_page(
    request: Request,
    member: SignedIn,
    session: DbSession,
    template_id: str,
    profile: str = "",
    purpose: str = MessagePurpose.MARKETING.value,
) -> Response:
    """A template's source and its preview, for the sample person or a chosen profile."""
    row = TemplateService(session).get(member.workspace.id, template_id)
    choice(MessagePurpose, purpose, "purpose")
    return _template_page(request, member, session, row, profile=profile.strip(), purpose=purpose)


@pages.post("/templates")
def save_template(
    request: Request,
    member: SignedIn,
    session: DbSession,
    template_id: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "email",
    format: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    """Create or change a template; a template that does not render is shown again with the
    field and line at fault, and nothing is saved."""
    member.require(Role.MARKETER)
    service = TemplateService(session)
    existing = service.get(member.workspace.id, template_id) if template_id else None
    form = {"name": name, "channel": channel, "format": format, "subject": subject,
            "body": body, "description": description}  # fmt: skip
    draft = TemplateDraft(name=name, channel=channel, format=format or None, subject=subject,
                          body=body, description=description)  # fmt: skip
    try:
        if existing is None:
            row = service.create(member.workspace.id, draft, actor=member.user.id)
        else:
            row = service.change(member.workspace.id, existing.id, draft, actor=member.user.id)
    except (InvalidInput, Problem) as problem:
        return _template_page(request, member, session, existing, form=form, error=problem,
                              status=problem.status)  # fmt: skip
    flash(request, f"Saved “{row.name}”.")
    return RedirectResponse(f"/templates/{row.id}", status_code=303)
