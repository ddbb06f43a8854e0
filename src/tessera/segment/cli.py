"""``tessera segments`` and ``tessera audiences``: segments from a JSON rule, their members,
previews and refreshes; audiences, their members, CSV exports and uploads to Meta or TikTok."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tessera.cli_support import console, context, fail, friendly_errors
from tessera.integrations.meta_audiences import AudienceError, MetaAudiences
from tessera.integrations.tiktok_audiences import TikTokAudiences
from tessera.segment.membership import Membership
from tessera.segment.service import SegmentService, Uploader
from tessera.workspace.service import WorkspaceService

segments_cli = typer.Typer(help="Segments: who matches a rule over traits, events and orders.")
audiences_cli = typer.Typer(help="Audiences: named lists of people, exported to ad platforms.")
ACTOR = "cli"
WorkspaceOption = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")
MAX_FILE_BYTES = 256 * 1024


def read_rule(rule: str | None, path: Path | None) -> Any:
    """The rule given inline (``--rule``) or in a file (``--rule-file``); JSON that does not
    parse fails naming the line and column."""
    if (rule is None) == (path is None):
        raise fail("give exactly one of --rule or --rule-file")
    where = "--rule"
    if path is not None:
        where = str(path)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise fail(f"{path}: larger than {MAX_FILE_BYTES // 1024} KB")
            rule = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(f"{path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise fail(f"{path}: not UTF-8 text") from None
    assert rule is not None
    try:
        return json.loads(rule)
    except json.JSONDecodeError as exc:
        raise fail(f"{where} line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


@segments_cli.command("list")
@friendly_errors
def segments_list(ctx: typer.Context, workspace: str = WorkspaceOption) -> None:
    """The workspace's segments with their sizes."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        table = Table("id", "name", "members", "refreshed")
        for segment, members in SegmentService(session).list_segments(ws.id):
            refreshed = segment.refreshed_at.isoformat() if segment.refreshed_at else "never"
            table.add_row(segment.id, segment.name, str(members), refreshed)
        console().print(table)


@segments_cli.command("create")
@friendly_errors
def segments_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The segment's name, unique in the workspace"),
    workspace: str = WorkspaceOption,
    rule: str | None = typer.Option(None, help="The rule as JSON"),
    rule_file: Path | None = typer.Option(None, help="A file holding the rule as JSON"),
) -> None:
    """Save a segment; its members are computed by the worker's refresh (or ``refresh``)."""
    document = read_rule(rule, rule_file)
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        segment = SegmentService(session).create(ws.id, name, document)
        console().print(f"Created segment {segment.id} {segment.name!r}.", highlight=False)


@segments_cli.command("preview")
@friendly_errors
def segments_preview(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    rule: str | None = typer.Option(None, help="The rule as JSON"),
    rule_file: Path | None = typer.Option(None, help="A file holding the rule as JSON"),
) -> None:
    """How many people a rule would hold now, saving nothing."""
    document = read_rule(rule, rule_file)
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        found = SegmentService(session).preview(ws.id, document)
        console().print(f"{found.matching} of {found.scanned} people match.", highlight=False)
        for profile_id in found.sample:
            console().print(f"  {profile_id}", highlight=False)


@segments_cli.command("show")
@friendly_errors
def segments_show(
    ctx: typer.Context,
    segment_id: str = typer.Argument(..., help="Segment id"),
    workspace: str = WorkspaceOption,
    limit: int = typer.Option(20, min=1, max=200, help="How many members to list"),
) -> None:
    """One segment: its rule, size and newest members."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = SegmentService(session)
        segment = service.get(ws.id, segment_id)
        console().print(
            f"{segment.id} {segment.name!r}: {service.member_count(segment.id)} member(s)",
            highlight=False,
        )
        console().print(json.dumps(segment.rule, indent=2), highlight=False)
        for member in service.members(ws.id, segment.id, limit=limit).items:
            console().print(
                f"  {member.profile_id} since {member.entered_at.isoformat()}", highlight=False
            )


@segments_cli.command("refresh")
@friendly_errors
def segments_refresh(ctx: typer.Context, workspace: str = WorkspaceOption) -> None:
    """Recompute every person's memberships now (what the hourly sweep does)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        membership = Membership(session)
        after: str | None = None
        while True:
            after = membership.refresh_page(ws.id, after)
            if after is None:
                break
        console().print("Refreshed every segment.", highlight=False)


