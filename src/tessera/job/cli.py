"""``tessera jobs list|retry|cancel``.

The CLI is the operator's view: it sees every workspace's jobs and the system jobs.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from tessera.cli_support import console, context, friendly_errors
from tessera.job.service import JobService
from tessera.models.job import Job, JobStatus
from tessera.workspace.service import WorkspaceService

jobs_cli = typer.Typer(help="Background jobs: list, retry, cancel.", no_args_is_help=True)


@jobs_cli.command("list")
@friendly_errors
def jobs_list(
    ctx: typer.Context,
    status: JobStatus = typer.Option(None, help="Only jobs in this status"),
    workspace: str = typer.Option(
        None, "--workspace", "-w", help="Workspace id or slug (default: every job)"
    ),
    limit: int = typer.Option(50, min=1, max=200, help="How many, newest first"),
    kind: str = typer.Option(None, help="Only jobs of this kind, e.g. identity.stitched"),
) -> None:
    """List jobs, newest first, with their last error."""
    with context(ctx).session() as session:
        workspace_id = WorkspaceService(session).find_workspace(workspace).id if workspace else None
        page = JobService(session, context(ctx).get_settings()).list_jobs(
            workspace_id, status, None, limit, kind
        )
        table = Table()
        table.add_column("id", no_wrap=True, min_width=30)
        table.add_column("kind", overflow="fold")
        table.add_column("status", no_wrap=True)
        table.add_column("tries", no_wrap=True)
        table.add_column("run at", no_wrap=True)
        table.add_column("workspace", overflow="fold")
        table.add_column("last error", overflow="fold")
        for job in page.items:
            table.add_row(
                job.id,
                job.kind,
                job.status.value,
                f"{job.attempts}/{job.max_attempts}",
                job.run_at.strftime("%Y-%m-%d %H:%M:%S"),
                job.workspace_id or "system",
                _first_line(job.last_error),
            )
        # Piped output keeps each job on one whole line, for grep and scripts.
        out = console()
        (out if out.is_terminal else Console(width=200)).print(table)
        if page.next_cursor:
            console().print(f"showing the newest {limit}; use --limit or --status to see others")


@jobs_cli.command("retry")
@friendly_errors
def jobs_retry(ctx: typer.Context, job_id: str = typer.Argument(...)) -> None:
    """Queue a dead or cancelled job again, due now; it keeps its attempt count."""
    with context(ctx).session() as session:
        job = JobService(session, context(ctx).get_settings()).retry(job_id, actor="cli")
        console().print(_summary(job, "queued again"))


@jobs_cli.command("cancel")
@friendly_errors
def jobs_cancel(ctx: typer.Context, job_id: str = typer.Argument(...)) -> None:
    """Cancel a queued job (a running job cannot be cancelled)."""
    with context(ctx).session() as session:
        job = JobService(session, context(ctx).get_settings()).cancel(job_id, actor="cli")
        console().print(_summary(job, "cancelled"))


def _summary(job: Job, verb: str) -> str:
    return f"{verb} {job.id} ({job.kind}, attempts {job.attempts}/{job.max_attempts})"


def _first_line(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    line = text.splitlines()[0]
    return line if len(line) <= width else line[: width - 1] + "…"
