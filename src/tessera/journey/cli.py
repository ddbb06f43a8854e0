"""``tessera journeys``: list, show, metrics, create from a JSON file, save a version, publish,
pause, resume, archive. Each change is audited with ``cli`` as the actor, as through the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tessera.cli_support import console, context, error_console, fail, friendly_errors
from tessera.journey import library
from tessera.journey.definition import DefinitionError
from tessera.journey.metrics import (
    DEFAULT_WINDOW_DAYS,
    MAX_WINDOW_DAYS,
    Conversion,
    MetricsService,
)
from tessera.journey.service import JourneyService
from tessera.kit.money import Money
from tessera.models.journey import Journey, JourneyStatus
from tessera.workspace.service import WorkspaceService

journeys_cli = typer.Typer(help="Journeys: what happens to a person after they do something.")
ACTOR = "cli"
WorkspaceOption = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")
MAX_FILE_BYTES = 1024 * 1024


def read_definition(path: Path) -> Any:
    """The JSON document in ``path``; a file that is missing, too large or not JSON fails
    with the line and column to look at."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise fail(f"{path}: larger than {MAX_FILE_BYTES // 1024} KB")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise fail(f"{path}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"{path} line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def refuse(path: Path | None, error: DefinitionError) -> typer.Exit:
    """Every fault on its own line, each naming its step and field."""
    where = f"{path}: " if path else ""
    for fault in error.faults:
        step = f"step {fault.step!r}, " if fault.step else ""
        error_console().print(
            f"[red]error:[/red] {where}{step}{fault.field}: {fault.message}",
            highlight=False,
            soft_wrap=True,
        )
    return typer.Exit(1)


def _say(journey: Journey) -> None:
    live = f"version {journey.live_version}" if journey.live_version else "never published"
    console().print(
        f"{journey.id} {journey.name!r}: {journey.status.value}, {live}, "
        f"{journey.latest_version} version(s)",
        highlight=False,
    )


@journeys_cli.command("list")
@friendly_errors
def journeys_list(
    ctx: typer.Context,
    workspace: str = WorkspaceOption,
    status: JourneyStatus | None = typer.Option(None, help="Only journeys in this status"),
    limit: int = typer.Option(50, min=1, max=200, help="How many"),
) -> None:
    """The workspace's journeys, newest first, with how many people are inside each."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = JourneyService(session)
        page = service.list_journeys(ws.id, status, None, limit)
        inside = service.inside_counts([j.id for j in page.items])
        table = Table("id", "name", "status", "live", "latest", "inside")
        for journey in page.items:
            table.add_row(
                journey.id,
                journey.name,
                journey.status.value,
                str(journey.live_version or ""),
                str(journey.latest_version),
                str(inside.get(journey.id, 0)),
            )
        console().print(table if page.items else "no journeys yet")


@journeys_cli.command("show")
@friendly_errors
def journeys_show(
    ctx: typer.Context, journey_id: str = typer.Argument(...), workspace: str = WorkspaceOption
) -> None:
    """A journey: its versions and, per step, people entered, waiting and left by reason."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = JourneyService(session)
        journey = service.get(ws.id, journey_id)
        _say(journey)
        versions = Table("version", "saved", "by", "published")
        for version in service.versions(ws.id, journey.id):
            versions.add_row(
                str(version.version),
                version.created_at.isoformat(timespec="minutes"),
                version.created_by,
                version.published_at.isoformat(timespec="minutes") if version.published_at else "",
            )
        console().print(versions)
        counts = service.step_counts(ws.id, journey.id)
        if counts:
            steps = Table("step", "entered", "waiting", "left")
            for count in counts.values():
                left = ", ".join(f"{reason} {n}" for reason, n in sorted(count.exited.items()))
                steps.add_row(count.step, str(count.entered), str(count.waiting), left)
            console().print(steps)


@journeys_cli.command("metrics")
@friendly_errors
def journeys_metrics(
    ctx: typer.Context,
    journey_id: str = typer.Argument(...),
    workspace: str = WorkspaceOption,
    window_days: int = typer.Option(
        DEFAULT_WINDOW_DAYS,
        "--window-days",
        min=1,
        max=MAX_WINDOW_DAYS,
        help="An order on any channel within this many days of entry is a conversion",
    ),
) -> None:
    """People, messages and conversions of a journey, in total and per step, and each holdout
    against its treatment."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        found = MetricsService(session).metrics(ws.id, journey_id, window_days)
        left = ", ".join(f"{reason} {n}" for reason, n in sorted(found.exited.items())) or "none"
        console().print(
            f"{found.journey_id}: {found.entered} entered, {found.inside} inside, left: {left}\n"
            f"messages: {found.sent} sent, {found.delivered} delivered, {found.clicked} clicked\n"
            f"converted within {found.window_days} days: {_conversion(found.conversion)}",
            highlight=False,
        )
        steps = Table("step", "entered", "waiting", "left", "sent", "delivered", "clicked")
        for step in found.steps:
            exited = ", ".join(f"{reason} {n}" for reason, n in sorted(step.exited.items()))
            steps.add_row(
                step.step, str(step.entered), str(step.waiting), exited,
                str(step.sent), str(step.delivered), str(step.clicked),
            )  # fmt: skip
        if found.steps:
            console().print(steps)
        for split in found.splits:
            console().print(
                f"split {split.step}: holdout {_conversion(split.holdout)}; "
                f"treatment {_conversion(split.treatment)}; lift {split.lift:+.2%}",
                highlight=False,
            )


def _conversion(found: Conversion) -> str:
    revenue = ", ".join(str(Money(amount, code)) for code, amount in sorted(found.revenue.items()))
    return f"{found.converted}/{found.people} ({found.rate:.1%}), revenue {revenue or '0'}"


@journeys_cli.command("create")
@friendly_errors
def journeys_create(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The definition, as JSON"),
    workspace: str = WorkspaceOption,
    publish: bool = typer.Option(False, help="Publish it at once"),
) -> None:
    """Create a draft journey from a JSON definition (and publish it with --publish; if
    publishing is refused, nothing is created)."""
    document = read_definition(file)
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = JourneyService(session)
        try:
            journey = service.create(ws.id, document, actor=ACTOR)
            if publish:
                journey = service.publish(ws.id, journey.id, actor=ACTOR)
        except DefinitionError as error:
            raise refuse(file, error) from None
        _say(journey)


@journeys_cli.command("library")
@friendly_errors
def journeys_library() -> None:
    """List the journeys shipped with Tessera (install one with `tessera journeys install`)."""
    table = Table("name", "title", "enters on", "templates")
    for shipped in library.shipped():
        templates = ", ".join(str(t.name) for t in shipped.templates)
        table.add_row(shipped.name, shipped.title, shipped.entry_event or "a segment", templates)
    console().print(table)


@journeys_cli.command("install")
@friendly_errors
def journeys_install(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name from `tessera journeys library`"),
    workspace: str = WorkspaceOption,
    publish: bool = typer.Option(False, help="Publish it at once"),
) -> None:
    """Install a shipped journey as a draft, with the templates it sends that the workspace
    lacks (and publish it with --publish; if publishing is refused, nothing is installed)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        try:
            found = library.install(session, ws.id, name, actor=ACTOR)
            journey = found.journey
            if publish:
                journey = JourneyService(session).publish(ws.id, journey.id, actor=ACTOR)
        except DefinitionError as error:
            raise refuse(None, error) from None
        if found.created_templates:
            console().print(f"templates created: {', '.join(found.created_templates)}")
        if found.kept_templates:
            console().print(f"templates kept as they were: {', '.join(found.kept_templates)}")
        _say(journey)


@journeys_cli.command("save")
@friendly_errors
def journeys_save(
    ctx: typer.Context,
    journey_id: str = typer.Argument(...),
    file: Path = typer.Argument(..., help="The definition, as JSON"),
    workspace: str = WorkspaceOption,
) -> None:
    """Save a JSON definition as the journey's next version (publish it to use it)."""
    document = read_definition(file)
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        try:
            version = JourneyService(session).save_version(ws.id, journey_id, document, actor=ACTOR)
        except DefinitionError as error:
            raise refuse(file, error) from None
        console().print(f"{journey_id}: saved version {version.version}", highlight=False)


@journeys_cli.command("publish")
@friendly_errors
def journeys_publish(
    ctx: typer.Context,
    journey_id: str = typer.Argument(...),
    workspace: str = WorkspaceOption,
    version: int = typer.Option(None, min=1, help="Default: the newest version"),
) -> None:
    """Make a version the one people enter (people inside keep theirs)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        try:
            journey = JourneyService(session).publish(ws.id, journey_id, version, actor=ACTOR)
        except DefinitionError as error:
            raise refuse(None, error) from None
        _say(journey)


@journeys_cli.command("pause")
@friendly_errors
def journeys_pause(
    ctx: typer.Context, journey_id: str = typer.Argument(...), workspace: str = WorkspaceOption
) -> None:
    """Stop entries; people inside wait where they are until resumed."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        _say(JourneyService(session).pause(ws.id, journey_id, actor=ACTOR))


@journeys_cli.command("resume")
@friendly_errors
def journeys_resume(
    ctx: typer.Context, journey_id: str = typer.Argument(...), workspace: str = WorkspaceOption
) -> None:
    """Let people enter and move on again."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        _say(JourneyService(session).resume(ws.id, journey_id, actor=ACTOR))


@journeys_cli.command("archive")
@friendly_errors
def journeys_archive(
    ctx: typer.Context, journey_id: str = typer.Argument(...), workspace: str = WorkspaceOption
) -> None:
    """End the journey for good: everyone inside leaves."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        _say(JourneyService(session).archive(ws.id, journey_id, actor=ACTOR))
