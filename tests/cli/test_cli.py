"""The tessera CLI: workspaces, users and keys, with one-line errors naming the field."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.models.workspace import Role
from tessera.workspace.service import WorkspaceService
from tests.support.cli import invoke


def test_workspace_user_and_key_commands_work_together(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """Create a workspace, add an owner, create, list and revoke a key, all from the CLI."""
    code_ws, out_ws = invoke(settings, session_factory, "workspace", "create", "Fable Coffee")
    code_user, out_user = invoke(
        settings, session_factory, "user", "add", "ana@fable.example", "-w", "fable-coffee",
        "--role", "owner", "--password", "long enough password",
    )  # fmt: skip
    code_key, out_key = invoke(
        settings, session_factory, "key", "create", "warehouse", "-w", "fable-coffee",
        "--kind", "secret", "--role", "analyst",
    )  # fmt: skip
    token = out_key.strip().splitlines()[-1]
    with session_factory() as session:
        principal = WorkspaceService(session).authenticate_key(token)
    code_list, out_list = invoke(settings, session_factory, "key", "list", "-w", "fable-coffee")
    code_revoke, out_revoke = invoke(
        settings, session_factory, "key", "revoke", principal.actor, "-w", "fable-coffee"
    )

    assert (code_ws, code_user, code_key, code_list, code_revoke) == (0, 0, 0, 0, 0)
    assert "created workspace fable-coffee" in out_ws
    assert out_user.strip() == "ana@fable.example is owner of fable-coffee"
    assert principal.role is Role.ANALYST
    assert principal.actor in out_list and token not in out_list
    assert out_revoke.startswith(f"revoked {principal.actor}")


def test_an_unknown_workspace_is_one_line_and_exit_1(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """A bad argument prints one error line naming it, with no traceback."""
    code, output = invoke(settings, session_factory, "key", "list", "-w", "nope")

    assert code == 1
    assert output.strip() == "error: no workspace with id or slug 'nope'"


def test_a_weak_password_names_the_field(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """A refused value names the field it came from, and nothing is created."""
    WorkspaceService(session).create_workspace("Kiln", "kiln")
    session.commit()

    code, output = invoke(
        settings, session_factory, "user", "add", "x@kiln.example", "-w", "kiln",
        "--password", "short",
    )  # fmt: skip

    assert code == 1
    assert output.strip() == "error: password must be at least 10 characters (field: password)"
    assert (
        WorkspaceService(session).members(WorkspaceService(session).find_workspace("kiln").id) == []
    )


def test_config_show_masks_secrets(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """config show prints the settings as JSON with the secret key masked."""
    code, output = invoke(settings, session_factory, "config", "show")

    assert code == 0
    assert '"secret_key": "********"' in output
    assert "test-secret-key" not in output


def test_a_bad_setting_stops_the_real_command_with_one_line() -> None:
    """Run as a process, a wrong TESSERA_PORT exits 2 with one line on stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "tessera", "config", "show"],
        env={"TESSERA_PORT": "eighty", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: TESSERA_PORT: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
