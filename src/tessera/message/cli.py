"""``tessera templates`` and ``tessera messages``: templates saved from files (checked as the
API checks them, a refusal naming the file and line), previews, and the outbox read from the
terminal; ``tessera messages reseal`` seals workspaces' SMS tokens again after a key change.
``recommend`` is ``tessera profiles recommend`` (the profiles group is the customer package's,
which sits below this one: the composition root attaches the command)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Column, Table

from tessera.cli_support import console, context, fail, friendly_errors, print_table
from tessera.message.configuration import MessageSettings
from tessera.message.errors import TemplateDoesNotRender, TemplateNotFound
from tessera.message.recommend import DEFAULT_COUNT, MAX_COUNT
from tessera.message.recommendations import RecommendationService
from tessera.message.service import MessageService, make_filter
from tessera.message.templates import TemplateDraft, TemplateService
from tessera.workspace.service import WorkspaceService

templates_cli = typer.Typer(help="Email and SMS templates (Liquid).", no_args_is_help=True)
messages_cli = typer.Typer(help="The outbox: every email and SMS.", no_args_is_help=True)
WORKSPACE = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""  # type: ignore[attr-defined]


@templates_cli.command("list")
@friendly_errors
def templates_list(
    ctx: typer.Context,
    workspace: str = WORKSPACE,
    channel: str = typer.Option("", help="email or sms"),
) -> None:
    """Templates, newest first."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        page = TemplateService(session).list(ws.id, channel or None, limit=200)
        table = Table(Column("name", no_wrap=True), "channel", "format", "subject", "updated (UTC)")
        for row in page.items:
            table.add_row(escape(row.name), row.channel.value, row.format.value,
                          escape(row.subject[:60]), _when(row.updated_at))  # fmt: skip
        console().print(table)


@templates_cli.command("save")
@friendly_errors
def templates_save(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The template's name"),
    path: str = typer.Argument(..., help="A file with the body (Liquid), or - for stdin"),
    workspace: str = WORKSPACE,
    channel: str = typer.Option("", help="email or sms (a new template needs one)"),
    format: str = typer.Option("", help="html, mjml or text (default: html; SMS: text)"),
    subject: str | None = typer.Option(None, help="An email's subject (Liquid)"),
) -> None:
    """Create the template, or change it if the name exists; refused unless it renders."""
    source = "stdin" if path == "-" else path
    try:
        body = sys.stdin.read() if path == "-" else Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read {source}: {error}") from None
    cli = context(ctx)
    try:
        with cli.session() as session:
            ws = WorkspaceService(session).find_workspace(workspace)
            service = TemplateService(session)
            draft = TemplateDraft(name=name, channel=channel or None, format=format or None,
                                  subject=subject, body=body)  # fmt: skip
            try:
                existing = service.get(ws.id, name)
            except TemplateNotFound:
                row = service.create(ws.id, draft, actor="cli")
                verb = "created"
            else:
                row = service.change(ws.id, existing.id, draft, actor="cli")
                verb = "changed"
            template_id = row.id
    except TemplateDoesNotRender as refusal:
        field, line = refusal.extensions.get("field"), refusal.extensions.get("line")
        where = source if field == "body" else "--subject"
        at = f" line {line}" if line else ""
        raise fail(f"{where}{at}: {refusal.extensions.get('liquid_error') or refusal.detail} "
                   f"(field: {field})") from None  # fmt: skip
    console().print(f"{verb} template {escape(name)} ({template_id})")


