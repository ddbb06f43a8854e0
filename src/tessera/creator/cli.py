"""``tessera creators``: list, add, import a CSV (Rich progress; each bad row named by line
and column), search with filters, and lookalikes of chosen creators."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from tessera.cli_support import (
    console,
    context,
    error_console,
    fail,
    friendly_errors,
    is_interactive,
)
from tessera.creator.discovery import Discovery, Results
from tessera.creator.importing import HeaderError
from tessera.creator.schemas import CreatorIn, LookalikesIn, SearchIn
from tessera.creator.service import CreatorService, CreatorView
from tessera.models.creator import CreatorStatus
from tessera.workspace.service import WorkspaceService

creators_cli = typer.Typer(help="Create: creators, their accounts, and discovery.")
WorkspaceOption = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")
PlatformOption = typer.Option(None, help="Only creators with an account on this platform")
SHOWN_PROBLEMS = 50


def _followers(view: CreatorView) -> str:
    return ", ".join(f"{a.platform} @{a.handle} {a.followers:,}" for a in view.accounts)


def _print_results(results: Results) -> None:
    table = Table("creator", "name", "accounts", "fit", "safety")
    for r in results.items:
        flags = ", ".join(f"{f.term} ({f.category})" for f in r.flags)
        table.add_row(r.view.creator.id, r.view.creator.name, _followers(r.view),
                      f"{r.fit.score:.1f}", flags or "-")  # fmt: skip
    console().print(f"{results.total} match(es)", highlight=False)
    if results.items:
        console().print(table)


def _refuse(error: ValidationError) -> typer.Exit:
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(input)"
        error_console().print(f"[red]error:[/red] {where}: {problem['msg']}", highlight=False)
    return typer.Exit(1)


@creators_cli.command("list")
@friendly_errors
def list_creators(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    status: CreatorStatus | None = typer.Option(None, help="Only this status"),
    limit: int = typer.Option(50, min=1, max=200, help="How many"),
) -> None:
    """Creators in the order they were added, with their accounts."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        page = CreatorService(session).page(ws.id, status, None, limit)
        table = Table("creator", "name", "status", "accounts", "customer")
        for view in page.items:
            table.add_row(view.creator.id, view.creator.name, view.creator.status.value,
                          _followers(view), view.creator.profile_id or "")  # fmt: skip
        console().print(table if page.items else "no creators yet")


@creators_cli.command("add")
@friendly_errors
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The creator's name"),
    account: list[str] = typer.Option(
        ..., "--account", "-a", help="platform:handle[:followers], e.g. tiktok:@ana.bakes:48200"
    ),
    email: str | None = typer.Option(None, help="Contact email"),
    niche: list[str] = typer.Option([], "--niche", help="A niche (repeat for more)"),
    bio: str = typer.Option("", help="The creator's bio"),
    workspace: str = WorkspaceOption,
) -> None:
    """Add one creator; a handle or email another creator holds is refused naming them."""
    accounts = []
    for n, text in enumerate(account):
        platform, _sep, rest = text.partition(":")
        handle, _sep, followers = rest.partition(":")
        if not followers.isdigit() and followers:
            raise fail(f"--account {n + 1}: followers {followers!r} is not a whole number")
        accounts.append({"platform": platform, "handle": handle, "followers": int(followers or 0)})
    try:
        body = CreatorIn.model_validate(
            {"name": name, "email": email, "niches": niche, "bio": bio, "accounts": accounts}
        )
    except ValidationError as exc:
        raise _refuse(exc) from None
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        view = CreatorService(session).create(ws.id, body, source="cli")
        linked = f", customer {view.creator.profile_id}" if view.creator.profile_id else ""
        console().print(f"added {view.creator.id} {view.creator.name}{linked}", highlight=False)


@creators_cli.command("import")
@friendly_errors
def import_file(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A CSV file (columns: see the docs)"),
    workspace: str = WorkspaceOption,
) -> None:
    """Import creators from a CSV file; each bad row is named by line and column and the rest
    are added; duplicates name the creator they repeat."""
    try:
        size = file.stat().st_size
        handle = file.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), console=console(),
                        disable=not is_interactive())  # fmt: skip
    with handle, context(ctx).session() as session, progress:
        ws = WorkspaceService(session).find_workspace(workspace)
        task = progress.add_task(file.name, total=None)
        try:
            report = CreatorService(session).import_csv(
                ws.id, handle, lambda n: progress.advance(task, n)
            )
        except HeaderError as exc:
            raise fail(f"{file}: {exc}") from None
        except UnicodeDecodeError:
            raise fail(f"{file}: not UTF-8 text") from None
    for problem in (report.errors + report.duplicates)[:SHOWN_PROBLEMS]:
        error_console().print(f"{file.name} line {problem.line}: {problem.field}: "
                              f"{problem.detail}", highlight=False, soft_wrap=True)  # fmt: skip
    console().print(
        f"{report.imported} imported ({report.linked} linked to customers), "
        f"{len(report.errors)} refused, {len(report.duplicates)} duplicate(s); {size:,} bytes",
        highlight=False,
    )


@creators_cli.command("search")
@friendly_errors
def search(
    ctx: typer.Context,
    query: str = typer.Argument("", help="Words to look for in bios and captions"),
    workspace: str = WorkspaceOption,
    platform: str | None = PlatformOption,
    min_followers: int | None = typer.Option(None, help="At least this many followers"),
    max_followers: int | None = typer.Option(None, help="At most this many followers"),
    min_engagement: float | None = typer.Option(None, help="At least this rate (0.05 = 5 %)"),
    country: str | None = typer.Option(None, help="Audience country (ISO 3166 alpha-2)"),
    min_country_share: float | None = typer.Option(None, help="Share of the audience there"),
    niche: list[str] = typer.Option([], "--niche", help="A niche (repeat: all required)"),
    avoid: list[str] = typer.Option([], "--avoid", help="A brand-safety term of your own"),
    limit: int = typer.Option(20, min=1, max=100, help="How many"),
) -> None:
    """Creators matching the filters, best first, with their fit score and safety flags."""
    try:
        body = SearchIn.model_validate({
            "query": query, "platform": platform, "min_followers": min_followers,
            "max_followers": max_followers, "min_engagement": min_engagement,
            "country": country, "min_country_share": min_country_share, "niches": niche,
            "avoid_terms": avoid, "limit": limit,
        })  # fmt: skip
    except ValidationError as exc:
        raise _refuse(exc) from None
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        _print_results(Discovery(session).search(ws.id, body))


@creators_cli.command("lookalikes")
@friendly_errors
def lookalikes(
    ctx: typer.Context,
    creator_ids: list[str] = typer.Argument(..., help="One to ten creator ids"),
    workspace: str = WorkspaceOption,
    platform: str | None = PlatformOption,
    limit: int = typer.Option(20, min=1, max=100, help="How many"),
) -> None:
    """Creators like the given ones, with their fit score and safety flags."""
    try:
        body = LookalikesIn.model_validate(
            {"creator_ids": creator_ids, "platform": platform, "limit": limit}
        )
    except ValidationError as exc:
        raise _refuse(exc) from None
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        _print_results(Discovery(session).lookalikes(ws.id, body))


__all__ = ["creators_cli"]
