"""``tessera segments`` and ``tessera audiences``: a rule file becomes a segment, a broken one
is refused naming the line or the field, members and exports come out as files and sentences,
and a push reaches a local server speaking Meta's API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.segment.export import sha256
from tessera.segment.service import SegmentService
from tests.integrations.fake_audiences import META_TOKEN, audience_server
from tests.message.world import consent, person
from tests.support.cli import invoke

GOLD = {"kind": "trait", "trait": "tier", "op": "eq", "value": "gold"}


def test_a_segment_is_created_from_a_file_refreshed_shown_and_exported(
    settings: Settings,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """create, refresh, show, an audience fed by it, its CSV, and a push to Meta."""
    ada = person(session, workspace_id, "u-ada", email="ada@example.com", tier="gold")
    consent(session, workspace_id, ada, "email")
    session.commit()
    rule = tmp_path / "gold.json"
    rule.write_text(json.dumps(GOLD))
    w = ("-w", "segments")

    code, created = invoke(settings, session_factory, "segments", "create", "Gold",
                           "--rule-file", str(rule), *w)  # fmt: skip
    [(segment, _)] = SegmentService(session).list_segments(workspace_id)
    refreshed = invoke(settings, session_factory, "segments", "refresh", *w)
    shown = invoke(settings, session_factory, "segments", "show", segment.id, *w)
    made = invoke(settings, session_factory, "audiences", "create", "Gold ads",
                  "--segment", segment.id, *w)  # fmt: skip
    [(audience, _)] = SegmentService(session).audiences(workspace_id)
    out = tmp_path / "gold.csv"
    exported = invoke(settings, session_factory, "audiences", "export", audience.id,
                      "--out", str(out), *w)  # fmt: skip
    monkeypatch.setenv("TESSERA_AUDIENCE_TOKEN", META_TOKEN)
    with audience_server() as (url, state):
        push = ("--platform", "meta", "--target", "6001", "--base-url", url)
        pushed = invoke(settings, session_factory, "audiences", "push", audience.id, *push, *w)

    assert (code, created.strip()) == (0, f"Created segment {segment.id} 'Gold'.")
    assert refreshed[1].strip() == "Refreshed every segment."
    assert f"{segment.id} 'Gold': 1 member(s)" in shown[1]
    assert made[0] == 0
    assert exported[1].strip() == f"Wrote 1 people to {out}."
    assert out.read_text() == f"email,phone\n{sha256('ada@example.com')},\n"
    assert pushed[1].strip() == "Sent 1 people in 1 batch(es); 0 refused as invalid."
    assert state.meta == {"6001": [[sha256("ada@example.com"), ""]]}


def test_a_broken_rule_is_refused_naming_the_line_or_the_field(
    settings: Settings, session_factory: sessionmaker[Session], workspace_id: str, tmp_path: Path
) -> None:
    """Bad JSON names line and column; a bad rule names its field; nothing is saved."""
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "all",\n "rules": [}')

    not_json = invoke(settings, session_factory, "segments", "create", "X",
                      "--rule-file", str(broken), "-w", "segments")  # fmt: skip
    bad_rule = invoke(settings, session_factory, "segments", "create", "X", "--rule",
                      '{"kind": "orders", "min_spent": 5}', "-w", "segments")  # fmt: skip

    assert not_json[0] == 1
    assert f"{broken} line 2, column 12" in not_json[1]
    assert bad_rule[0] == 1
    assert "rule.orders: min_spent and currency go together" in bad_rule[1]