@segments_cli.command("delete")
@friendly_errors
def segments_delete(
    ctx: typer.Context,
    segment_id: str = typer.Argument(..., help="Segment id"),
    workspace: str = WorkspaceOption,
) -> None:
    """Delete a segment and its memberships."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        SegmentService(session).delete(ws.id, segment_id)
        console().print(f"Deleted segment {segment_id}.", highlight=False)


# Audiences ------------------------------------------------------------------------------------


@audiences_cli.command("list")
@friendly_errors
def audiences_list(ctx: typer.Context, workspace: str = WorkspaceOption) -> None:
    """The workspace's audiences with their sizes."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        table = Table("id", "name", "members", "fed by")
        for audience, members in SegmentService(session).audiences(ws.id):
            table.add_row(
                audience.id, audience.name, str(members), audience.source_segment_id or ""
            )
        console().print(table)


@audiences_cli.command("create")
@friendly_errors
def audiences_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The audience's name, unique in the workspace"),
    workspace: str = WorkspaceOption,
    segment: str | None = typer.Option(None, help="Feed it from this segment id"),
) -> None:
    """Create an audience, empty or fed by a segment."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        audience = SegmentService(session).create_audience(ws.id, name, segment, actor=ACTOR)
        console().print(f"Created audience {audience.id} {audience.name!r}.", highlight=False)


@audiences_cli.command("add")
@friendly_errors
def audiences_add(
    ctx: typer.Context,
    audience: str = typer.Argument(..., help="Audience id or name"),
    profile_id: str = typer.Argument(..., help="Profile id"),
    workspace: str = WorkspaceOption,
) -> None:
    """Add a person to an audience."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        changed = SegmentService(session).change_audience(
            ws.id, audience, profile_id, add=True, actor=ACTOR
        )
        console().print("Added." if changed else "Already there.", highlight=False)


@audiences_cli.command("remove")
@friendly_errors
def audiences_remove(
    ctx: typer.Context,
    audience: str = typer.Argument(..., help="Audience id or name"),
    profile_id: str = typer.Argument(..., help="Profile id"),
    workspace: str = WorkspaceOption,
) -> None:
    """Remove a person from an audience."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        changed = SegmentService(session).change_audience(
            ws.id, audience, profile_id, add=False, actor=ACTOR
        )
        console().print("Removed." if changed else "Was not there.", highlight=False)


@audiences_cli.command("export")
@friendly_errors
def audiences_export(
    ctx: typer.Context,
    audience_id: str = typer.Argument(..., help="Audience id"),
    workspace: str = WorkspaceOption,
    format_: str = typer.Option("meta", "--format", help="meta or tiktok"),
    out: Path = typer.Option(..., "--out", "-o", help="The CSV file to write"),
) -> None:
    """Write the audience's consenting members as a hashed custom-audience CSV."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        text = SegmentService(session).export_csv(ws.id, audience_id, format_)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"{out}: {exc.strerror or exc}") from None
    console().print(f"Wrote {text.count(chr(10)) - 1} people to {out}.", highlight=False)


@audiences_cli.command("push")
@friendly_errors
def audiences_push(
    ctx: typer.Context,
    audience_id: str = typer.Argument(..., help="Audience id"),
    workspace: str = WorkspaceOption,
    platform: str = typer.Option(..., help="meta or tiktok"),
    target: str = typer.Option(..., help="The platform's audience (Meta) or segment (TikTok) id"),
    base_url: str = typer.Option(..., help="The platform API's base URL"),
    advertiser: str | None = typer.Option(None, help="TikTok advertiser id"),
) -> None:
    """Upload the audience's consenting members' hashes to Meta or TikTok; the access token
    is read from TESSERA_AUDIENCE_TOKEN (never a flag: it would land in shell history)."""
    token = os.environ.get("TESSERA_AUDIENCE_TOKEN")
    if not token:
        raise fail("set TESSERA_AUDIENCE_TOKEN to the platform's access token")
    uploader: Uploader
    if platform == "meta":
        uploader = MetaAudiences(base_url, token)
    elif platform == "tiktok":
        if not advertiser:
            raise fail("--advertiser is required for tiktok")
        uploader = TikTokAudiences(base_url, token, advertiser)
    else:
        raise fail("--platform must be meta or tiktok")
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        try:
            receipt = SegmentService(session).upload(ws.id, audience_id, uploader, target)
        except AudienceError as exc:
            raise fail(str(exc)) from None
    console().print(
        f"Sent {receipt.received} people in {receipt.batches} batch(es); "
        f"{receipt.invalid} refused as invalid.",
        highlight=False,
    )
