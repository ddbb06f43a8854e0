"""A journey's definition: versioned JSON, validated as a whole before it can be saved.

A definition is an entry (an event from any channel, optionally keyed by a property such as
the cart id, or entering a segment), re-entry rules, exit rules that are checked whenever
something happens to the person and again just before every send, and a graph of steps that
starts at ``start``. Each step names the step that follows; splits name one per branch.

What a definition must be beyond its fields' types is checked here, so a broken journey is
refused when it is saved, never discovered by a person inside it: every ``next`` names a step
that exists, every step is reachable from ``start``, and every cycle passes a delay or a wait
(a loop without one would spin a worker). What needs the workspace (does this event, trait,
template or segment exist?) is the service's check, which calls ``references`` for the names
to look up.

``DefinitionError`` carries one entry per problem, each naming the step and the field, so the
API, the CLI and the editor can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tessera.kit.errors import InvalidInput

STEP_ID = r"^[a-z][a-z0-9_]{0,63}$"
MAX_STEPS = 200
MAX_DELAY = timedelta(days=400)
# Where a keyed entry or wait reads its key: a dotted path into the event ("properties.cart_id").
KEY_PATH = r"^(properties|context|traits)(\.[A-Za-z0-9_$-]{1,64}){1,4}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# Conditions ---------------------------------------------------------------------------------


class TraitCondition(_Strict):
    """A trait of the profile compared with a value; ``exists`` needs no value."""

    kind: Literal["trait"] = "trait"
    trait: str = Field(min_length=1, max_length=200)
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains", "exists", "not_exists"]
    value: str | int | float | bool | None = None


class OrderedSinceEntry(_Strict):
    """True when the person placed an order on any channel since entering the journey."""

    kind: Literal["ordered_since_entry"] = "ordered_since_entry"


class InSegment(_Strict):
    kind: Literal["in_segment"] = "in_segment"
    segment: str = Field(min_length=1, max_length=200)


class Consented(_Strict):
    """True when the person may receive marketing on the channel now."""

    kind: Literal["consented"] = "consented"
    channel: Literal["email", "sms"]


class AllOf(_Strict):
    kind: Literal["all"] = "all"
    conditions: list[Condition] = Field(min_length=1, max_length=20)


class AnyOf(_Strict):
    kind: Literal["any"] = "any"
    conditions: list[Condition] = Field(min_length=1, max_length=20)


class Not(_Strict):
    kind: Literal["not"] = "not"
    condition: Condition


Condition = Annotated[
    TraitCondition | OrderedSinceEntry | InSegment | Consented | AllOf | AnyOf | Not,
    Field(discriminator="kind"),
]
for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


# Entry, re-entry and exit -------------------------------------------------------------------


class EventEntry(_Strict):
    """Enter when the person does ``event`` on any channel (or only on ``channels``)."""

    kind: Literal["event"] = "event"
    event: str = Field(min_length=1, max_length=200)
    key: str | None = Field(default=None, pattern=KEY_PATH)
    channels: list[str] | None = Field(default=None, min_length=1, max_length=20)
    condition: Condition | None = None


class SegmentEntry(_Strict):
    """Enter when the person enters ``segment``."""

    kind: Literal["segment"] = "segment"
    segment: str = Field(min_length=1, max_length=200)


Entry = Annotated[EventEntry | SegmentEntry, Field(discriminator="kind")]


class Reentry(_Strict):
    """``never``: once per person (and key) ever; ``after_exit``: again once the previous
    instance has left, no sooner than ``cooldown`` after it entered; one instance per
    (journey, person, key) is ever inside at a time."""

    mode: Literal["never", "after_exit"] = "after_exit"
    cooldown: timedelta = timedelta(0)


class ExitOnEvent(_Strict):
    """Leave when the person does ``event`` on any channel; with ``same_key``, only the event
    whose key (read at ``key``) equals the instance's entry key."""

    kind: Literal["event"] = "event"
    event: str = Field(min_length=1, max_length=200)
    key: str | None = Field(default=None, pattern=KEY_PATH)


