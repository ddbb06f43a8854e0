"""The pure rules of running a journey: local times across daylight saving, date traits,
deterministic branches, conditions, keys and re-entry."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tessera.journey import domain
from tessera.journey.definition import Branch, Delay, Reentry, TraitCondition, parse
from tessera.journey.domain import Facts

NEW_YORK = ZoneInfo("America/New_York")
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_nine_in_the_morning_stays_nine_when_the_clocks_spring_forward() -> None:
    """New York moves to EDT on 9 March 2031: 9:00 is 14:00 UTC before and 13:00 UTC after."""
    before = domain.next_local_time(utc(2031, 3, 8, 1, 0), time(9), NEW_YORK)  # 20:00 EST, 7th
    across = domain.next_local_time(utc(2031, 3, 9, 1, 0), time(9), NEW_YORK)  # 20:00 EST, 8th

    assert before == utc(2031, 3, 8, 14, 0)
    assert across == utc(2031, 3, 9, 13, 0)
    assert across.astimezone(NEW_YORK).hour == 9


def test_nine_in_the_morning_stays_nine_when_the_clocks_fall_back() -> None:
    """Stockholm leaves summer time on 26 October 2031: 9:00 moves from 07:00 to 08:00 UTC."""
    summer = domain.next_local_time(utc(2031, 10, 25, 6, 0), time(9), STOCKHOLM)
    winter = domain.next_local_time(utc(2031, 10, 25, 18, 0), time(9), STOCKHOLM)

    assert summer == utc(2031, 10, 25, 7, 0)
    assert winter == utc(2031, 10, 26, 8, 0)


def test_a_local_time_the_clocks_skip_comes_as_far_past_the_jump() -> None:
    """02:30 does not exist in New York on 9 March 2031: it comes at 03:30 EDT (07:30 UTC)."""
    skipped = domain.next_local_time(utc(2031, 3, 9, 5, 0), time(2, 30), NEW_YORK)

    assert skipped == utc(2031, 3, 9, 7, 30)
    assert skipped.astimezone(NEW_YORK).strftime("%H:%M %Z") == "03:30 EDT"


def test_a_time_already_passed_today_is_tomorrows() -> None:
    """At 10:00 local, "until 9:00" is tomorrow's 9:00, and "until 9:00" at 9:00 too."""
    at_ten = utc(2031, 6, 2, 8, 0)  # 10:00 in Stockholm (CEST)
    at_nine = utc(2031, 6, 2, 7, 0)

    assert domain.next_local_time(at_ten, time(9), STOCKHOLM) == utc(2031, 6, 3, 7, 0)
    assert domain.next_local_time(at_nine, time(9), STOCKHOLM) == utc(2031, 6, 3, 7, 0)


def test_the_zone_is_the_profiles_then_the_workspaces_then_utc() -> None:
    """A zone no database knows is skipped, never fatal."""
    assert domain.zone_for({"timezone": "America/New_York"}, "Europe/Stockholm") == NEW_YORK
    assert domain.zone_for({"timezone": "Mars/Olympus"}, "Europe/Stockholm") == STOCKHOLM
    assert domain.zone_for({}, "Nowhere/Else") == ZoneInfo("UTC")


def test_a_delay_relative_to_a_date_trait_ends_at_that_local_date_plus_the_offset() -> None:
    """Three days before a renewal date (local midnight); past or missing dates end at once."""
    step = Delay(id="before", relative_to_trait="renews_on", offset=-timedelta(days=3), next="x")
    start = utc(2031, 5, 1, 12, 0)

    ahead = domain.delay_end(step, start, {"renews_on": "2031-06-10"}, STOCKHOLM)
    past = domain.delay_end(step, start, {"renews_on": "2031-05-02"}, STOCKHOLM)
    missing = domain.delay_end(step, start, {"renews_on": "soon"}, STOCKHOLM)

    assert ahead.at == utc(2031, 6, 6, 22, 0)  # 7 June 00:00 CEST
    assert (past.at, past.detail["reason"]) == (start, "already past")
    assert (missing.at, missing.detail["reason"]) == (start, "not a date")


