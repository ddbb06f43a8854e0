"""Pure rules of running a journey: when a delay ends, which branch a person takes, whether a
condition holds, whether an event matches, whether a person may enter again.

No session and no clock: callers pass the moment a step runs for (``at``) and what is known
about the person (``Facts``).

Times of day are computed in the recipient's zone with ``zoneinfo`` when the delay starts, so a
change to or from daylight saving time moves the UTC instant and keeps the local time: "9:00"
is 9:00 on the wall clock the day after the clocks change too. A local time that does not
exist that day (02:30 when the clocks jump from 02:00 to 03:00) comes at the same distance
past the jump (03:30); one that happens twice (01:30 when they go back) is the first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tessera.journey.definition import (
    AllOf,
    AnyOf,
    Branch,
    Condition,
    Consented,
    Delay,
    InSegment,
    Not,
    OrderedSinceEntry,
    Reentry,
    TraitCondition,
)
from tessera.kit import compare

# The profile trait that names a person's zone (IANA, like the workspace's ``time_zone``).
ZONE_TRAIT = "timezone"
KEY_MAX = 200


@dataclass(frozen=True)
class Facts:
    """What conditions may ask about one person. The callables read only when asked, so a
    condition on a trait never reads orders or consent."""

    traits: Mapping[str, Any]
    ordered_since_entry: Callable[[], bool]
    consented: Callable[[str], bool]
    in_segment: Callable[[str], bool] | None = None


class UnknownSegment(Exception):
    """A condition asks about a segment where nobody said how to read membership."""


# Keys and events ---------------------------------------------------------------------------


def read_path(message: Mapping[str, Any], path: str) -> str | None:
    """The value at a dotted ``path`` of a stored message ("properties.cart_id"), as the text
    an instance keeps for its key; None when it is missing, empty, not a scalar, or too long."""
    value: Any = message
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= KEY_MAX else None


def key_matches(message: Mapping[str, Any], path: str | None, key: str | None) -> bool:
    """Whether an event answers a keyed wait or exit: any event when ``path`` is None, else
    only the event whose value at ``path`` equals the instance's key."""
    if path is None:
        return True
    return key is not None and key != "" and read_path(message, path) == key


# Time --------------------------------------------------------------------------------------


def zone_for(traits: Mapping[str, Any], workspace_zone: str) -> ZoneInfo:
    """The recipient's zone: the profile's ``timezone`` trait, else the workspace's, else UTC
    (a name no zone database knows is skipped, never fatal)."""
    for name in (traits.get(ZONE_TRAIT), workspace_zone):
        if isinstance(name, str) and name.strip():
            try:
                return ZoneInfo(name.strip())
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_instant(day: date, clock_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the wall clock in ``zone`` shows ``clock_time`` on ``day``."""
    naive = datetime.combine(day, clock_time.replace(tzinfo=None))
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_local_time(at: datetime, clock_time: time, zone: ZoneInfo) -> datetime:
    """The first instant after ``at`` at which the clock in ``zone`` shows ``clock_time``."""
    day = at.astimezone(zone).date()
    for offset in range(3):  # today, tomorrow; a third day only if a gap swallowed one
        candidate = local_instant(day + timedelta(days=offset), clock_time, zone)
        if candidate > at:
            return candidate
    raise AssertionError("a time of day recurs within three days")


def trait_instant(value: Any, zone: ZoneInfo) -> datetime | None:
    """A date or date-time trait as an instant: a date alone is its local midnight; a time
    without a zone is local wall time. None when it is not a date."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return local_instant(date.fromisoformat(text), time(0), zone)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Wake:
    """When a delay ends, and what the step's history says about it."""

    at: datetime
    detail: dict[str, Any]


def delay_end(step: Delay, at: datetime, traits: Mapping[str, Any], zone: ZoneInfo) -> Wake:
    """When a delay that starts at ``at`` ends. A date trait that is missing, not a date, or
    already past plus its offset ends the delay at once (the history says which)."""
    if step.duration is not None:
        return Wake(at + step.duration, {})
    if step.until_local_time is not None:
        return Wake(next_local_time(at, step.until_local_time, zone), {"zone": zone.key})
    assert step.relative_to_trait is not None, "the definition's checks hold one of the three"
    base = trait_instant(traits.get(step.relative_to_trait), zone)
    if base is None:
        return Wake(at, {"trait": step.relative_to_trait, "reason": "not a date"})
    target = base + step.offset
    if target <= at:
        return Wake(at, {"trait": step.relative_to_trait, "reason": "already past"})
    return Wake(target, {"trait": step.relative_to_trait})


# Branches and conditions -------------------------------------------------------------------


def pick_branch(instance_id: str, step_id: str, branches: Sequence[Branch]) -> int:
    """The branch a person takes at a random split, by weight: drawn from a hash of the
    instance and the step, so a re-run (or a second worker) picks the same one."""
    total = sum(branch.weight for branch in branches)
    digest = hashlib.sha256(f"{instance_id}:{step_id}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") % total
    for index, branch in enumerate(branches):
        if draw < branch.weight:
            return index
        draw -= branch.weight
    raise AssertionError("the draw is below the total weight")


def holds(condition: Condition, facts: Facts) -> bool:
    """Whether ``condition`` holds for the person ``facts`` describe."""
    match condition:
        case TraitCondition():
            return _compare(facts.traits, condition)
        case OrderedSinceEntry():
            return facts.ordered_since_entry()
        case Consented():
            return facts.consented(condition.channel)
        case AllOf():
            return all(holds(inner, facts) for inner in condition.conditions)
        case AnyOf():
            return any(holds(inner, facts) for inner in condition.conditions)
        case Not():
            return not holds(condition.condition, facts)
        case InSegment():
            if facts.in_segment is None:
                raise UnknownSegment(condition.segment)
            return facts.in_segment(condition.segment)
    raise AssertionError(f"unhandled condition {condition!r}")


def _compare(traits: Mapping[str, Any], condition: TraitCondition) -> bool:
    return compare.holds(traits, condition.trait, condition.op, condition.value)


# Entry -------------------------------------------------------------------------------------


def may_enter(reentry: Reentry, entered_before: Sequence[datetime], at: datetime) -> bool:
    """Whether a person (with this key) may enter at ``at``, given when they entered before.

    ``never``: only the first time. ``after_exit``: again once ``cooldown`` has passed since
    the last entry (that nobody is inside twice is the partial unique index's to hold).
    """
    if not entered_before:
        return True
    if reentry.mode == "never":
        return False
    return at - max(entered_before) >= reentry.cooldown
