"""`tessera loyalty`: a program file refused naming its field, then set; points adjusted, a
reward redeemed for a code used once; the member, members and overview printed."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tests.loyalty.world import person
from tests.support.cli import invoke
from tests.support.factories import make_workspace

PROGRAM = {
    "points_per_unit": 2,
    "tiers": [{"name": "Silver", "threshold": 100}],
    "rewards": [{"key": "ten-off", "name": "$10 off", "points_cost": 200, "kind": "amount",
                 "value": 1000}],
}  # fmt: skip


def test_a_program_file_is_refused_naming_its_field_then_set(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """A negative threshold names tiers.0.threshold; the fixed file is set and shown."""
    make_workspace(session, "acme")
    session.commit()
    file = tmp_path / "program.json"
    file.write_text(json.dumps({**PROGRAM, "tiers": [{"name": "Silver", "threshold": -1}]}))

    refused = invoke(
        settings, session_factory, "loyalty", "program", "set", str(file), "-w", "acme"
    )
    file.write_text(json.dumps(PROGRAM))
    saved = invoke(settings, session_factory, "loyalty", "program", "set", str(file), "-w", "acme")
    shown = invoke(settings, session_factory, "loyalty", "program", "show", "-w", "acme")

    assert refused[0] == 1
    assert (
        f"error: {file}: tiers.0.threshold: Input should be greater than or equal to 0"
        in (refused[1])
    )
    assert saved[0] == 0 and saved[1] == shown[1]
    assert "2 point(s) per USD" in shown[1] and "Silver from 100" in shown[1]


def test_points_are_adjusted_redeemed_and_the_code_used_once(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """250 points, a $10 code, the code used by #9 and refused for #10; taking 100 more than
    the balance is refused with the balance named."""
    make_workspace(session, "acme")
    file = tmp_path / "program.json"
    file.write_text(json.dumps(PROGRAM))
    session.commit()
    invoke(settings, session_factory, "loyalty", "program", "set", str(file), "-w", "acme")
    from tessera.workspace.service import WorkspaceService

    ws = WorkspaceService(session).find_workspace("acme").id
    ana = person(session, ws, "u-ana", "ana@example.com")
    session.commit()

    added = invoke(
        settings,
        session_factory,
        "loyalty",
        "adjust",
        ana,
        "--points",
        "250",
        "--reason",
        "welcome",
        "--key",
        "k1",
        "-w",
        "acme",
    )
    redeemed = invoke(
        settings, session_factory, "loyalty", "redeem", ana, "ten-off", "--key", "r1", "-w", "acme"
    )
    code = redeemed[1].split(":")[0]
    used = invoke(
        settings, session_factory, "loyalty", "use-code", code, "--order", "#9", "-w", "acme"
    )
    again = invoke(
        settings, session_factory, "loyalty", "use-code", code, "--order", "#10", "-w", "acme"
    )
    taken = invoke(
        settings,
        session_factory,
        "loyalty",
        "adjust",
        ana,
        "--points=-150",
        "--reason",
        "oops",
        "--key",
        "k2",
        "-w",
        "acme",
    )
    member = invoke(settings, session_factory, "loyalty", "member", ana, "-w", "acme")
    members = invoke(settings, session_factory, "loyalty", "members", "-w", "acme")
    overview = invoke(settings, session_factory, "loyalty", "overview", "-w", "acme")  # fmt: skip

    assert added == (0, "adjusted by 250; balance 250\n")
    assert redeemed[0] == 0 and redeemed[1].endswith(": $10 off\n")
    assert used == (0, f"{code} used by #9\n")
    assert again == (1, f"error: code {code} was already used by order #9\n")
    assert taken == (1, "error: the member holds 50 points; 150 cannot be taken (field: points)\n")
    assert f"{ana}: 50 points, tier Silver" not in member[1]  # adjustments do not earn a tier
    assert f"{ana}: 50 points, tier none" in member[1] and "used by #9" in member[1]
    assert ana in members[1] and " 50 " in members[1]
    assert overview[1].startswith("1 member(s), 50 points outstanding")
