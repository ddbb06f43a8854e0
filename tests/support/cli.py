"""Running a CLI command in-process, as a terminal of a fixed width would."""

from __future__ import annotations

import typer
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tessera.cli import app
from tessera.cli_support import CliContext
from tessera.config import Settings

# Tables wrap at the terminal's width: the tests' terminal is always this wide, whatever the
# terminal that runs pytest.
WIDTH = "300"


def invoke(
    settings: Settings,
    factory: sessionmaker[Session],
    *args: str,
    cli: typer.Typer = app,
    input: str | None = None,
) -> tuple[int, str]:
    """Run ``tessera ARGS`` (or ``cli``'s command) on ``factory``; its exit code and output."""
    result = CliRunner().invoke(
        cli,
        list(args),
        obj=CliContext(settings=settings, session_factory=factory),
        env={"COLUMNS": WIDTH},
        input=input,
    )
    return result.exit_code, result.output
