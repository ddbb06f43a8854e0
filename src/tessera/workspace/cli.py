"""``tessera workspace``, ``tessera user`` and ``tessera key`` commands.

The CLI is the operator's, run on the server with full access to every workspace: ``user add``
puts someone in a workspace directly, which the API and the dashboard never do (there people
join by accepting an invitation).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from tessera.cli_support import CliContext, console, context, friendly_errors, print_table
from tessera.models.workspace import ApiKeyKind, Role, Workspace
from tessera.workspace import domain
from tessera.workspace.membership.service import MembershipService
from tessera.workspace.service import WorkspaceService


@contextmanager
def workspace_session(cli: CliContext, id_or_slug: str) -> Iterator[tuple[Session, Workspace]]:
    """One session scope and the workspace ``--workspace`` names (by id or slug), for every
    domain's commands.

    Refuses an unknown workspace (``WorkspaceNotFound``, one red line under
    ``friendly_errors``) before the command does anything.
    """
    with cli.session() as session:
        yield session, WorkspaceService(session).find_workspace(id_or_slug)


workspace_cli = typer.Typer(help="Workspaces: one per brand.", no_args_is_help=True)
user_cli = typer.Typer(
    help="Dashboard users and their roles (the operator's commands, run on the server).",
    no_args_is_help=True,
)
key_cli = typer.Typer(help="API keys: public write keys and secret keys.", no_args_is_help=True)


@workspace_cli.command("create")
@friendly_errors
def workspace_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The brand's name"),
    slug: str = typer.Option(None, help="URL-safe short name; derived from the name if omitted"),
    region: str = typer.Option("US", help="Default phone region (ISO 3166 alpha-2)"),
) -> None:
    """Create a workspace for a brand."""
    slug = slug or "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
    with context(ctx).session() as session:
        workspace = WorkspaceService(session).create_workspace(name, slug, region)
        console().print(f"created workspace [bold]{workspace.slug}[/bold] ({workspace.id})")


@workspace_cli.command("list")
@friendly_errors
def workspace_list(ctx: typer.Context) -> None:
    """List workspaces."""
    with context(ctx).session() as session:
        table = Table("id", "slug", "name", "created")
        for ws in WorkspaceService(session).list_workspaces():
            table.add_row(ws.id, ws.slug, ws.name, ws.created_at.isoformat(timespec="seconds"))
        print_table(table)


@user_cli.command("add")
@friendly_errors
def user_add(
    ctx: typer.Context,
    email: str = typer.Argument(...),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    role: Role = typer.Option(Role.VIEWER, help="owner, admin, marketer, analyst or viewer"),
    name: str = typer.Option("", help="Display name"),
    password: str = typer.Option(
        None, help="Password for a new user (prompted when omitted)", show_default=False
    ),
) -> None:
    """Add a user to a workspace directly, or change their role there.

    The operator's command, run on the server with full access: it needs no consent, so use it
    to set up a workspace's first owner. People added from the API or the dashboard are invited
    instead (`tessera user invite`) and join when they accept.
    """
    with context(ctx).session() as session:
        service = WorkspaceService(session)
        ws = service.find_workspace(workspace)
        if password is None and service.repository.user_by_email(email.strip().lower()) is None:
            password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        user = service.add_user(ws.id, email, role, password=password, name=name, actor="cli")
        console().print(f"{user.email} is {role.value} of {ws.slug}")


def _base_url(ctx: typer.Context, base_url: str | None) -> str:
    settings = context(ctx).get_settings()
    return base_url or f"http://{settings.host}:{settings.port}"


_BASE_URL = typer.Option(
    None, help="The dashboard's address as people reach it (default: http://HOST:PORT)"
)


@user_cli.command("invite")
@friendly_errors
def user_invite(
    ctx: typer.Context,
    email: str = typer.Argument(...),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    role: Role = typer.Option(Role.VIEWER, help="owner, admin, marketer, analyst or viewer"),
    base_url: str = _BASE_URL,
) -> None:
    """Invite someone by email and print the link to hand them (shown once)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        issued = MembershipService(session).invite(
            ws.id, email, role, actor="cli", grantor_role=None
        )
        link = domain.link_url(_base_url(ctx, base_url), domain.INVITATION_PATH, issued.token)
        console().print(f"invited {issued.invitation.email} to {ws.slug} as {role.value}")
        console().print("link (shown once, hand it to them; valid 7 days):")
        console().print(link, highlight=False, soft_wrap=True)


