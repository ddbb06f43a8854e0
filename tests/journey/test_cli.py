"""``tessera journeys``: a definition file becomes a journey; broken files and graphs are
refused naming the line, or the step and field; status changes print one sentence."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.journey.service import JourneyService
from tests.journey.flows import T0, Platform, journey_doc, track
from tests.support.cli import invoke


def write(tmp_path: Path, document: object, name: str = "cart.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=2))
    return path


def test_a_journey_is_created_published_shown_paused_and_resumed(
    settings: Settings,
    session_factory: sessionmaker[Session],
    session: Session,
    platform: Platform,
    tmp_path: Path,
) -> None:
    """Each command answers in one line; ``show`` lists versions and per-step counts."""
    file = write(tmp_path, journey_doc())

    code, created = invoke(settings, session_factory, "journeys", "create", str(file),
                           "-w", "journeys", "--publish")  # fmt: skip
    [journey] = JourneyService(session).list_journeys(platform.workspace_id).items
    platform.send(track("c1", "Checkout Started", T0, user_id="u1", cart_id="cart-1"))
    platform.run()
    shown = invoke(settings, session_factory, "journeys", "show", journey.id, "-w", "journeys")
    paused = invoke(settings, session_factory, "journeys", "pause", journey.id, "-w", "journeys")
    resumed = invoke(settings, session_factory, "journeys", "resume", journey.id, "-w", "journeys")
    listed = invoke(settings, session_factory, "journeys", "list", "-w", "journeys")

    assert code == 0
    assert created.strip() == (f"{journey.id} 'Abandoned cart': live, version 1, 1 version(s)")
    assert shown[0] == 0
    assert "wait_order" in shown[1] and "│ 1       │ 1       │" in shown[1]
    assert paused == (0, f"{journey.id} 'Abandoned cart': paused, version 1, 1 version(s)\n")
    assert resumed[1].startswith(f"{journey.id} 'Abandoned cart': live")
    assert journey.id in listed[1] and "Abandoned cart" in listed[1]


def test_a_file_that_is_not_json_is_refused_with_its_line_and_column(
    settings: Settings, session_factory: sessionmaker[Session], workspace_id: str, tmp_path: Path
) -> None:
    """A trailing comma on line 3: the error says where; nothing is created."""
    path = tmp_path / "broken.json"
    path.write_text('{\n  "name": "x",\n  "start": "a",\n}\n')

    code, output = invoke(settings, session_factory, "journeys", "create", str(path), "-w",
                          "journeys")  # fmt: skip

    assert code == 1
    assert f"{path} line 4, column 1: Expecting property name enclosed in double quotes" in output
    listed = invoke(settings, session_factory, "journeys", "list", "-w", "journeys")
    assert listed == (0, "no journeys yet\n")


def test_every_fault_of_a_graph_is_printed_with_its_step_and_field(
    settings: Settings, session_factory: sessionmaker[Session], workspace_id: str, tmp_path: Path
) -> None:
    """Two faults, two lines; exit code 1."""
    document = journey_doc()
    document["steps"][1]["next"] = "nowhere"
    document["steps"][3]["next"] = "elsewhere"
    path = write(tmp_path, document)

    code, output = invoke(settings, session_factory, "journeys", "create", str(path), "-w",
                          "journeys")  # fmt: skip

    assert code == 1
    assert output.splitlines() == [
        f"error: {path}: step 'sms', next: names no step: 'nowhere'",
        f"error: {path}: step 'email', next: names no step: 'elsewhere'",
    ]


def test_publishing_an_unknown_trait_names_the_step_and_field(
    settings: Settings, session_factory: sessionmaker[Session], session: Session,
    workspace_id: str, tmp_path: Path,
) -> None:  # fmt: skip
    """The journey stays a draft and the error names where the trait is used."""
    document = journey_doc()
    document["steps"][1] = {
        "id": "sms",
        "type": "condition",
        "condition": {"kind": "trait", "trait": "favourite_colour", "op": "exists"},
        "then": "day",
        "otherwise": "done",
    }
    journey = JourneyService(session).create(workspace_id, document, actor="test")
    session.commit()

    code, output = invoke(settings, session_factory, "journeys", "publish", journey.id, "-w",
                          "journeys")  # fmt: skip

    assert code == 1
    assert output.strip() == (
        "error: step 'sms', condition.trait: no profile here has a trait 'favourite_colour', "
        "and it is not a standard identify trait"
    )