class ExitOnOrder(_Strict):
    """Leave when the person places an order on any channel (web, marketplace, store)."""

    kind: Literal["ordered"] = "ordered"


class ExitWhen(_Strict):
    """Leave when the condition holds (checked on every change and before every send)."""

    kind: Literal["condition"] = "condition"
    condition: Condition


ExitRule = Annotated[ExitOnEvent | ExitOnOrder | ExitWhen, Field(discriminator="kind")]


# Steps --------------------------------------------------------------------------------------


class _Step(_Strict):
    id: str = Field(pattern=STEP_ID)
    label: str | None = Field(default=None, max_length=200)


class Delay(_Step):
    """Wait a duration, until a local time of day (the recipient's zone), or until a date
    trait plus an offset (a birthday, the day a subscription renews)."""

    type: Literal["delay"] = "delay"
    duration: timedelta | None = None
    until_local_time: time | None = None
    relative_to_trait: str | None = Field(default=None, min_length=1, max_length=200)
    offset: timedelta = timedelta(0)
    next: str

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and not timedelta(0) < value <= MAX_DELAY:
            raise ValueError(f"must be more than 0 and at most {MAX_DELAY.days} days")
        return value


class WaitFor(_Step):
    """Wait for the person's ``event`` (with the entry's key at ``key``, if given) up to
    ``timeout``; go on at ``on_event`` or ``on_timeout``."""

    type: Literal["wait_for"] = "wait_for"
    event: str = Field(min_length=1, max_length=200)
    key: str | None = Field(default=None, pattern=KEY_PATH)
    timeout: timedelta
    on_event: str
    on_timeout: str

    @field_validator("timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if not timedelta(0) < value <= MAX_DELAY:
            raise ValueError(f"must be more than 0 and at most {MAX_DELAY.days} days")
        return value


class ConditionSplit(_Step):
    type: Literal["condition"] = "condition"
    condition: Condition
    then: str
    otherwise: str


class Branch(_Strict):
    weight: int = Field(ge=1, le=10_000)
    next: str
    holdout: bool = False


class RandomSplit(_Step):
    """Send each person down one branch at random by weight; a ``holdout`` branch receives
    nothing, so the journey's effect can be measured against it."""

    type: Literal["random"] = "random"
    branches: list[Branch] = Field(min_length=2, max_length=10)


class SendEmail(_Step):
    type: Literal["send_email"] = "send_email"
    template: str = Field(min_length=1, max_length=200)
    transactional: bool = False
    next: str


class SendSms(_Step):
    type: Literal["send_sms"] = "send_sms"
    template: str = Field(min_length=1, max_length=200)
    transactional: bool = False
    next: str


class CallWebhook(_Step):
    type: Literal["webhook"] = "webhook"
    url: str = Field(pattern=r"^https?://[^\s]{1,2000}$")
    next: str


class AudienceChange(_Step):
    type: Literal["audience_add", "audience_remove"]
    audience: str = Field(min_length=1, max_length=200)
    next: str


class SetTrait(_Step):
    type: Literal["set_trait"] = "set_trait"
    trait: str = Field(min_length=1, max_length=200)
    value: str | int | float | bool | None
    next: str


class Exit(_Step):
    type: Literal["exit"] = "exit"


Step = Annotated[
    Delay
    | WaitFor
    | ConditionSplit
    | RandomSplit
    | SendEmail
    | SendSms
    | CallWebhook
    | AudienceChange
    | SetTrait
    | Exit,
    Field(discriminator="type"),
]
SENDS = (SendEmail, SendSms)
WAITS = (Delay, WaitFor)


class Definition(_Strict):
    """One version of a journey, as saved and as every instance of that version runs it."""

    name: str = Field(min_length=1, max_length=200)
    entry: Entry
    reentry: Reentry = Reentry()
    exits: list[ExitRule] = Field(default_factory=list, max_length=20)
    start: str = Field(pattern=STEP_ID)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


# Graph checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One thing wrong: where (the step's id, or None for the journey) and which field."""

    step: str | None
    field: str
    message: str
    path: str | None = None  # where in the document, e.g. ``steps[2].template``

    def as_dict(self) -> dict[str, Any]:
        found = {"step": self.step, "field": self.field, "message": self.message}
        return found if self.path is None else {**found, "path": self.path}


class DefinitionError(InvalidInput):
    slug = "invalid-journey"
    title = "The journey is not valid"

    def __init__(self, faults: list[Fault]) -> None:
        first = faults[0]
        where = f"step {first.step!r}, " if first.step else ""
        more = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
        extensions: dict[str, Any] = {"errors": [fault.as_dict() for fault in faults]}
        if first.path:
            extensions["field"] = first.path
        super().__init__(f"{where}{first.field}: {first.message}{more}", **extensions)
        self.faults = faults


def successors(step: Step) -> list[tuple[str, str]]:
    """(field, step id) of every step ``step`` can go on to."""
    match step:
        case WaitFor():
            return [("on_event", step.on_event), ("on_timeout", step.on_timeout)]
        case ConditionSplit():
            return [("then", step.then), ("otherwise", step.otherwise)]
        case RandomSplit():
            return [(f"branches.{i}.next", b.next) for i, b in enumerate(step.branches)]
        case Exit():
            return []
        case _:
            return [("next", step.next)]


def parse(document: Any) -> Definition:
    """The definition in ``document`` (parsed JSON), or ``DefinitionError`` naming every
    fault by step and field: types first, then the graph."""
    try:
        definition = Definition.model_validate(document)
    except ValidationError as exc:
        raise DefinitionError(_faults_of(exc, document)) from None
    faults = graph_faults(definition)
    if faults:
        raise DefinitionError(faults)
    return definition


def graph_faults(definition: Definition) -> list[Fault]:
    """What is wrong with the graph: duplicate ids, dangling ``next``s, unreachable steps,
    a cycle with no delay or wait, and steps whose fields contradict each other."""
    faults: list[Fault] = []
    ids: dict[str, Step] = {}
    for step in definition.steps:
        if step.id in ids:
            faults.append(Fault(step.id, "id", "is used by another step"))
        ids[step.id] = step
    if definition.start not in ids:
        faults.append(Fault(None, "start", f"names no step: {definition.start!r}"))
    for step in definition.steps:
        faults.extend(_step_faults(step))
        for field, target in successors(step):
            if target not in ids:
                faults.append(Fault(step.id, field, f"names no step: {target!r}"))
            elif target == step.id and not isinstance(step, WAITS):
                faults.append(Fault(step.id, field, "goes back to itself without a wait"))
    if faults:
        return faults
    reachable = _reachable(definition.start, ids)
    faults.extend(
        Fault(step.id, "id", "cannot be reached from the start")
        for step in definition.steps
        if step.id not in reachable
    )
    loop = _loop_without_wait(ids)
    if loop:
        faults.append(
            Fault(loop[0], "next", "loops back (" + " -> ".join(loop) + ") with no delay or wait")
        )
    return faults


@dataclass(frozen=True)
class Use:
    """One name a definition uses that the workspace must know, and where it is used."""

    kind: str  # event | trait | template | segment | audience
    name: str
    step: str | None  # None: the entry or an exit rule
    field: str


def uses(definition: Definition) -> list[Use]:
    """Every name the definition uses, each with the step and field that uses it, in the
    definition's order (the entry, the exit rules, then the steps)."""
    found: list[Use] = []

    def condition(node: Any, step: str | None, field: str) -> None:
        match node:
            case TraitCondition():
                found.append(Use("trait", node.trait, step, f"{field}.trait"))
            case InSegment():
                found.append(Use("segment", node.segment, step, f"{field}.segment"))
            case AllOf() | AnyOf():
                for index, inner in enumerate(node.conditions):
                    condition(inner, step, f"{field}.conditions.{index}")
            case Not():
                condition(node.condition, step, f"{field}.condition")

    match definition.entry:
        case EventEntry():
            found.append(Use("event", definition.entry.event, None, "entry.event"))
            condition(definition.entry.condition, None, "entry.condition")
        case SegmentEntry():
            found.append(Use("segment", definition.entry.segment, None, "entry.segment"))
    for index, rule in enumerate(definition.exits):
        match rule:
            case ExitOnEvent():
                found.append(Use("event", rule.event, None, f"exits.{index}.event"))
            case ExitWhen():
                condition(rule.condition, None, f"exits.{index}.condition")
    for step in definition.steps:
        match step:
            case WaitFor():
                found.append(Use("event", step.event, step.id, "event"))
            case ConditionSplit():
                condition(step.condition, step.id, "condition")
            case SendEmail() | SendSms():
                found.append(Use("template", step.template, step.id, "template"))
            case AudienceChange():
                found.append(Use("audience", step.audience, step.id, "audience"))
            case Delay() if step.relative_to_trait:
                found.append(Use("trait", step.relative_to_trait, step.id, "relative_to_trait"))
    return found


def references(definition: Definition) -> dict[str, set[str]]:
    """The names a definition uses that the workspace must know: events, traits, templates,
    segments and audiences, each with the set of names."""
    found: dict[str, set[str]] = {
        "event": set(),
        "trait": set(),
        "template": set(),
        "segment": set(),
        "audience": set(),
    }
    for use in uses(definition):
        found[use.kind].add(use.name)
    return found


def _step_faults(step: Step) -> list[Fault]:
    if isinstance(step, Delay):
        chosen = [
            name
            for name in ("duration", "until_local_time", "relative_to_trait")
            if getattr(step, name) is not None
        ]
        if len(chosen) != 1:
            return [
                Fault(
                    step.id,
                    "duration",
                    "give exactly one of duration, until_local_time, relative_to_trait",
                )
            ]
        if step.offset and step.relative_to_trait is None:
            return [Fault(step.id, "offset", "applies only with relative_to_trait")]
    if isinstance(step, RandomSplit) and not any(not b.holdout for b in step.branches):
        return [Fault(step.id, "branches", "every branch is a holdout")]
    return []


def _reachable(start: str, ids: dict[str, Step]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for _, target in successors(ids[stack.pop()]):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _loop_without_wait(ids: dict[str, Step]) -> list[str] | None:
    """A cycle through steps none of which waits, as the list of its step ids, or None."""
    instant = {sid: step for sid, step in ids.items() if not isinstance(step, WAITS)}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(sid: str) -> list[str] | None:
        state[sid] = 1
        path.append(sid)
        for _, target in successors(instant[sid]):
            if target not in instant:
                continue
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[sid] = 2
        return None

    for sid in instant:
        if sid not in state:
            found = visit(sid)
            if found:
                return found
    return None


def _faults_of(exc: ValidationError, document: Any) -> list[Fault]:
    faults = []
    for error in exc.errors(include_url=False):
        location = list(error["loc"])
        step = None
        if len(location) >= 2 and location[0] == "steps" and isinstance(location[1], int):
            step = _step_id(document, location[1])
            # drop "steps", the index and the discriminator's tag pydantic inserts
            location = location[3:] if len(location) > 2 else ["type"]
        field = ".".join(str(part) for part in location) or "definition"
        faults.append(Fault(step, field, _message(error["msg"])))
    return faults


def _step_id(document: Any, index: int) -> str:
    try:
        value = document["steps"][index]["id"]
    except (KeyError, IndexError, TypeError):
        return f"#{index + 1}"
    return value if isinstance(value, str) and re.match(STEP_ID, value) else f"#{index + 1}"


def _message(message: str) -> str:
    return message[0].lower() + message[1:] if message else message
