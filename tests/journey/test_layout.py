"""A journey's graph laid out for drawing: rows by the longest way from the start, every
arrow down except loops, which go round the right side."""

from __future__ import annotations

import copy
from typing import Any

from tessera.journey.definition import parse
from tessera.journey.layout import BOX_HEIGHT, ROW_GAP, lay_out
from tests.journey.flows import ABANDONED_CART, DURABLE


def rows_of(document: dict[str, Any]) -> dict[str, int]:
    drawing = lay_out(parse(document))
    top = min(box.y for box in drawing.boxes)
    return {box.step: (box.y - top) // (BOX_HEIGHT + ROW_GAP) for box in drawing.boxes}


def test_the_exit_sits_at_the_bottom_and_every_arrow_points_down() -> None:
    """The wait's "event" arrow skips three rows down the left gutter, labelled."""
    drawing = lay_out(parse(ABANDONED_CART))

    assert rows_of(ABANDONED_CART) == {"wait_order": 0, "sms": 1, "day": 2, "email": 3, "done": 4}
    skip = next(a for a in drawing.arrows if (a.source, a.target) == ("wait_order", "done"))
    assert skip.label == "event"
    assert skip.label_x < min(box.x for box in drawing.boxes)
    assert [box.summary for box in drawing.boxes] == [
        "wait for Order Completed ≤ 2 h",
        "SMS cart_sms",
        "wait 1 d",
        "email cart_email",
        "exit",
    ]


def test_a_loop_back_goes_round_the_right_and_two_branches_share_one_arrow() -> None:
    """A timeout back to the check is drawn right of every box; the split's two branches to
    the email are one arrow labelled with both."""
    looping = copy.deepcopy(DURABLE)
    looping["steps"][6] = {
        "id": "later",
        "type": "wait_for",
        "event": "Order Completed",
        "timeout": "P1D",
        "on_event": "end",
        "on_timeout": "check",
    }

    drawing = lay_out(parse(looping))

    rows = rows_of(looping)
    assert rows["check"] == 1 and rows["later"] == 6 and rows["end"] == 7
    back = next(a for a in drawing.arrows if (a.source, a.target) == ("later", "check"))
    assert back.label == "timeout"
    assert back.label_x > max(box.x for box in drawing.boxes)
    labels = [a.label for a in drawing.arrows if (a.source, a.target) == ("split", "email")]
    assert labels == ["branch 1 · holdout"]
    check = next(box for box in drawing.boxes if box.step == "check")
    assert check.summary == "if tier eq gold"
