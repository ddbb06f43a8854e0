"""``tessera import`` given a file as people have them: one pretty-printed JSON document (an
object or an array) is imported, anything that is neither it nor JSON Lines is refused in one
line that says to use JSON Lines, never one refusal per physical line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.models.collect import Event, QuarantineEntry
from tessera.models.order import Order
from tests.connector.test_cli import summary_rows
from tests.support.cli import invoke
from tests.support.connectors import fixture_json
from tests.support.factories import make_workspace

GARBAGE = "order 1001, Ava Okafor, 2 x serum\norder 1002, Ben Lee, 1 x balm\n\nthanks!\n"
# A pretty-printed array cut short: it starts as JSON but never ends.
CUT_SHORT = json.dumps([fixture_json("tiktok/order.json")], indent=2)[:-200]


def event(message_id: str) -> dict[str, object]:
    return {"type": "track", "event": "Product Viewed", "userId": "u-ava",
            "messageId": message_id, "properties": {"sku": "SERUM-30", "price": 38}}  # fmt: skip


def counts(session: Session, workspace_id: str) -> tuple[int, int, int]:
    """(orders, events, quarantine entries) of the workspace."""
    session.expire_all()
    return tuple(  # type: ignore[return-value]
        int(session.scalar(select(func.count()).where(model.workspace_id == workspace_id)) or 0)
        for model in (Order, Event, QuarantineEntry)
    )


@pytest.mark.parametrize(
    ("order_format", "document", "orders"),
    [
        ("shopify", fixture_json("shopify/orders_create.json"), 1),
        ("shopify", {"order": fixture_json("shopify/orders_create_pos.json")}, 1),
        ("shopify", [fixture_json("shopify/orders_create.json"),
                     fixture_json("shopify/orders_create_pos.json")], 2),
        ("tiktok", {"code": 0, "data": {"orders": [fixture_json("tiktok/order.json")]}}, 1),
        ("square", {"orders": [fixture_json("square/order.json")["order"]]}, 1),
    ],
    ids=["object", "wrapped object", "array", "tiktok answer", "square list"],
)  # fmt: skip
def test_one_pretty_printed_json_document_of_orders_is_imported(
    settings: Settings,
    session_factory: sessionmaker[Session],
    session: Session,
    tmp_path: Path,
    order_format: str,
    document: object,
    orders: int,
) -> None:
    """An export saved as one indented JSON document: its orders imported, nothing refused."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(document, indent=2))

    code, output = invoke(
        settings, session_factory, "import", "orders", str(path), "--format", order_format,
        "-w", "glow",
    )  # fmt: skip

    assert code == 0, output
    assert summary_rows(output) == {
        "received": orders, "accepted": orders, "duplicates": 0, "rejected": 0,
    }  # fmt: skip
    assert counts(session, workspace_id)[0] == orders
    assert counts(session, workspace_id)[2] == 0


@pytest.mark.parametrize(
    ("command", "content", "says"),
    [
        (("orders", "--format", "shopify"), GARBAGE,
         "orders.json is not JSON Lines (its first line is not a JSON object) nor one JSON "
         "document; use JSON Lines, one JSON object per line"),
        (("orders", "--format", "tiktok"), CUT_SHORT,
         "orders.json is not JSON Lines nor one JSON document ("),
        (("orders", "--format", "square"), "42\n", "orders.json is not JSON Lines (its first"),
        (("events",), GARBAGE,
         "orders.json is not JSON Lines (its first line is not a JSON object) nor one"),
        (("events",), '"just a string"', "orders.json is not JSON Lines (its first line"),
    ],
    ids=["text as orders", "cut-short document", "a number", "text as events", "a string"],
)  # fmt: skip
def test_a_file_that_is_neither_is_refused_in_one_line_saying_to_use_jsonl(
    settings: Settings,
    session_factory: sessionmaker[Session],
    session: Session,
    tmp_path: Path,
    command: tuple[str, ...],
    content: str,
    says: str,
) -> None:
    """Exit 1, one line naming the file and the fix, one quarantine entry for the file, no
    order or event, and none of the file's lines refused one by one."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    path = tmp_path / "orders.json"
    path.write_text(content)

    code, output = invoke(
        settings, session_factory, "import", command[0], str(path), *command[1:], "-w", "glow"
    )

    assert code == 1
    assert output.count("\n") == 1 and output.startswith(f"error: {says}"), output
    assert "jq -c '.[]'" in output and "(field: file); kept as qtn_" in output
    assert counts(session, workspace_id) == (0, 0, 1)
    session.expire_all()
    assert session.scalars(select(QuarantineEntry.kind)).all() == ["file"]


@pytest.mark.parametrize(
    ("document", "received"),
    [
        (event("e-1"), 1),
        ([event("e-1"), event("e-2"), event("e-3")], 3),
        ({"batch": [event("e-1"), event("e-2")], "context": {"ip": "203.0.113.9"}}, 2),
    ],
    ids=["object", "array", "segment batch"],
)
def test_events_in_one_pretty_printed_document_are_imported(
    settings: Settings,
    session_factory: sessionmaker[Session],
    session: Session,
    tmp_path: Path,
    document: object,
    received: int,
) -> None:
    """`tessera import events` reads the same shapes: a message, a list, a Segment batch
    (whose context reaches each of its events)."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    path = tmp_path / "events.json"
    path.write_text(json.dumps(document, indent=4))

    code, output = invoke(settings, session_factory, "import", "events", str(path), "-w", "glow")

    assert code == 0, output
    assert summary_rows(output)["accepted"] == received
    session.expire_all()
    stored = session.scalars(select(Event).where(Event.workspace_id == workspace_id)).all()
    assert sorted(e.message_id for e in stored) == [f"e-{n}" for n in range(1, received + 1)]
    if isinstance(document, dict) and "batch" in document:
        assert {e.payload["context"]["ip"] for e in stored} == {"203.0.113.9"}


def test_json_lines_with_a_damaged_first_line_are_still_read_line_by_line(
    settings: Settings, session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> None:
    """JSON Lines whose first line is cut: that line alone is refused, the others imported."""
    workspace_id = make_workspace(session, "glow")
    session.commit()
    path = tmp_path / "events.jsonl"
    path.write_text('{"type": "track", "event": \n' + json.dumps(event("e-2")) + "\n")

    code, output = invoke(settings, session_factory, "import", "events", str(path), "-w", "glow")

    assert code == 1
    assert "events.jsonl line 1: the line is not valid JSON" in output
    assert summary_rows(output) == {"received": 2, "accepted": 1, "duplicates": 0, "rejected": 1}
    assert counts(session, workspace_id)[1:] == (1, 1)
