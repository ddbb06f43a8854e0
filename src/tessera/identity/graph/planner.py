"""Stitch planning: which identifiers join which profile, which profiles merge, what is refused.

Pure. The caller loads what the database knows about a batch's identifiers (their profiles,
each profile's identifier counts per type and its split tags), this module decides, and the
caller writes the plan. The same decision function replays links after an unmerge, so a
profile is always the answer of one rule set over its evidence.

Per record, identifiers are taken highest priority first. The first one that is known fixes
the profile; each further identifier joins it, or brings its own profile into a merge, only when
the merged profile would keep every per-type limit and no split rule separates the two sides.
An identifier that cannot join is dropped from the record and a conflict records why (Segment's
rule: lower-priority identifiers are dropped and matching retried). A record whose identifiers
are all new makes a new profile. An identifier that never links (a relay address,
``NON_LINKING_TYPES``) joins the record's profile when it is new and is passed over, without a
conflict, when another profile holds it: it neither fixes a record's profile nor merges two.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tessera.identity.graph.identifiers import (
    ANONYMOUS_ID,
    NON_LINKING_TYPES,
    USER_ID,
    Ident,
    IdentityRecord,
    Rules,
)
from tessera.kit.memory import collector_paused

Key = tuple[str, str]
Tag = tuple[str, int]  # (split id, side)


@dataclass
class ProfileState:
    """What the planner needs to know about one existing profile."""

    counts: dict[str, int] = field(default_factory=dict)
    tags: set[Tag] = field(default_factory=set)


@dataclass(frozen=True)
class Merge:
    survivor: str
    absorbed: str
    ref: str
    occurred_at: datetime
    evidence: dict[str, Any]
    link: tuple[Key, Key]
    # How many new identifiers the batch had made when this merge was planned: the sides of
    # the merge are what each profile held then, not what it held at the end of the batch.
    after: int = 0


@dataclass(frozen=True)
class Conflict:
    rule: str
    ident: Ident
    profile_ids: tuple[str, ...]
    ref: str
    evidence: dict[str, Any]


# Evidence planned: (a, b, record ref, when, brings): ``a`` and ``b`` came together in that
# record, and ``brings`` is the one of them the link brought in (new to the graph), or None when
# both were known (a merge). A plain tuple: a bulk stitch plans millions, and even a named tuple
# costs a Python call.
Link = tuple[Key, Key, str, datetime, Key | None]


@dataclass
class Plan:
    new_profiles: list[str] = field(default_factory=list)
    # New identifier -> (identifier, profile it started in, first seen, record that brought it)
    new_identifiers: dict[Key, tuple[Ident, str, datetime, str]] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # Each record's profile as planned (before later merges in the batch; resolve() it).
    record_profiles: list[tuple[IdentityRecord, str]] = field(default_factory=list)
    parent: dict[str, str] = field(default_factory=dict)

    def resolve(self, profile_id: str) -> str:
        """The profile ``profile_id`` became through this batch's merges (path-compressed)."""
        root = profile_id
        while root in self.parent:
            root = self.parent[root]
        while profile_id != root:  # point every step at the root, so chains stay short
            self.parent[profile_id], profile_id = root, self.parent[profile_id]
        return root


def clash(a: set[Tag], b: set[Tag]) -> bool:
    """True when a split rule puts one side in ``a`` and the other in ``b``."""
    return any((split, 1 - side) in b for split, side in a)


def breaks_limit(counts: Mapping[str, int], rules: Rules) -> str | None:
    for type_, count in counts.items():
        limit = rules.limit(type_)
        if limit is not None and count > limit:
            return type_
    return None


