"""``tessera loyalty``: the program (show, set from a JSON file), the overview, members and a
member's ledger, adjustments, rewards redeemed for codes, and a code used on an order. Each
change is made with ``cli`` as the actor, as through the API."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table

from tessera.cli_support import console, context, error_console, fail, friendly_errors
from tessera.loyalty.schemas import ProgramIn
from tessera.loyalty.service import LoyaltyService
from tessera.models.loyalty import LoyaltyProgram
from tessera.workspace.service import WorkspaceService

loyalty_cli = typer.Typer(help="Loyalty: points on every channel, tiers and rewards.")
program_cli = typer.Typer(help="The workspace's loyalty program.")
loyalty_cli.add_typer(program_cli, name="program")
ACTOR = "cli"
WorkspaceOption = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")
MAX_FILE_BYTES = 256 * 1024


def _say_program(program: LoyaltyProgram) -> None:
    state = "enabled" if program.is_enabled else "disabled"
    expiry = (
        f"expire after {program.expiry_months} months" if program.expiry_months else "never expire"
    )
    console().print(
        f"{state}: {program.points_per_unit} point(s) per {program.currency}, "
        f"{program.registration_points} per registered product; points {expiry}; "
        f"registration key {program.registration_key}",
        highlight=False,
    )
    tiers = ", ".join(f"{t['name']} from {t['threshold']}" for t in program.tiers)
    console().print(f"tiers ({program.tier_basis}): {tiers or 'none'}", highlight=False)
    for reward in program.rewards:
        console().print(
            f"reward {reward['key']}: {reward['name']} for {reward['points_cost']} points",
            highlight=False,
        )


@program_cli.command("show")
@friendly_errors
def program_show(ctx: typer.Context, workspace: str = WorkspaceOption) -> None:
    """The program: earning, tiers, expiry and rewards."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        _say_program(LoyaltyService(session).program(ws.id))


@program_cli.command("set")
@friendly_errors
def program_set(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The whole program, as JSON (the API's PUT body)"),
    workspace: str = WorkspaceOption,
) -> None:
    """Replace the program with the one in FILE; each fault names its field."""
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise fail(f"{file}: larger than {MAX_FILE_BYTES // 1024} KB")
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise fail(f"{file}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{file} line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    try:
        change = ProgramIn.model_validate(document)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(the document)"
            error_console().print(
                f"[red]error:[/red] {file}: {where}: {error['msg']}", highlight=False
            )
        raise typer.Exit(1) from None
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        _say_program(LoyaltyService(session).save_program(ws.id, change, ACTOR))


@loyalty_cli.command("overview")
@friendly_errors
def overview(ctx: typer.Context, workspace: str = WorkspaceOption) -> None:
    """Members per tier and the points outstanding (the program's liability)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        view = LoyaltyService(session).overview(ws.id)
        console().print(
            f"{view.members} member(s), {view.outstanding} points outstanding", highlight=False
        )
        table = Table("tier", "members")
        for tier, count in sorted(view.by_tier.items(), key=lambda kv: kv[0] or ""):
            table.add_row(tier or "(none)", str(count))
        console().print(table)


@loyalty_cli.command("members")
@friendly_errors
def members(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    tier: str | None = typer.Option(None, help="Only members of this tier"),
    limit: int = typer.Option(50, min=1, max=200, help="How many"),
) -> None:
    """Members with their tier and balance, in the order they joined."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        page = LoyaltyService(session).members(ws.id, tier, None, limit)
        table = Table("profile", "tier", "balance", "joined")
        for row in page.items:
            table.add_row(
                row.member.profile_id,
                row.member.tier or "",
                str(row.balance),
                row.member.joined_at.isoformat(timespec="minutes"),
            )
        console().print(table if page.items else "no members yet")


@loyalty_cli.command("member")
@friendly_errors
def member(
    ctx: typer.Context,
    profile_id: str = typer.Argument(...),
    workspace: str = WorkspaceOption,
    limit: int = typer.Option(20, min=1, max=200, help="Ledger entries to show"),
) -> None:
    """A member's balance, tier, codes and latest ledger entries."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = LoyaltyService(session)
        view = service.member(ws.id, profile_id)
        console().print(
            f"{view.member.profile_id}: {view.balance} points, tier {view.member.tier or 'none'}",
            highlight=False,
        )
        table = Table("when", "kind", "points", "source", "reference")
        for entry in service.entries(ws.id, profile_id, None, limit).items:
            table.add_row(
                entry.occurred_at.isoformat(timespec="minutes"),
                entry.kind.value,
                str(entry.points),
                entry.source,
                entry.reference,
            )
        console().print(table)
        for code in view.codes:
            used = f"used by {code.redeemed_order_ref}" if code.redeemed_order_ref else "unused"
            console().print(f"code {code.code}: {code.reward_name}, {used}", highlight=False)


@loyalty_cli.command("adjust")
@friendly_errors
def adjust(
    ctx: typer.Context,
    profile_id: str = typer.Argument(...),
    points: int = typer.Option(..., help="Points to add (or take, negative)"),
    reason: str = typer.Option(..., help="Why, kept on the entry"),
    key: str = typer.Option(..., help="Idempotency key: the same key again changes nothing"),
    workspace: str = WorkspaceOption,
) -> None:
    """Add or take points by hand; a taking never leaves the balance below zero."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = LoyaltyService(session)
        service.adjust(ws.id, profile_id, points, reason, key, ACTOR)
        balance = service.member(ws.id, profile_id).balance
        console().print(f"adjusted by {points}; balance {balance}", highlight=False)


@loyalty_cli.command("redeem")
@friendly_errors
def redeem(
    ctx: typer.Context,
    profile_id: str = typer.Argument(...),
    reward: str = typer.Argument(..., help="The reward's key"),
    key: str = typer.Option(..., help="Idempotency key: the same key again, the same code"),
    workspace: str = WorkspaceOption,
) -> None:
    """Spend a reward's points for a discount code."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        code = LoyaltyService(session).redeem_reward(ws.id, profile_id, reward, key)
        console().print(f"{code.code}: {code.reward_name}", highlight=False)


@loyalty_cli.command("use-code")
@friendly_errors
def use_code(
    ctx: typer.Context,
    code: str = typer.Argument(...),
    order: str = typer.Option(..., help="The order's reference, as the till or site knows it"),
    channel: str = typer.Option("store", help="Where it was used"),
    workspace: str = WorkspaceOption,
) -> None:
    """Mark a code used on an order; once only."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        row = LoyaltyService(session).redeem_code(ws.id, code, order, channel)
        console().print(f"{row.code} used by {row.redeemed_order_ref}", highlight=False)
