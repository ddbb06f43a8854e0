"""A journey definition is refused at save time for every fault, each named by step and field."""

from __future__ import annotations

import copy
from datetime import time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.journey.definition import (
    DefinitionError,
    SendSms,
    WaitFor,
    parse,
    references,
    successors,
)

ABANDONED_CART: dict[str, Any] = {
    "name": "Abandoned cart",
    "entry": {"kind": "event", "event": "Checkout Started", "key": "properties.cart_id"},
    "reentry": {"mode": "after_exit", "cooldown": "P1D"},
    "exits": [{"kind": "ordered"}],
    "start": "wait_order",
    "steps": [
        {
            "id": "wait_order",
            "type": "wait_for",
            "event": "Order Completed",
            "key": "properties.cart_id",
            "timeout": "PT2H",
            "on_event": "done",
            "on_timeout": "sms_or_email",
        },
        {
            "id": "sms_or_email",
            "type": "condition",
            "condition": {"kind": "consented", "channel": "sms"},
            "then": "sms",
            "otherwise": "email",
        },
        {"id": "sms", "type": "send_sms", "template": "cart_sms", "next": "day"},
        {"id": "email", "type": "send_email", "template": "cart_email", "next": "day"},
        {"id": "day", "type": "delay", "duration": "PT24H", "next": "second"},
        {"id": "second", "type": "send_email", "template": "cart_email_2", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}


def faults_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(DefinitionError) as raised:
        parse(document)
    errors: list[dict[str, Any]] = raised.value.extensions["errors"]
    return errors


def with_step(document: dict[str, Any], step_id: str, **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    for step in changed["steps"]:
        if step["id"] == step_id:
            step.update(changes)
    return changed


def test_the_abandoned_cart_journey_parses_with_its_durations_and_keys() -> None:
    """A valid definition comes back typed: durations as timedeltas, the key path kept."""
    definition = parse(ABANDONED_CART)

    wait = definition.step("wait_order")
    assert isinstance(wait, WaitFor)
    assert wait.timeout == timedelta(hours=2)
    assert wait.key == "properties.cart_id"
    assert definition.reentry.cooldown == timedelta(days=1)
    assert successors(definition.step("sms_or_email")) == [
        ("then", "sms"),
        ("otherwise", "email"),
    ]
    assert isinstance(definition.step("sms"), SendSms)


def test_references_lists_every_name_the_workspace_must_know() -> None:
    """The service checks these names against the workspace; none may be missed."""
    found = references(parse(ABANDONED_CART))

    assert found["event"] == {"Checkout Started", "Order Completed"}
    assert found["template"] == {"cart_sms", "cart_email", "cart_email_2"}
    assert found["trait"] == set()


def test_a_next_naming_no_step_is_refused_with_the_step_and_field() -> None:
    """A dangling reference names where it is, not only that something is wrong."""
    errors = faults_of(with_step(ABANDONED_CART, "sms", next="dya"))

    assert errors == [{"step": "sms", "field": "next", "message": "names no step: 'dya'"}]


def test_a_loop_without_a_delay_or_wait_is_refused() -> None:
    """sms -> email -> sms would spin a worker forever: refused with the loop spelt out."""
    looping = with_step(with_step(ABANDONED_CART, "sms", next="email"), "email", next="sms")
    looping["start"] = "sms"
    looping["steps"] = [s for s in looping["steps"] if s["id"] in {"sms", "email"}]

    errors = faults_of(looping)

    assert errors == [
        {
            "step": "sms",
            "field": "next",
            "message": "loops back (sms -> email -> sms) with no delay or wait",
        }
    ]


def test_a_loop_through_a_delay_is_allowed() -> None:
    """A weekly reminder loop waits each time round: that is a schedule, not a spin."""
    weekly = copy.deepcopy(ABANDONED_CART)
    weekly["start"] = "remind"
    weekly["steps"] = [
        {"id": "remind", "type": "send_email", "template": "weekly", "next": "week"},
        {"id": "week", "type": "delay", "duration": "P7D", "next": "remind"},
    ]

    assert parse(weekly).step("week").type == "delay"


def test_an_unreachable_step_and_a_duplicate_id_are_refused() -> None:
    orphan = copy.deepcopy(ABANDONED_CART)
    orphan["steps"].append({"id": "lost", "type": "exit"})
    duplicate = copy.deepcopy(ABANDONED_CART)
    duplicate["steps"].append({"id": "sms", "type": "exit"})

    assert faults_of(orphan) == [
        {"step": "lost", "field": "id", "message": "cannot be reached from the start"}
    ]
    assert faults_of(duplicate)[0] == {
        "step": "sms",
        "field": "id",
        "message": "is used by another step",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"duration": "PT0S"}, "duration"),
        ({"duration": "P500D"}, "duration"),
        ({"duration": None}, "duration"),
        ({"duration": "PT1H", "until_local_time": "09:00"}, "duration"),
        ({"duration": "PT1H", "offset": "P1D"}, "offset"),
        ({"duration": "soon"}, "duration"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_delay_with_contradicting_or_wrong_fields_is_refused(
    changes: dict[str, Any], field: str
) -> None:
    """One of duration, local time or trait date; a positive duration under 400 days."""
    errors = faults_of(with_step(ABANDONED_CART, "day", **changes))

    assert [(e["step"], e["field"]) for e in errors] == [("day", field)]


def test_a_delay_until_a_local_time_of_day_parses() -> None:
    changed = with_step(ABANDONED_CART, "day", duration=None, until_local_time="09:30")

    assert parse(changed).step("day").until_local_time == time(9, 30)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        "journey",
        {},
        {**ABANDONED_CART, "steps": []},
        {**ABANDONED_CART, "entry": {"kind": "sms"}},
        {**ABANDONED_CART, "entry": {"kind": "event", "event": "x", "key": "cart_id"}},
        {**ABANDONED_CART, "start": "Not An Id"},
        {**ABANDONED_CART, "steps": [{"id": "a", "type": "teleport"}]},
        {**ABANDONED_CART, "steps": [{"id": "a\x00", "type": "exit"}]},
        {**ABANDONED_CART, "steps": ["exit"]},
    ],
)
def test_malformed_documents_are_refused_never_a_crash(document: Any) -> None:
    """Whatever the JSON, the answer is a DefinitionError listing at least one fault."""
    errors = faults_of(document)

    assert errors
    assert all(set(e) == {"step", "field", "message"} for e in errors)


def test_every_random_branch_being_a_holdout_is_refused() -> None:
    split = with_step(
        ABANDONED_CART,
        "sms_or_email",
        type="random",
        condition=None,
        then=None,
        otherwise=None,
    )
    for key in ("condition", "then", "otherwise"):
        del split["steps"][1][key]
    split["steps"][1]["branches"] = [
        {"weight": 1, "next": "sms", "holdout": True},
        {"weight": 1, "next": "email", "holdout": True},
    ]

    assert faults_of(split) == [
        {"step": "sms_or_email", "field": "branches", "message": "every branch is a holdout"}
    ]


STEP_IDS = [f"s{i}" for i in range(6)]


@st.composite
def random_graphs(draw: st.DrawFn) -> dict[str, Any]:
    """Any small graph of sends, delays and exits wired at random."""
    steps = []
    for step_id in STEP_IDS:
        kind = draw(st.sampled_from(["send_email", "delay", "exit"]))
        step: dict[str, Any] = {"id": step_id, "type": kind}
        if kind == "send_email":
            step.update(template="t", next=draw(st.sampled_from(STEP_IDS)))
        elif kind == "delay":
            step.update(duration="PT1H", next=draw(st.sampled_from(STEP_IDS)))
        steps.append(step)
    return {**ABANDONED_CART, "start": "s0", "steps": steps}


@settings(max_examples=200, deadline=None)
@given(random_graphs())
def test_an_accepted_graph_reaches_every_step_and_every_cycle_waits(document: Any) -> None:
    """Property: parse accepts a graph only if walking it from the start without passing a
    delay can never come back to a step already walked."""
    try:
        definition = parse(document)
    except DefinitionError:
        return
    by_id = {step.id: step for step in definition.steps}
    reached: set[str] = set()
    frontier = [definition.start]
    while frontier:
        step_id = frontier.pop()
        if step_id not in reached:
            reached.add(step_id)
            frontier.extend(target for _, target in successors(by_id[step_id]))
    assert reached == set(by_id)
    for start in by_id:
        walked = [start]
        while by_id[walked[-1]].type == "send_email":
            following = successors(by_id[walked[-1]])[0][1]
            assert following not in walked
            walked.append(following)
