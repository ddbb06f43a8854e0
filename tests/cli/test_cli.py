"""The tessera CLI: workspaces, users and keys, with one-line errors naming the field."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.models.workspace import Role
from tessera.workspace.errors import InvalidLogin
from tessera.workspace.membership.service import MembershipService
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


OWNER_PASSWORD = "long enough password"


def _workspace_with_owner(session: Session) -> str:
    service = WorkspaceService(session)
    workspace = service.create_workspace("Kiln", "kiln")
    service.add_user(
        workspace.id, "owner@kiln.example", Role.OWNER, password="long enough password"
    )
    session.commit()
    return workspace.id


def test_user_invite_prints_a_link_and_adds_nobody(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """The invitation's link is printed once; the person is a member only once they accept."""
    workspace_id = _workspace_with_owner(session)

    code, output = invoke(
        settings, session_factory, "user", "invite", "New@Kiln.example", "-w", "kiln",
        "--role", "analyst", "--base-url", "https://tessera.example",
    )  # fmt: skip

    lines = output.strip().splitlines()
    assert code == 0
    assert lines[0] == "invited new@kiln.example to kiln as analyst"
    assert lines[-1].startswith("https://tessera.example/invitations/accept?token=tin_")
    token = lines[-1].split("token=", 1)[1]
    with session_factory() as fresh:
        user, _workspace = MembershipService(fresh).join_with_new_account(
            token, "New", "long enough pw!"
        )
        fresh.commit()
    assert WorkspaceService(session).role_of(workspace_id, user.id) is Role.ANALYST


def test_user_remove_takes_a_member_out_but_never_the_last_owner(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """Removing an analyst works; removing the only owner is one error line, exit 1."""
    workspace_id = _workspace_with_owner(session)
    WorkspaceService(session).add_user(
        workspace_id, "ana@kiln.example", Role.ANALYST, password=OWNER_PASSWORD
    )
    session.commit()

    code_ana, out_ana = invoke(
        settings, session_factory, "user", "remove", "ana@kiln.example", "-w", "kiln"
    )
    code_owner, out_owner = invoke(
        settings, session_factory, "user", "remove", "owner@kiln.example", "-w", "kiln"
    )

    assert (code_ana, out_ana.strip()) == (0, "removed ana@kiln.example from kiln")
    assert (code_owner, out_owner.strip()) == (
        1,
        "error: A workspace keeps at least one owner. (field: role)",
    )
    session.expire_all()
    members = WorkspaceService(session).members(workspace_id)
    assert [(user.email, role) for user, role in members] == [("owner@kiln.example", Role.OWNER)]


def test_user_reset_password_prints_a_one_time_link(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """The printed link sets the new password; the old one stops working."""
    _workspace_with_owner(session)

    code, output = invoke(
        settings, session_factory, "user", "reset-password", "owner@kiln.example", "-w", "kiln"
    )
    link = output.strip().splitlines()[-1]
    with session_factory() as fresh:
        MembershipService(fresh).reset_password(link.split("token=", 1)[1], "a new passphrase")
        fresh.commit()

    assert code == 0
    assert link.startswith(f"http://{settings.host}:{settings.port}/password-reset?token=trs_")
    service = WorkspaceService(session)
    assert service.authenticate_password("owner@kiln.example", "a new passphrase")
    with pytest.raises(InvalidLogin):
        service.authenticate_password("owner@kiln.example", OWNER_PASSWORD)


def test_a_secret_key_defaults_to_the_viewer_role(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """Without --role a new secret key gets the least useful role, not admin."""
    WorkspaceService(session).create_workspace("Kiln", "kiln")
    session.commit()

    code, output = invoke(settings, session_factory, "key", "create", "ci", "-w", "kiln")

    assert code == 0
    with session_factory() as fresh:
        principal = WorkspaceService(fresh).authenticate_key(output.strip().splitlines()[-1])
    assert principal.role is Role.VIEWER


def test_user_add_says_it_is_the_operators_direct_path(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """Its help says it adds without consent and points people-facing adds to invitations."""
    code, output = invoke(settings, session_factory, "user", "add", "--help")

    assert code == 0
    assert "directly" in output
    assert "tessera user invite" in output
