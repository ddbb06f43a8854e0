"""``tessera merges``: the merge log, manual merges and unmerges from the terminal."""

from __future__ import annotations

import typer
from rich.table import Table

from tessera.cli_support import console, context, friendly_errors, print_table
from tessera.identity.graph.service import IdentityService
from tessera.workspace.service import WorkspaceService

merges_cli = typer.Typer(help="Merges of profiles: list, merge, unmerge.", no_args_is_help=True)
WORKSPACE = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")


@merges_cli.command("list")
@friendly_errors
def merges_list(
    ctx: typer.Context,
    workspace: str = WORKSPACE,
    profile: str = typer.Option(None, help="Only merges touching this profile"),
    limit: int = typer.Option(50, min=1, max=500),
) -> None:
    """List merges, newest first, with their cause."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        rows = IdentityService(session).merge_log(ws.id, profile_id=profile, limit=limit)
        table = Table("when", "survivor", "absorbed", "cause", "by", "undone")
        table.add_column("id", no_wrap=True)
        for row in rows:
            table.add_row(
                row.created_at.isoformat(timespec="seconds"),
                row.survivor_profile_id,
                row.absorbed_profile_id,
                f"{row.cause_kind}: {row.cause_ref}",
                row.actor or "",
                row.undone_at.isoformat(timespec="seconds") if row.undone_at else "",
                row.id,
            )
        print_table(table)


@merges_cli.command("merge")
@friendly_errors
def merges_merge(
    ctx: typer.Context,
    first: str = typer.Argument(..., help="A profile id"),
    second: str = typer.Argument(..., help="The other profile id"),
    workspace: str = WORKSPACE,
    reason: str = typer.Option("", help="Why, for the audit log"),
) -> None:
    """Merge two profiles by hand (guard-rails and split rules still apply)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        row = IdentityService(session).merge_profiles(
            ws.id, first, second, cause_kind="manual", cause_ref="cli", evidence={"reason": reason}
        )
        WorkspaceService(session).record(ws.id, "cli", "profile.merged", row.id, {"reason": reason})
        console().print(
            f"merged {row.absorbed_profile_id} into {row.survivor_profile_id} ({row.id})"
        )


@merges_cli.command("unmerge")
@friendly_errors
def merges_unmerge(
    ctx: typer.Context,
    merge_id: str = typer.Argument(..., help="The merge to undo (mrg_...)"),
    workspace: str = WORKSPACE,
    reason: str = typer.Option("", help="Why, for the audit log"),
) -> None:
    """Undo a merge; the two sides stay apart from now on (a split rule)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        result = IdentityService(session).unmerge(ws.id, merge_id, actor="cli", reason=reason)
        WorkspaceService(session).record(
            ws.id, "cli", "profile.unmerged", merge_id, {"profiles": list(result.profile_ids)}
        )
        console().print(f"undid {merge_id}: profiles {', '.join(result.profile_ids)}")