class Planner:
    """Plans one batch of records against the known state; keeps its own view as it goes.

    The hot path of bulk stitching (a million records at a time), so per-type counts are
    plain dicts of the limited types only, and a profile's state is written once per record.
    """

    def __init__(
        self,
        rules: Rules,
        owners: Mapping[Key, str],
        profiles: Mapping[str, ProfileState],
        new_profile_id: Callable[[], str],
        *,
        shared: bool = False,
    ) -> None:
        self.rules = rules
        self.limits: dict[str, int] = {t: n for t, n in rules.limits.items() if n is not None}
        # ``shared``: the caller made both dicts for this planner, which adds to them as it
        # goes (a bulk stitch passes hundreds of thousands of entries); else they are copied.
        self.owners = owners if shared and isinstance(owners, dict) else dict(owners)
        # A state is replaced, never changed in place, as records join.
        self.profiles = profiles if shared and isinstance(profiles, dict) else dict(profiles)
        self.new_profile_id = new_profile_id
        self.plan = Plan()

    def owner(self, key: Key) -> str | None:
        profile = self.owners.get(key)
        return None if profile is None else self.plan.resolve(profile)

    def add(self, record: IdentityRecord) -> str | None:
        """Plan one record; returns its profile (None when every identifier was refused)."""
        plan = self.plan
        parent = plan.parent
        owners = self.owners
        current_of: list[str | None] = []
        for ident in record.idents:
            profile = owners.get(ident.key)
            if profile is not None and profile in parent:
                profile = plan.resolve(profile)
            current_of.append(profile)
        first = current_of[0]
        if first is not None and current_of.count(first) == len(current_of):
            plan.record_profiles.append((record, first))  # all known, one profile
            return first
        limits = self.limits
        group: str | None = None
        counts: dict[str, int] = {}
        tags: set[Tag] = set()
        pending: list[Ident] = []
        anchor: Ident | None = None
        pending_keys: set[Key] = set()
        for ident, current in zip(record.idents, current_of, strict=True):
            # Owners change within the record only through its own merges: resolve again.
            if current is not None and current in parent:
                current = plan.resolve(current)
            if current is not None and current == group:
                continue
            if current is not None and ident.type in NON_LINKING_TYPES:
                continue  # another profile's relay address: it stays there, never a bridge
            if current is None:
                if ident.key in pending_keys:
                    continue
                limit = limits.get(ident.type)
                if limit is not None:  # only limited types are counted
                    if counts.get(ident.type, 0) + 1 > limit:
                        rule = f"limit:{ident.type}"
                        self._conflict(rule, ident, group, None, record, anchor)
                        continue
                    counts[ident.type] = counts.get(ident.type, 0) + 1
                pending.append(ident)
                pending_keys.add(ident.key)
                if anchor is None:
                    anchor = ident
                continue
            state = self.profiles.get(current)
            if state is None:
                state = self.profiles[current] = ProfileState()
            merged = dict(counts)
            broken = None
            for type_, count in state.counts.items():
                limit = limits.get(type_)
                if limit is None:  # counted by the caller, not limited here
                    continue
                total = merged[type_] = merged.get(type_, 0) + count
                if broken is None and total > limit:
                    broken = type_
            if broken is None:  # the record's own counts can break a limit only here
                broken = next((t for t, c in merged.items() if c > limits[t]), None)
            if broken or (tags and state.tags and clash(tags, state.tags)):
                rule = f"limit:{broken}" if broken else "split"
                self._conflict(rule, ident, group, current, record, anchor)
                continue
            if group is None:
                group = current
                if anchor is not None:  # new identifiers came first: tie them to this profile
                    plan.links.append(
                        (anchor.key, ident.key, record.ref, record.occurred_at, anchor.key)
                    )
            else:
                survivor, absorbed = (group, current) if group < current else (current, group)
                assert anchor is not None
                plan.merges.append(
                    Merge(
                        survivor=survivor,
                        absorbed=absorbed,
                        ref=record.ref,
                        occurred_at=record.occurred_at,
                        evidence={
                            "record": record.ref,
                            "linking": [_show(anchor), _show(ident)],
                            "channel": record.channel,
                        },
                        link=(anchor.key, ident.key),
                        after=len(plan.new_identifiers),
                    )
                )
                plan.links.append((anchor.key, ident.key, record.ref, record.occurred_at, None))
                parent[absorbed] = survivor
                self.profiles.pop(absorbed, None)
                group = survivor
            counts = merged
            if state.tags:
                tags = tags | state.tags
            if anchor is None:
                anchor = ident
        if group is None and not pending:
            return None
        if group is None:
            group = self.new_profile_id()
            plan.new_profiles.append(group)
        self.profiles[group] = ProfileState(counts, tags)
        assert anchor is not None
        seen, ref = record.occurred_at, record.ref
        new_identifiers = plan.new_identifiers
        for ident in pending:
            owners[ident.key] = group
            new_identifiers[ident.key] = (ident, group, seen, ref)
            if ident is not anchor:
                plan.links.append((anchor.key, ident.key, ref, seen, ident.key))
        plan.record_profiles.append((record, self._attributed(record, group)))
        return group

    def _attributed(self, record: IdentityRecord, group: str) -> str:
        """Whose record this is, by the rule the timeline reads events with: the profile
        holding its user id, else the one holding its anonymous id, else its group. When a
        guard-rail split the record's identifiers, traits follow the event, not the email."""
        if not self.plan.conflicts or self.plan.conflicts[-1].ref != record.ref:
            return group  # nothing of this record was refused: all of it is in the group
        for wanted in (USER_ID, ANONYMOUS_ID):
            for ident in record.idents:
                if ident.type == wanted:
                    owner = self.owner(ident.key)
                    if owner is not None:
                        return owner
        return group

    def _conflict(
        self,
        rule: str,
        ident: Ident,
        group: str | None,
        other: str | None,
        record: IdentityRecord,
        anchor: Ident | None,
    ) -> None:
        profiles = tuple(p for p in (group, other) if p is not None)
        self.plan.conflicts.append(
            Conflict(
                rule=rule,
                ident=ident,
                profile_ids=profiles,
                ref=record.ref,
                evidence={
                    "record": record.ref,
                    "channel": record.channel,
                    "identifiers": [_show(i) for i in record.idents],
                    "kept_with": _show(anchor) if anchor else None,
                },
            )
        )