def test_a_random_split_picks_the_same_branch_every_time_and_follows_the_weights() -> None:
    """The draw is a hash of instance and step: a re-run agrees; 10,000 people split 90/10."""
    branches = [Branch(weight=9, next="send"), Branch(weight=1, next="out", holdout=True)]

    picks = Counter(domain.pick_branch(f"jri_{n}", "split", branches) for n in range(10_000))

    assert domain.pick_branch("jri_7", "split", branches) == domain.pick_branch(
        "jri_7", "split", branches
    )
    assert 8_800 < picks[0] < 9_200
    assert picks[0] + picks[1] == 10_000


@pytest.mark.parametrize(
    ("condition", "traits", "expected"),
    [
        ({"trait": "tier", "op": "eq", "value": "Gold"}, {"tier": "gold"}, True),
        ({"trait": "tier", "op": "ne", "value": "gold"}, {}, True),
        ({"trait": "orders", "op": "gte", "value": 3}, {"orders": "3"}, True),
        ({"trait": "orders", "op": "gt", "value": 3}, {"orders": "many"}, False),
        ({"trait": "tags", "op": "contains", "value": "vip"}, {"tags": ["new", "vip"]}, True),
        ({"trait": "email", "op": "contains", "value": "@Shop"}, {"email": "a@shop.se"}, True),
        ({"trait": "phone", "op": "exists"}, {"phone": None}, False),
        ({"trait": "phone", "op": "not_exists"}, {}, True),
        ({"trait": "is_member", "op": "eq", "value": True}, {"is_member": "true"}, True),
    ],
)
def test_trait_conditions_compare_as_people_mean_them(
    condition: dict[str, Any], traits: dict[str, Any], expected: bool
) -> None:
    """Case-insensitive text, numbers as numbers, lists by member; a missing trait is unequal."""
    facts = Facts(traits=traits, ordered_since_entry=lambda: False, consented=lambda _: False)

    assert domain.holds(TraitCondition(**condition), facts) is expected


def test_a_condition_reads_orders_and_consent_only_when_it_asks() -> None:
    """``all`` stops at the first false part: the orders are never read."""
    asked: list[str] = []

    def ordered() -> bool:
        asked.append("orders")
        return True

    facts = Facts(traits={}, ordered_since_entry=ordered, consented=lambda c: c == "sms")
    definition = parse(
        {
            "name": "n",
            "entry": {"kind": "event", "event": "Checkout Started"},
            "start": "split",
            "steps": [
                {
                    "id": "split",
                    "type": "condition",
                    "condition": {
                        "kind": "all",
                        "conditions": [
                            {"kind": "consented", "channel": "email"},
                            {"kind": "ordered_since_entry"},
                        ],
                    },
                    "then": "end",
                    "otherwise": "end",
                },
                {"id": "end", "type": "exit"},
            ],
        }
    )
    split = definition.step("split")

    assert domain.holds(split.condition, facts) is False  # type: ignore[union-attr]
    assert asked == []


def test_keys_are_read_from_scalar_values_only() -> None:
    """A key is text of at most 200 characters; objects, booleans and blanks are no key."""
    message = {"properties": {"cart_id": 123, "flag": True, "obj": {"a": 1}, "blank": " "}}

    assert domain.read_path(message, "properties.cart_id") == "123"
    assert domain.read_path(message, "properties.flag") is None
    assert domain.read_path(message, "properties.obj") is None
    assert domain.read_path(message, "properties.blank") is None
    assert domain.read_path(message, "properties.missing") is None
    assert domain.key_matches(message, "properties.cart_id", "123")
    assert not domain.key_matches(message, "properties.cart_id", "")
    assert domain.key_matches(message, None, "")


def test_reentry_never_and_after_a_cooldown() -> None:
    """``never`` admits once; ``after_exit`` again once the cooldown since the last entry ran."""
    entered = [utc(2031, 1, 1, 12, 0)]
    day_later = utc(2031, 1, 2, 12, 0)

    assert domain.may_enter(Reentry(mode="never"), [], day_later)
    assert not domain.may_enter(Reentry(mode="never"), entered, day_later)
    assert domain.may_enter(Reentry(cooldown=timedelta(days=1)), entered, day_later)
    assert not domain.may_enter(Reentry(cooldown=timedelta(days=2)), entered, day_later)