@templates_cli.command("preview")
@friendly_errors
def templates_preview(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The template's name or id"),
    workspace: str = WORKSPACE,
    profile: str = typer.Option("", help="Render for this profile (default: sample data)"),
    purpose: str = typer.Option("marketing", help="marketing or transactional"),
) -> None:
    """The template as the person would receive it: subject and text, and for SMS the
    encoding and segment count."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        preview = TemplateService(session).preview(ws.id, name, profile or None, None, purpose)
    out = console()
    if preview.subject:
        out.print(f"Subject: {escape(preview.subject)}")
    if preview.sms_segments is not None:
        out.print(f"SMS: {preview.characters} characters, {preview.sms_encoding}, "
                  f"{preview.sms_segments} segment(s)")  # fmt: skip
    out.print(escape(preview.text))


@messages_cli.command("list")
@friendly_errors
def messages_list(
    ctx: typer.Context,
    workspace: str = WORKSPACE,
    status: str = typer.Option("", help="queued, held, sending, sent, skipped, failed..."),
    channel: str = typer.Option("", help="email or sms"),
    profile: str = typer.Option("", help="One profile's messages"),
    template: str = typer.Option("", help="One template's messages"),
    reason: str = typer.Option("", help="Why skipped or held: no_consent, quiet_hours..."),
    limit: int = typer.Option(50, min=1, max=200),
) -> None:
    """The outbox, newest first."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        where = make_filter(status, channel, None, profile, template, reason)
        page = MessageService(session).list(ws.id, where, None, limit)
        table = Table(Column("id", no_wrap=True), "channel", "purpose", "template", "to",
                      "status", "reason", "queued (UTC)", "sent (UTC)")  # fmt: skip
        for row in page.items:
            table.add_row(row.id, row.channel.value, row.purpose.value, escape(row.template_name),
                          escape(row.to_address or ""), row.status.value, row.reason or "",
                          _when(row.queued_at), _when(row.sent_at))  # fmt: skip
        console().print(table)


@messages_cli.command("show")
@friendly_errors
def messages_show(
    ctx: typer.Context,
    message_id: str = typer.Argument(..., help="The message's id"),
    workspace: str = WORKSPACE,
) -> None:
    """One message: where it stands, why, and what was sent (the text part of an email)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        row = MessageService(session).get(ws.id, message_id)
        out = console()
        fields = [
            ("id", row.id), ("status", row.status.value), ("reason", row.reason or ""),
            ("detail", row.reason_detail or ""), ("channel", row.channel.value),
            ("purpose", row.purpose.value), ("template", row.template_name),
            ("profile", row.profile_id), ("to", row.to_address or ""),
            ("from", row.from_address or ""), ("provider id", row.provider_id or ""),
            ("queued", _when(row.queued_at)), ("held until", _when(row.next_attempt_at)),
            ("sent", _when(row.sent_at)), ("delivered", _when(row.delivered_at)),
            ("clicks", str(row.click_count)),
        ]  # fmt: skip
        for label, value in fields:
            if value:
                out.print(f"{label:>12}: {escape(value)}")
        if row.subject:
            out.print(f"{'subject':>12}: {escape(row.subject)}")
        if row.body_text:
            out.print("")
            out.print(escape(row.body_text))


@messages_cli.command("reseal")
@friendly_errors
def messages_reseal(ctx: typer.Context) -> None:
    """Seal every workspace's own SMS auth token again under the current TESSERA_SECRET_KEY
    (run with the old key in TESSERA_PREVIOUS_SECRET_KEYS); then the old key can go."""
    cli = context(ctx)
    with cli.session() as session:
        count = MessageSettings(session, cli.get_settings()).reseal_credentials()
    console().print(f"resealed the SMS credentials of {count} workspace(s)")


@friendly_errors
def recommend(
    ctx: typer.Context,
    profile_id: str = typer.Argument(..., help="The profile's id"),
    workspace: str = WORKSPACE,
    limit: int = typer.Option(DEFAULT_COUNT, min=1, max=MAX_COUNT, help="How many"),
) -> None:
    """Products the person may like: bought together by others, in stock where they shop."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        picks = RecommendationService(session).for_profile(ws.id, profile_id, limit)
        if not picks:
            console().print("No recommendations: nothing bought yet, or nothing in stock.")
            return
        table = Table(Column("sku", no_wrap=True), "name", "price")
        for pick in picks:
            price = f"{pick.price} {pick.currency}" if pick.price else ""
            table.add_row(escape(pick.sku), escape(pick.name), price)
        print_table(table)