def _show(ident: Ident) -> dict[str, str]:
    return {"type": ident.type, "value": ident.value}


def plan_batch(
    records: Sequence[IdentityRecord],
    rules: Rules,
    owners: Mapping[Key, str],
    profiles: Mapping[str, ProfileState],
    new_profile_id: Callable[[], str],
) -> Plan:
    """Plan a batch of records in order; see the module docstring for the rule."""
    planner = Planner(rules, owners, profiles, new_profile_id)
    with collector_paused():  # a plan is millions of small containers: kit/memory.py
        for record in records:
            planner.add(record)
    return planner.plan


@dataclass(frozen=True)
class Edge:
    a: str  # identifier ids
    b: str


def replay(
    identifiers: Mapping[str, str],
    edges: Iterable[Edge],
    tags: Mapping[str, set[Tag]],
    rules: Rules,
) -> tuple[list[set[str]], list[Edge]]:
    """Components of ``identifiers`` (id -> type) joined by ``edges`` in order, under the rules.

    An edge that would break a limit or a split rule is refused and returned. Used to rebuild
    profiles after an unmerge: the same rules, over the evidence that remains.
    """
    parent = {i: i for i in identifiers}
    counts = {i: Counter([t]) for i, t in identifiers.items()}
    group_tags = {i: set(tags.get(i, set())) for i in identifiers}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    refused: list[Edge] = []
    for edge in edges:
        if edge.a not in parent or edge.b not in parent:
            continue
        ra, rb = find(edge.a), find(edge.b)
        if ra == rb:
            continue
        merged = counts[ra] + counts[rb]
        if breaks_limit(merged, rules) or clash(group_tags[ra], group_tags[rb]):
            refused.append(edge)
            continue
        parent[rb] = ra
        counts[ra] = merged
        group_tags[ra] |= group_tags[rb]
    groups: dict[str, set[str]] = {}
    for i in identifiers:
        groups.setdefault(find(i), set()).add(i)
    return sorted(groups.values(), key=min), refused
