"""``tessera quarantine`` from the terminal: refusals listed, replayed once fixed, discarded."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.collect.quarantine import QuarantineService
from tessera.config import Settings
from tessera.models.collect import QuarantineEntry, QuarantineStatus
from tests.support.cli import invoke
from tests.support.connectors import fixture_path
from tests.support.factories import make_workspace


def test_quarantine_entries_are_listed_replayed_and_discarded(
    settings: Settings, session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> None:
    """After an import: list shows the refusals, a fixed record replays, another is dropped."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    invoke(
        settings, session_factory, "import", "events", str(fixture_path("events/events.jsonl")),
        "-w", "glow",
    )  # fmt: skip
    bad, cut = session.scalars(
        select(QuarantineEntry)
        .where(QuarantineEntry.workspace_id == workspace_id)
        .order_by(QuarantineEntry.id)
    ).all()
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({**json.loads(bad.raw), "properties": {"order_id": "W-1002"}}))

    listed_code, listed = invoke(settings, session_factory, "quarantine", "list", "-w", "glow")
    replay_code, replayed = invoke(
        settings, session_factory, "quarantine", "replay", bad.id, "-w", "glow",
        "--payload", str(fixed),
    )  # fmt: skip
    discard_code, discarded = invoke(
        settings, session_factory, "quarantine", "discard", cut.id, "-w", "glow",
        "--why", "the export was cut; the next one has it",
    )  # fmt: skip
    again_code, again = invoke(
        settings, session_factory, "quarantine", "replay", bad.id, "-w", "glow"
    )

    assert (listed_code, replay_code, discard_code, again_code) == (0, 0, 0, 1)
    assert bad.id in listed and cut.id in listed and "events.jsonl line 7" in listed
    assert replayed.strip() == f"replayed {bad.id}: replayed 1: 1 accepted, 0 duplicate"
    assert discarded.strip() == f"discarded {cut.id}"
    assert again.strip() == f"error: {bad.id} is already replayed"
    session.expire_all()
    assert [session.get(QuarantineEntry, i).status for i in (bad.id, cut.id)] == [  # type: ignore[union-attr]
        QuarantineStatus.REPLAYED, QuarantineStatus.DISCARDED,
    ]  # fmt: skip


def test_a_group_is_listed_and_discarded_from_the_terminal(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """`quarantine groups` shows each group with its token; `discard --group` closes every
    open entry of it with the note, and a discard without ids or group says what to give."""
    workspace_id = make_workspace(session, "glow")
    service = QuarantineService(session)
    for n in range(3):
        service.keep(workspace_id, f"import line {n}", "price is not a number", {}, "price")
    service.keep(workspace_id, "import line 9", "a message must be a JSON object", "[]")
    session.commit()
    token = service.groups(workspace_id)[0].token

    groups_code, groups = invoke(settings, session_factory, "quarantine", "groups", "-w", "glow")
    listed_code, listed = invoke(
        settings, session_factory, "quarantine", "list", "-w", "glow", "--group", token
    )
    bare_code, bare = invoke(
        settings, session_factory, "quarantine", "discard", "-w", "glow", "--why", "x"
    )
    code, output = invoke(
        settings, session_factory, "quarantine", "discard", "-w", "glow", "--group", token,
        "--why", "a test feed",
    )  # fmt: skip

    assert (groups_code, listed_code, bare_code, code) == (0, 0, 1, 0)
    assert token in groups.replace("\n", "").replace(" ", "").replace("│", "")
    assert listed.count("price is not a number") == 3 and "JSON object" not in listed
    assert bare.strip() == "error: name entry ids or --group, one of the two"
    assert output.count("discarded qtn_") == 3
    session.expire_all()
    assert sorted(
        (e.status.value, e.resolution)
        for e in session.scalars(
            select(QuarantineEntry).where(QuarantineEntry.workspace_id == workspace_id)
        )
    ) == [("discarded", "a test feed")] * 3 + [("open", None)]
