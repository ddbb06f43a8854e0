"""``tessera assets``: upload a file (streamed from disk), list the library, show an asset with
its versions and renditions, review, make renditions, and check a version against every
channel. Changes are made with ``cli`` as the actor, as through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import typer
from rich.table import Table

from tessera.cli_support import console, context, fail, friendly_errors
from tessera.content.service import ContentService, UploadForm
from tessera.content.specs import summary
from tessera.content.storage import CHUNK_BYTES, ContentFiles
from tessera.models.content import ReviewState
from tessera.workspace.service import WorkspaceService

assets_cli = typer.Typer(help="Create's content: uploads, review, specs and renditions.")
ACTOR = "cli"
WorkspaceOption = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")


def _read(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from None


def _service(ctx: typer.Context, session: object) -> ContentService:
    settings = context(ctx).get_settings()
    return ContentService(session, ContentFiles.from_settings(settings))  # type: ignore[arg-type]


@assets_cli.command("upload")
@friendly_errors
def upload(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The image or video"),
    workspace: str = WorkspaceOption,
    title: str | None = typer.Option(None),
    creator_id: str | None = typer.Option(None, "--creator"),
    deliverable_id: str | None = typer.Option(None, "--deliverable"),
    asset_id: str | None = typer.Option(None, "--asset", help="Upload as its next version"),
) -> None:
    """Upload FILE; its type is read from its bytes, and a bad file is refused with why."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        form = UploadForm(file.name, title, creator_id, deliverable_id, asset_id)
        result = _service(ctx, session).upload_stream(ws.id, _read(file), form, ACTOR)
        version = result.version
        console().print(
            f"{result.asset.id} v{version.number}: {version.media_type} "
            f"{version.width}x{version.height}, {version.size_bytes} bytes, {version.status}",
            highlight=False,
        )
        if result.duplicate:
            console().print(
                f"near duplicate of {result.duplicate.asset_id} "
                f"(version {result.duplicate.version_id}, {result.duplicate.distance} bits)",
                highlight=False,
            )


@assets_cli.command("list")
@friendly_errors
def list_assets(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    status: ReviewState | None = typer.Option(None),
    limit: int = typer.Option(50, min=1, max=200),
) -> None:
    """The library, newest first, with each asset's passing channels."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = _service(ctx, session)
        page = service.assets(ws.id, status, None, None, limit)
        latest = service.latest_versions(page.items)
        table = Table("asset", "title", "kind", "status", "versions", "passes")
        for asset in page.items:
            version = latest.get(asset.id)
            passing = summary(version.spec_results) if version else {}
            table.add_row(asset.id, asset.title, asset.kind.value, asset.status.value,
                          str(asset.version_count),
                          ", ".join(c for c, ok in passing.items() if ok) or "-")  # fmt: skip
        console().print(table)


@assets_cli.command("show")
@friendly_errors
def show(ctx: typer.Context, asset_id: str, workspace: str = WorkspaceOption) -> None:
    """An asset's versions (with lineage), reviews and renditions."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        view = _service(ctx, session).asset(ws.id, asset_id)
        out = console()
        out.print(f"{view.asset.id} {view.asset.title!r}: {view.asset.status}", highlight=False)
        for v in view.versions:
            parent = f" (after {v.parent_version_id})" if v.parent_version_id else ""
            out.print(f"  v{v.number} {v.id}{parent}: {v.media_type} {v.width}x{v.height} "
                      f"{v.status}", highlight=False)  # fmt: skip
        for rv in view.reviews:
            out.print(f"  review {rv.decision} by {rv.actor}: {rv.comment}", highlight=False)
        for r in view.renditions:
            out.print(f"  rendition {r.preset} {r.width}x{r.height} from {r.master_version_id}",
                      highlight=False)  # fmt: skip


@assets_cli.command("review")
@friendly_errors
def review(
    ctx: typer.Context,
    asset_id: str,
    decision: str = typer.Argument(..., help="approve, request_revision or reject"),
    comment: str = typer.Option("", help="Required to request a revision or reject"),
    workspace: str = WorkspaceOption,
) -> None:
    """Decide the latest version."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        row = _service(ctx, session).review(ws.id, asset_id, decision, comment, ACTOR)
        console().print(f"{asset_id}: {row.decision}", highlight=False)


@assets_cli.command("renditions")
@friendly_errors
def renditions(
    ctx: typer.Context,
    asset_id: str,
    preset: list[str] = typer.Option([], "--preset", help="Only these presets"),
    workspace: str = WorkspaceOption,
) -> None:
    """Make the latest version's renditions, each checked against its channels."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        made = _service(ctx, session).render(ws.id, asset_id, preset or None)
        for r in made:
            failed = [f"{x['channel']}.{x['rule']}" for x in r.spec_results if not x["passed"]]
            verdict = "pass" if not failed else "fail: " + ", ".join(failed)
            console().print(f"{r.preset} {r.width}x{r.height} {r.id}: {verdict}", highlight=False)


@assets_cli.command("check")
@friendly_errors
def check(
    ctx: typer.Context,
    asset_id: str,
    workspace: str = WorkspaceOption,
    print_width: float = typer.Option(6.0, min=0.1, max=1000, help="Print size, inches"),
    print_height: float = typer.Option(4.0, min=0.1, max=1000),
) -> None:
    """Every channel's rules for the latest version: pass or fail, with the reason."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        report = _service(ctx, session).spec_report(
            ws.id, asset_id, None, (print_width, print_height)
        )
        table = Table("channel", "rule", "result", "reason")
        for r in report.results:
            table.add_row(r.channel, r.rule, "pass" if r.passed else "FAIL", r.reason)
        console().print(table)
