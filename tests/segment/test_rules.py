"""A segment rule is checked whole, and every refusal names its field."""

from __future__ import annotations

from typing import Any

import pytest

from tessera.segment.rules import InvalidRule, dump_rule, has_window, parse_rule

VIP: dict[str, Any] = {"kind": "orders", "min_spent": 50000, "currency": "USD"}


def refusal(document: Any) -> str:
    with pytest.raises(InvalidRule) as caught:
        parse_rule(document)
    return caught.value.detail


def test_a_rule_round_trips_without_its_defaults() -> None:
    """A stored rule is the rule as written, defaults left out."""
    rule = {
        "kind": "all",
        "rules": [VIP, {"kind": "not", "rule": {"kind": "channel", "channel": "store"}}],
    }

    assert dump_rule(parse_rule(rule)) == {
        "kind": "all",
        "rules": [
            {"kind": "orders", "min_spent": 50000, "currency": "USD"},
            {"kind": "not", "rule": {"kind": "channel", "channel": "store"}},
        ],
    }


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"kind": "all", "rules": []}, "rule.all.rules"),
        ({}, "rule"),
        (None, "rule"),
        ({"kind": "trait", "trait": "tier", "op": "eq", "value": {"a": 1}}, "rule.trait.value"),
        ({"kind": "trait", "trait": "tier", "op": "eq", "value": [1, 2]}, "rule.trait.value"),
        ({"kind": "trait", "trait": "tier", "op": "gt", "value": True}, "rule.trait"),
        ({"kind": "trait", "trait": "tier", "op": "eq"}, "rule.trait"),
        ({"kind": "event", "event": "Viewed", "within_days": 10**9}, "rule.event.within_days"),
        ({"kind": "event", "event": "Viewed", "within_days": 0}, "rule.event.within_days"),
        ({"kind": "orders", "min_spent": 100}, "rule.orders"),
        ({"kind": "orders"}, "rule.orders"),
        ({"kind": "orders", "min_count": 3, "max_count": 1}, "rule.orders"),
        ({"kind": "colour", "value": "red"}, "rule"),
        ({"kind": "channel", "channel": "web", "extra": 1}, "rule.channel.extra"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(document: Any, named: str) -> None:
    """Empty groups, unknown kinds or trait value types, huge windows and half-asked order
    rules are refused, the message naming where."""
    assert refusal(document).startswith(named)


def test_a_rule_nested_too_deep_is_refused() -> None:
    """Six levels of nesting are one too many."""
    rule: dict[str, Any] = {"kind": "channel", "channel": "web"}
    for _ in range(5):
        rule = {"kind": "not", "rule": rule}

    assert refusal(rule) == "rule: nested 6 deep, at most 5"


def test_a_rule_with_too_many_conditions_is_refused() -> None:
    """Fifty-one conditions across groups are refused."""
    group = {"kind": "any", "rules": [{"kind": "channel", "channel": "web"}] * 30}

    assert refusal({"kind": "all", "rules": [group, group]}) == "rule: 60 conditions, at most 50"


def test_only_a_window_makes_a_rule_change_with_time() -> None:
    """An order rule with a window changes with time; a channel rule does not."""
    assert has_window(parse_rule({"kind": "orders", "min_count": 1, "within_days": 90}))
    assert not has_window(parse_rule({"kind": "channel", "channel": "web"}))
