"""``tessera rights``: record a license, list an asset's licenses and what ends soon, ask
whether an asset may be used somewhere, and mark the placements of ended licenses for
takedown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import typer
from rich.table import Table

from tessera.cli_support import console, context, friendly_errors, print_table
from tessera.models.rights import AssetLicense
from tessera.rights.domain import Usage, Use
from tessera.rights.service import LicenseDraft, RightsService
from tessera.workspace.service import WorkspaceService

rights_cli = typer.Typer(help="Usage rights: licenses, the rights check and takedowns.")
WorkspaceOption = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")


def _licenses_table(rows: Sequence[AssetLicense]) -> None:
    table = Table("license", "asset", "usages", "territories", "ends", "state")
    for row in rows:
        ends = row.ends_at.strftime("%Y-%m-%d %H:%M UTC") if row.ends_at else "never"
        state = "revoked" if row.revoked_at else "active"
        table.add_row(row.id, row.asset_id, ", ".join(row.usages),
                      ", ".join(row.territories) or "worldwide", ends, state)  # fmt: skip
    print_table(table)


@rights_cli.command("grant")
@friendly_errors
def grant(
    ctx: typer.Context,
    asset: str = typer.Argument(..., help="The asset (its renditions inherit the license)"),
    usage: list[str] = typer.Option(..., "--usage", "-u", help="organic, paid_social, ..."),
    first_day: datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"]),
    last_day: datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"], help="Included"),
    zone: str = typer.Option("UTC", "--zone", help="The contract's time zone"),
    territory: list[str] = typer.Option([], "--territory", "-t", help="ISO 3166; none: world"),
    platform: list[str] = typer.Option([], "--platform", "-p", help="None: every platform"),
    workspace: str = WorkspaceOption,
) -> None:
    """Record the license a creator granted for ASSET."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        draft = LicenseDraft(
            asset, usage, first_day.date(), last_day.date() if last_day else None, zone,
            platform, territory,
        )  # fmt: skip
        row = RightsService(session).grant(ws.id, draft)
        _licenses_table([row])


@rights_cli.command("licenses")
@friendly_errors
def licenses(
    ctx: typer.Context, asset: str = typer.Argument(...), workspace: str = WorkspaceOption
) -> None:
    """The licenses that govern ASSET (its own and its master's)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        _licenses_table(RightsService(session).licenses(ws.id, asset))


@rights_cli.command("expiring")
@friendly_errors
def expiring(
    ctx: typer.Context,
    days: int = typer.Option(30, "--days", "-d", help="Ending within this many days"),
    workspace: str = WorkspaceOption,
) -> None:
    """Licenses ending soon, soonest first."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        _licenses_table(RightsService(session).expiring(ws.id, days))


@rights_cli.command("check")
@friendly_errors
def check(
    ctx: typer.Context,
    asset: str = typer.Argument(...),
    channel: str = typer.Option(..., "--channel", "-c", help="tiktok, email, website, ..."),
    usage: Usage = typer.Option(..., "--usage", "-u"),
    territory: str = typer.Option(..., "--territory", "-t", help="ISO 3166 alpha-2"),
    on: datetime = typer.Option(None, "--on", formats=["%Y-%m-%d"], help="A day (UTC)"),
    workspace: str = WorkspaceOption,
) -> None:
    """May ASSET be used on CHANNEL as USAGE in TERRITORY (now, or on a day)? Exits 1 if not."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = RightsService(session)
        at = on.replace(tzinfo=UTC) if on else service.clock()
        decision = service.check(ws.id, asset, Use(channel, usage, territory, at))
    word = "[green]allowed[/green]" if decision.allowed else "[red]refused[/red]"
    console().print(f"{word}: {decision.reason}", highlight=False)
    if not decision.allowed:
        raise typer.Exit(1)


@rights_cli.command("takedowns")
@friendly_errors
def takedowns(ctx: typer.Context, workspace: str = WorkspaceOption) -> None:
    """Mark the live placements of ended or revoked licenses for takedown."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        marked = RightsService(session).takedowns(ws.id)
    console().print(f"{marked} placement(s) marked for takedown", highlight=False)
