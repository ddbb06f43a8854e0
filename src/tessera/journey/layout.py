"""A journey's graph laid out to be drawn: steps in rows by their distance from the start,
arrows between them. Pure: a definition in, boxes and arrows with coordinates out, which the
dashboard draws as SVG on the server (no script library).

A step's row is its longest distance from ``start`` along arrows that do not loop back, so
every arrow points down and the exit sits at the bottom; an arrow back up (a loop, which
always passes a delay or a wait) is drawn round the right side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tessera.journey.definition import (
    AudienceChange,
    CallWebhook,
    Condition,
    ConditionSplit,
    Consented,
    Definition,
    Delay,
    Exit,
    OrderedSinceEntry,
    RandomSplit,
    SendEmail,
    SendSms,
    SetTrait,
    Step,
    TraitCondition,
    WaitFor,
    successors,
)

BOX_WIDTH = 220
BOX_HEIGHT = 76
COLUMN_GAP = 40
ROW_GAP = 56
MARGIN = 24


@dataclass(frozen=True)
class Box:
    step: str
    kind: str  # the step's type
    summary: str  # what it does, in a few words
    x: int
    y: int


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    label: str  # the branch's name ("then", "on timeout", "holdout"), or ""
    path: str  # SVG path data
    label_x: int
    label_y: int


@dataclass(frozen=True)
class Drawing:
    boxes: list[Box]
    arrows: list[Arrow]
    width: int
    height: int


def summary(step: Step) -> str:
    """A step in a few words, as the graph shows it."""
    match step:
        case Delay():
            if step.duration is not None:
                return f"wait {duration(step.duration)}"
            if step.until_local_time is not None:
                return f"until {step.until_local_time:%H:%M} local"
            sign = "-" if step.offset < timedelta(0) else "+"
            return f"until {step.relative_to_trait} {sign}{duration(abs(step.offset))}"
        case WaitFor():
            return f"wait for {step.event} ≤ {duration(step.timeout)}"
        case ConditionSplit():
            return "if " + _condition(step.condition)
        case RandomSplit():
            return "random " + ":".join(str(branch.weight) for branch in step.branches)
        case SendEmail():
            return f"email {step.template}"
        case SendSms():
            return f"SMS {step.template}"
        case CallWebhook():
            return "webhook"
        case AudienceChange():
            return f"{step.type.replace('_', ' ')} {step.audience}"
        case SetTrait():
            return f"set {step.trait}"
        case Exit():
            return "exit"
    raise AssertionError(f"unhandled step {step!r}")


def _condition(condition: Condition) -> str:
    match condition:
        case TraitCondition():
            value = "" if condition.value is None else f" {condition.value}"
            return f"{condition.trait} {condition.op}{value}"
        case Consented():
            return f"consented to {condition.channel}"
        case OrderedSinceEntry():
            return "ordered since entry"
    return condition.kind.replace("_", " ")


def duration(value: timedelta) -> str:
    """A duration as people say it: 2 h, 1 d 6 h, 45 min."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
    ]
    return " ".join(part for part in parts if part) or f"{seconds} s"


def lay_out(definition: Definition) -> Drawing:
    """Boxes in rows (``_rows``), centred; arrows from each box's bottom to the top of the
    next, round the right side when they go back up."""
    steps = {step.id: step for step in definition.steps}
    rows = _rows(definition.start, steps)
    by_row: dict[int, list[str]] = {}
    for step in definition.steps:  # within a row, in the definition's order
        if step.id in rows:
            by_row.setdefault(rows[step.id], []).append(step.id)
    widest = max(len(ids) for ids in by_row.values())
    content = widest * BOX_WIDTH + (widest - 1) * COLUMN_GAP
    width = 2 * (MARGIN + COLUMN_GAP) + content  # a gutter each side for the long arrows
    boxes: dict[str, Box] = {}
    for row, ids in sorted(by_row.items()):
        used = len(ids) * BOX_WIDTH + (len(ids) - 1) * COLUMN_GAP
        left = MARGIN + COLUMN_GAP + (content - used) // 2
        for index, step_id in enumerate(ids):
            step = steps[step_id]
            boxes[step_id] = Box(
                step_id,
                step.type,
                summary(step),
                left + index * (BOX_WIDTH + COLUMN_GAP),
                MARGIN + row * (BOX_HEIGHT + ROW_GAP),
            )
    labels: dict[tuple[str, str], list[str]] = {}  # two branches to one step: one arrow
    for step in definition.steps:
        if step.id in boxes:
            for field, target in successors(step):
                labels.setdefault((step.id, target), []).append(_label(step, field))
    arrows = [
        _arrow(boxes[source], boxes[target], " · ".join(filter(None, names)), width)
        for (source, target), names in labels.items()
    ]
    height = 2 * MARGIN + (max(by_row) + 1) * (BOX_HEIGHT + ROW_GAP) - ROW_GAP
    return Drawing(list(boxes.values()), arrows, width, height)


def _rows(start: str, steps: dict[str, Step]) -> dict[str, int]:
    """Each reachable step's row: the longest way to it from ``start`` once the arrows that
    go back (loops, which always pass a wait) are set aside, so every arrow but those points
    down and the exit sits at the bottom."""
    order: list[str] = []  # depth-first finishing order
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the path, 2: finished
    stack: list[tuple[str, list[str]]] = [(start, [t for _, t in successors(steps[start])])]
    state[start] = 1
    while stack:
        current, pending = stack[-1]
        if not pending:
            stack.pop()
            state[current] = 2
            order.append(current)
            continue
        target = pending.pop(0)
        if state.get(target) == 1:
            back.add((current, target))
        elif target not in state:
            state[target] = 1
            stack.append((target, [t for _, t in successors(steps[target])]))
    rows = dict.fromkeys(order, 0)
    for current in reversed(order):  # a topological order of the forward arrows
        for _, target in successors(steps[current]):
            if (current, target) not in back:
                rows[target] = max(rows[target], rows[current] + 1)
    return rows


def _label(step: Step, field: str) -> str:
    if isinstance(step, RandomSplit):
        index = int(field.split(".")[1])
        branch = step.branches[index]
        return "holdout" if branch.holdout else f"branch {index + 1}"
    return {"then": "then", "otherwise": "else", "on_event": "event", "on_timeout": "timeout"}.get(
        field, ""
    )


def _arrow(source: Box, target: Box, label: str, width: int) -> Arrow:
    start_x, start_y = source.x + BOX_WIDTH // 2, source.y + BOX_HEIGHT
    end_x, end_y = target.x + BOX_WIDTH // 2, target.y
    if 0 < target.y - source.y <= BOX_HEIGHT + ROW_GAP:  # to the next row: straight down
        middle = (start_y + end_y) // 2
        path = f"M{start_x},{start_y} C{start_x},{middle} {end_x},{middle} {end_x},{end_y}"
        return Arrow(source.step, target.step, label, path, (start_x + end_x) // 2, middle)
    # Past rows in between down the left gutter; back up (a loop) round the right one.
    out_y, in_y = source.y + BOX_HEIGHT // 2, target.y + BOX_HEIGHT // 2
    if target.y > source.y:
        side, out_x, in_x = MARGIN + 4, source.x, target.x
    else:
        side, out_x, in_x = width - MARGIN - 4, source.x + BOX_WIDTH, target.x + BOX_WIDTH
    path = f"M{out_x},{out_y} C{side},{out_y} {side},{in_y} {in_x},{in_y}"
    return Arrow(source.step, target.step, label, path, side, (out_y + in_y) // 2)
