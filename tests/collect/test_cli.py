"""``tessera quarantine`` from the terminal: refusals listed, replayed once fixed, discarded."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

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