@user_cli.command("remove")
@friendly_errors
def user_remove(
    ctx: typer.Context,
    email: str = typer.Argument(...),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
) -> None:
    """Remove a member from a workspace; their account and other workspaces stay."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        members = MembershipService(session)
        user, _role = members.member_by_email(ws.id, email)
        members.remove_member(ws.id, user.id, actor="cli", actor_role=None)
        console().print(f"removed {user.email} from {ws.slug}")


@user_cli.command("reset-password")
@friendly_errors
def user_reset_password(
    ctx: typer.Context,
    email: str = typer.Argument(...),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    base_url: str = _BASE_URL,
) -> None:
    """Print a one-time link (valid a day) with which a member chooses a new password."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        members = MembershipService(session)
        user, _role = members.member_by_email(ws.id, email)
        issued = members.issue_password_reset(ws.id, user.id, actor="cli", actor_role=None)
        link = domain.link_url(_base_url(ctx, base_url), domain.RESET_PATH, issued.token)
        console().print(f"password reset link for {user.email} (shown once; valid 1 day):")
        console().print(link, highlight=False, soft_wrap=True)


@key_cli.command("create")
@friendly_errors
def key_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="What the key is for, e.g. 'website'"),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    kind: ApiKeyKind = typer.Option(ApiKeyKind.SECRET, help="public (write key) or secret"),
    role: Role = typer.Option(
        None, help="Role of a secret key (default: viewer, the least that can do anything)"
    ),
) -> None:
    """Create an API key and print its token once."""
    if kind is ApiKeyKind.SECRET and role is None:
        role = Role.VIEWER
    with context(ctx).session() as session:
        service = WorkspaceService(session)
        ws = service.find_workspace(workspace)
        key, token = service.create_api_key(ws.id, kind, name, role, actor="cli")
        console().print(f"created {kind.value} key {key.id} for {ws.slug}")
        console().print("token (shown once, store it now):")
        console().print(token, highlight=False, soft_wrap=True)


@key_cli.command("list")
@friendly_errors
def key_list(
    ctx: typer.Context,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
) -> None:
    """List a workspace's API keys (tokens are never shown again)."""
    with context(ctx).session() as session:
        service = WorkspaceService(session)
        ws = service.find_workspace(workspace)
        table = Table("name", "kind", "role", "prefix", "last used", "revoked")
        table.add_column("id", no_wrap=True)
        cursor: str | None = None
        while True:
            page = service.list_api_keys(ws.id, cursor, 200)
            for key in page.items:
                table.add_row(
                    key.name,
                    key.kind.value,
                    key.role.value if key.role else "-",
                    key.token_prefix + "…",
                    key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never",
                    key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "",
                    key.id,
                )
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        print_table(table)


@key_cli.command("revoke")
@friendly_errors
def key_revoke(
    ctx: typer.Context,
    key_id: str = typer.Argument(...),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
) -> None:
    """Revoke an API key; it stops working at once."""
    with context(ctx).session() as session:
        service = WorkspaceService(session)
        ws = service.find_workspace(workspace)
        key = service.revoke_api_key(ws.id, key_id, actor="cli")
        console().print(f"revoked {key.id} ({key.name})")


@workspace_cli.command("set")
@friendly_errors
def workspace_set(
    ctx: typer.Context,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    name: str = typer.Option(None, help="A new display name"),
    time_zone: str = typer.Option(None, help="IANA zone for times, e.g. Europe/Stockholm"),
    currency: str = typer.Option(None, help="ISO 4217 code for totals, e.g. SEK"),
) -> None:
    """Rename a workspace or set the zone and currency its pages show."""
    with context(ctx).session() as session:
        service = WorkspaceService(session)
        ws = service.find_workspace(workspace)
        service.update_workspace(ws.id, "cli", name=name, time_zone=time_zone, currency=currency)
        console().print(f"{ws.slug}: {ws.name} · {ws.time_zone} · {ws.currency}")


@workspace_cli.command("audit")
@friendly_errors
def workspace_audit(
    ctx: typer.Context,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    action: str = typer.Option(None, help="Actions starting with this, e.g. quarantine."),
    actor: str = typer.Option(None, help="One actor's entries (user id, key id, cli)"),
    limit: int = typer.Option(50, min=1, max=200, help="How many, newest first"),
) -> None:
    """Who did what in a workspace, newest first."""
    with context(ctx).session() as session:
        service = WorkspaceService(session)
        ws = service.find_workspace(workspace)
        page = service.audit_log(ws.id, limit, None, action, actor)
        table = Table("when", "actor", "action", "subject")
        for entry in page.items:
            table.add_row(
                entry.created_at.isoformat(timespec="seconds"),
                entry.actor,
                entry.action,
                entry.subject,
            )
        print_table(table)
        if page.next_cursor:
            console().print(f"(newest {limit} shown; raise --limit or narrow --action)")
