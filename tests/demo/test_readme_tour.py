"""The README's tour names files that exist and commands that run as written."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.demo.journeys import TEMPLATES
from tessera.message.templates import TemplateService
from tests.support.cli import invoke
from tests.support.factories import make_workspace

ROOT = Path(__file__).resolve().parents[2]
FILE_COMMANDS = ("import", "quarantine", "journeys", "creators", "assets", "rights")


def tour_commands() -> list[list[str]]:
    """Every `.venv/bin/tessera import|quarantine|journeys|creators|assets|rights ...` line of the
    README, no comment."""
    commands = []
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith(".venv/bin/tessera "):
            words = shlex.split(line.split("#", 1)[0])[1:]
            if words[0] in FILE_COMMANDS and not any("..." in w for w in words):
                commands.append(words)
    return commands


def test_the_tour_has_file_commands_and_every_file_it_names_is_shipped() -> None:
    """The sample files of the tour ship in examples/ (a missing one failed the tour)."""
    named = [w for words in tour_commands() for w in words if w.startswith("examples/")]

    assert len(named) >= 3
    assert [name for name in named if not (ROOT / name).is_file()] == []


@pytest.mark.parametrize("words", tour_commands(), ids=" ".join)
def test_each_file_command_of_the_tour_runs_as_written(
    words: list[str],
    settings: Settings,
    session_factory: sessionmaker[Session],
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run from the repository's root against a workspace called demo, with the templates
    ``tessera demo`` seeds (a journey naming one is published): exit status 0."""
    workspace_id = make_workspace(session, "demo")
    for draft in TEMPLATES:
        TemplateService(session).create(workspace_id, draft, actor="test")
    session.commit()
    monkeypatch.chdir(ROOT)

    code, output = invoke(settings, session_factory, *words)

    assert code == 0, output
    assert "Traceback" not in output
    assert os.path.exists(ROOT / "examples")
