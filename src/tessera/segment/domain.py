"""Whether a person matches a segment's rule, from what they did: pure, no session, no clock.

``Activity`` is everything a rule can ask about one person, read once by the service;
``matches`` answers for a rule at ``now`` (a window of N days is what happened after
``now - N days``). Trait comparisons read like the journeys': numbers as numbers, else text
without case; a missing trait only satisfies ``ne`` and ``not_exists``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tessera.kit import compare
from tessera.segment.rules import (
    AllRule,
    AnyRule,
    ChannelRule,
    EventRule,
    NotRule,
    OrdersRule,
    Rule,
    TraitRule,
)


@dataclass(frozen=True, slots=True)
class Happened:
    """One event of the person's: its name (None for a page or identify call), channel, time."""

    name: str | None
    channel: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Purchase:
    """One order on any channel: what it came to after refunds, and whether it was cancelled."""

    channel: str
    at: datetime
    amount: int
    currency: str
    is_cancelled: bool = False


@dataclass(frozen=True)
class Activity:
    traits: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[Happened] = ()
    orders: Sequence[Purchase] = ()

    @property
    def channels(self) -> set[str]:
        return {e.channel for e in self.events} | {o.channel for o in self.orders}


def matches(rule: Rule, activity: Activity, now: datetime) -> bool:
    """Whether ``rule`` holds for the person ``activity`` describes at ``now``."""
    match rule:
        case TraitRule():
            return _compare(activity.traits, rule)
        case EventRule():
            return _event_holds(rule, activity, now)
        case OrdersRule():
            return _orders_hold(rule, activity, now)
        case ChannelRule():
            return any(on_channel(rule.channel, c) for c in activity.channels)
        case AllRule():
            return all(matches(inner, activity, now) for inner in rule.rules)
        case AnyRule():
            return any(matches(inner, activity, now) for inner in rule.rules)
        case NotRule():
            return not matches(rule.rule, activity, now)
    raise AssertionError(f"unhandled rule {rule!r}")


def on_channel(wanted: str | None, actual: str) -> bool:
    """Whether ``actual`` is the channel ``wanted`` (any when None) or one of its family:
    ``store`` is every ``store:<key>`` store, ``retail`` every ``retail:<partner>``."""
    return wanted is None or actual == wanted or actual.startswith(wanted + ":")


def _since(now: datetime, within_days: int | None) -> datetime | None:
    return None if within_days is None else now - timedelta(days=within_days)


def _in_window(at: datetime, since: datetime | None) -> bool:
    # A time after ``now`` (a clock ahead of ours) counts as recent, never as missing.
    return since is None or at > since


def _event_holds(rule: EventRule, activity: Activity, now: datetime) -> bool:
    since = _since(now, rule.within_days)
    count = sum(
        1
        for e in activity.events
        if e.name == rule.event and on_channel(rule.channel, e.channel) and _in_window(e.at, since)
    )
    done = count >= rule.min_count
    return done if rule.did else not done


def _orders_hold(rule: OrdersRule, activity: Activity, now: datetime) -> bool:
    since = _since(now, rule.within_days)
    counted = [
        o
        for o in activity.orders
        if not o.is_cancelled and on_channel(rule.channel, o.channel) and _in_window(o.at, since)
    ]
    if rule.min_count is not None and len(counted) < rule.min_count:
        return False
    if rule.max_count is not None and len(counted) > rule.max_count:
        return False
    if rule.min_spent is not None:
        spent = sum(o.amount for o in counted if o.currency == rule.currency)
        if spent < rule.min_spent:
            return False
    return True


def _compare(traits: Mapping[str, Any], rule: TraitRule) -> bool:
    return compare.holds(traits, rule.trait, rule.op, rule.value)
