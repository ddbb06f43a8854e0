"""``tessera identity``: train the match model, read the review queue and the conflicts."""

from __future__ import annotations

from typing import TypeVar

import typer
from rich.table import Table

from tessera.cli_support import console, context, friendly_errors, print_table
from tessera.identity.match.service import MatchService
from tessera.kit.errors import InvalidInput
from tessera.models.identity import ConflictStatus, ReviewStatus
from tessera.workspace.service import WorkspaceService

identity_cli = typer.Typer(help="Identity: matching, reviews and conflicts.", no_args_is_help=True)

S = TypeVar("S", ReviewStatus, ConflictStatus)
WORKSPACE = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")


@identity_cli.command("train")
@friendly_errors
def train(ctx: typer.Context, workspace: str = WORKSPACE) -> None:
    """Train the workspace's match model on its profiles and store it."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        summary = MatchService(session).train(ws.id)
        console().print(
            f"trained on {summary.records:,} profiles; prior {summary.prior:.3g}; "
            f"merge at p>={summary.merge_threshold:g}, review at p>={summary.review_threshold:g}"
        )
        table = Table("comparison", "level", "m", "u", "weight")
        for comparison in summary.comparisons:
            for level in comparison["levels"]:
                table.add_row(
                    comparison["name"],
                    level["level"],
                    f"{level['m']:.4f}",
                    f"{level['u']:.6f}",
                    f"{level['weight']:+.2f}",
                )
        print_table(table)


@identity_cli.command("reviews")
@friendly_errors
def reviews(
    ctx: typer.Context,
    workspace: str = WORKSPACE,
    status: str = typer.Option("open", help="open, merged, rejected or all"),
    limit: int = typer.Option(50, min=1, max=200, help="How many, oldest first"),
) -> None:
    """List probable matches waiting for a person (or decided ones)."""
    chosen = _status(status, ReviewStatus)
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = MatchService(session)
        page = service.list_reviews(ws.id, chosen, None, limit)
        table = Table("review", "status", "probability", "profile", "candidate", "evidence")
        sides = service.sides_of(ws.id, page.items)
        for review in page.items:
            left, right = sides[review.id]
            agreeing = [
                f"{f['field']}={f['level']}"
                for f in (review.evidence or {}).get("fields", [])
                if f.get("level") not in ("missing", "else")
            ]
            table.add_row(
                review.id,
                review.status.value,
                f"{review.probability:.3f}",
                _describe(left.profile_id, left.fields),
                _describe(right.profile_id, right.fields),
                ", ".join(agreeing),
            )
        print_table(table)
        counts = service.review_counts(ws.id)
        console().print(", ".join(f"{k}: {v}" for k, v in counts.items()))


@identity_cli.command("conflicts")
@friendly_errors
def conflicts(
    ctx: typer.Context,
    workspace: str = WORKSPACE,
    status: str = typer.Option("open", help="open, resolved or all"),
    limit: int = typer.Option(50, min=1, max=200, help="How many, oldest first"),
) -> None:
    """List merges a guard-rail stopped, with the identifier and rule."""
    chosen = _status(status, ConflictStatus)
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = MatchService(session)
        page = service.list_conflicts(ws.id, chosen, None, limit)
        table = Table("conflict", "status", "rule", "identifier", "profiles", "cause")
        for conflict in page.items:
            table.add_row(
                conflict.id,
                conflict.status.value,
                conflict.rule,
                f"{conflict.identifier_type}:{conflict.identifier_value}",
                " ".join(conflict.profile_ids or []),
                conflict.cause_ref,
            )
        print_table(table)
        counts = service.conflict_counts(ws.id)
        console().print(", ".join(f"{k}: {v}" for k, v in counts.items()))


def _status(value: str, kind: type[S]) -> S | None:
    if value == "all":
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"status {value!r} is not one of those listed", field="status") from None


def _describe(profile_id: str, fields: dict[str, str | None]) -> str:
    name = " ".join(v for v in (fields.get("first_name"), fields.get("last_name")) if v)
    extra = ", ".join(v for v in (fields.get("postcode"), fields.get("email")) if v)
    return f"{profile_id}\n{name}" + (f" ({extra})" if extra else "")
