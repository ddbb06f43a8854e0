"""Stitching: a batch of identity records linked into the graph, its writes in a fixed number of
statements however large the batch.

The workspace's identity lock is taken first; the batch is planned against the committed graph
(``planner``), starting from what this process's previous stitch left (``memory``) when no one
else has written since. New identifiers go to the server by binary COPY from a writer thread
while the next records are planned (``repository.bulk``); the merges are played in memory so
new profiles are written once in their final state; merges, conflicts and the jobs that announce
them go through the session last (ADR 0010).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from tessera.identity.graph import identifiers as ids
from tessera.identity.graph import memory as graph_memory
from tessera.identity.graph.identifiers import IdentityRecord, Rules
from tessera.identity.graph.planner import Key, Plan, Planner
from tessera.identity.graph.repository import AsideWrites, IdentityRepository
from tessera.identity.graph.shared import without_shared
from tessera.identity.graph.summary import Summary, fold_traits, stamp
from tessera.job.service import JobService
from tessera.kit.ids import id_stream, new_ids
from tessera.kit.memory import collector_paused
from tessera.kit.time import utcnow
from tessera.models.identity import Identifier, IdentityLink, Profile, ProfileStatus

# last_seen moves forward in steps of at least this much, so a profile active all day is not
# rewritten by every batch; the timeline has the exact times.
SEEN_RESOLUTION = timedelta(minutes=15)
MATCH_TRAITS = frozenset(
    {
        "first_name",
        "firstName",
        "last_name",
        "lastName",
        "name",
        "email",
        "phone",
        "postal_code",
        "postalCode",
        "zip",
        "city",
        "address",
        "address_line",
        "address1",
        "street",
        "birthday",
    }
)


@dataclass
class StitchResult:
    profiles: set[str] = field(default_factory=set)
    created: list[str] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)
    conflicts: int = 0
    # Keys looked up in the database: the others came from what this process's previous
    # stitch left (``memory``).
    looked_up: int = 0
    # Device ids a user-id limit stopped in this batch: perhaps shared now (``shared``).
    shareable: set[Key] = field(default_factory=set)
    # Each stitched record's profile once the batch's merges are done, by the record's ref
    # (the message id): what ``events.resolved`` announces.
    resolved: dict[str, str] = field(default_factory=dict)


# Column orders of the rows a stitch writes by COPY.
PROFILE_COLUMNS = (
    "id", "workspace_id", "status", "merged_into_id", "traits", "trait_stamps",
    *ids.SEARCH_COLUMNS, "first_seen", "last_seen", "created_at", "updated_at",
)  # fmt: skip
IDENTIFIER_COLUMNS = (
    "id", "workspace_id", "type", "value", "raw", "profile_id", "origin_profile_id",
    "first_seen", "last_seen", "joined_via_id", "joined_ref",
)  # fmt: skip
SUMMARY_COLUMNS = ("traits", "trait_stamps", *ids.SEARCH_COLUMNS, "first_seen", "last_seen")
LINK_COLUMNS = (
    "id", "workspace_id", "identifier_id", "other_identifier_id", "cause_kind", "cause_ref",
    "occurred_at", "created_at",
)  # fmt: skip


class _IdentifierIds(dict[Key, str]):
    """Identifier ids by key: the batch's new ones as they are drawn, any other from the graph
    memory (read only when asked: a link names a few known identifiers, not all of them)."""

    def __init__(self, remembered: Mapping[Key, tuple[str, str]]) -> None:
        super().__init__()
        self.remembered = remembered

    def __missing__(self, key: Key) -> str:
        return self.remembered[key][0]


class _Rest(NamedTuple):
    merge_ids: list[str]
    merge_rows: list[dict[str, Any]]
    conflict_rows: list[dict[str, Any]]
    to_match: list[str]


class _Placement:
    """Ids and places for a batch's new identifiers and links, handed out as it is planned.

    The link that brought a new identifier in is kept on the identifier's own row, as
    ``joined[key] = (joined_via_id, joined_ref)`` (a profile's first identifier has no link,
    only the record that made it). Every other link (a merge) is an ``identity_link`` row, kept
    by pair in ``link_rows`` as a tuple in LINK_COLUMNS order plus whether it names a new
    identifier; a pair once (the first record that joined it). Identifier and link ids are
    drawn from one ascending stream in the plan's order, so a replay that takes links in id
    order (``links_among``) meets them as they were planned, wherever they are kept.
    """

    def __init__(
        self, workspace_id: str, plan: Plan, identifier_ids: dict[Key, str], now: datetime
    ) -> None:
        self.workspace_id = workspace_id
        self.plan = plan
        self.identifier_ids = identifier_ids
        self.now = now
        self.drawn = id_stream("idn")
        self.joined: dict[Key, tuple[str | None, str]] = {}
        self.link_rows: dict[tuple[str, str], tuple[Any, ...]] = {}
        self.links_placed = 0
        self.identifiers_placed = 0

    def place(self) -> list[Key]:
        """Place what was planned since the last call; returns the new identifiers placed."""
        plan, identifier_ids, drawn = self.plan, self.identifier_ids, self.drawn
        new_identifiers = plan.new_identifiers
        vias: dict[Key, tuple[Key | None, str]] = {}
        merges: list[tuple[str, Key, Key, str, datetime]] = []
        for key_a, key_b, ref, at, brings in plan.links[self.links_placed :]:
            if brings is None:
                merges.append(("lnk" + next(drawn)[3:], key_a, key_b, ref, at))
            else:
                identifier_ids[brings] = next(drawn)
                vias[brings] = (key_a if brings == key_b else key_b, ref[:200])
        self.links_placed = len(plan.links)
        placed = list(itertools.islice(new_identifiers, self.identifiers_placed, None))
        self.identifiers_placed = len(new_identifiers)
        for key in placed:
            if key not in vias:  # a profile's first identifier
                identifier_ids[key] = next(drawn)
                vias[key] = (None, new_identifiers[key][3][:200])
        for key, (via, ref) in vias.items():
            self.joined[key] = (None if via is None else identifier_ids[via], ref)
        for link_id, key_a, key_b, ref, at in merges:
            a, b = identifier_ids[key_a], identifier_ids[key_b]
            pair = (a, b) if a < b else (b, a)
            if pair not in self.link_rows:
                fresh = key_a in new_identifiers or key_b in new_identifiers
                self.link_rows[pair] = (
                    link_id,
                    self.workspace_id,
                    *pair,
                    "event",
                    ref[:200],
                    at,
                    self.now,
                    fresh,
                )
        return placed


class Stitch:
    """One stitch of a workspace's records, on the caller's session (never commits)."""

    # Records planned between two hand-overs of new identifiers to the writer thread: the
    # server inserts one lot while the next is planned. Tests make it small to prove the
    # result does not depend on it.
    plan_chunk = 10_000

    def __init__(
        self,
        session: Session,
        repository: IdentityRepository,
        rules_of: Callable[[str], Rules],
    ) -> None:
        self.session = session
        self.repository = repository
        self.rules_of = rules_of

    def stitch(self, workspace_id: str, records: Sequence[IdentityRecord]) -> StitchResult:
        """Link each record's identifiers: join, create or merge profiles, as the rules allow.

        Safe to run twice on the same records (the second run finds everything linked) and
        concurrently (the workspace lock serialises graph writes).
        """
        if not records:
            return StitchResult()
        with collector_paused():  # millions of short-lived containers: kit/memory.py
            return self._stitch(workspace_id, records)

    def _stitch(self, workspace_id: str, records: Sequence[IdentityRecord]) -> StitchResult:
        result = StitchResult()
        version = self.repository.lock_workspace(workspace_id)
        rules = self.rules_of(workspace_id)
        records = self._without_erased(workspace_id, records)
        shared = self.repository.shared_keys(workspace_id)
        if shared:  # a shared device joins nobody: only a record's other identifiers count
            records = without_shared(records, shared)
        if not records:
            return result
        # What this process's last stitch left, if nobody has written the graph since.
        memory = graph_memory.MEMORIES.take(self.session, workspace_id, version, rules)
        if memory is None:  # the clock's first value: no identifier was ever stored here
            memory = graph_memory.GraphMemory(version, rules, complete=version == 1)
        memory.version = version
        remembered = memory.owners
        keys = ids.all_keys(records)
        unknown = [] if memory.complete else [k for k in keys if k not in remembered]
        result.looked_up = len(unknown)
        found = self.repository.owners(workspace_id, unknown)
        remembered.update(found)
        resolve, merged = memory.resolve, memory.parent
        owners = {
            k: p if p not in merged else resolve(p)
            for k in keys
            if (held := remembered.get(k)) is not None
            for p in (held[1],)
        }
        if memory.complete:  # it made every profile here, and keeps each one's state
            states = memory.states
        else:
            needed = _profiles_needing_state(records, owners)
            states = {p: memory.states[p] for p in needed if p in memory.states}
            states.update(
                self.repository.profile_states(
                    needed - states.keys(),
                    types=[t for t, limit in rules.limits.items() if limit is not None],
                )
            )
        # At most one new profile per record: their ids made at once, in ascending order.
        profile_ids = iter(new_ids("cus", len(records)))
        planner = Planner(rules, owners, states, profile_ids.__next__, shared=True)
        plan = planner.plan
        now = utcnow()
        identifier_ids = _IdentifierIds(remembered)
        placement = _Placement(workspace_id, plan, identifier_ids, now)
        made: list[tuple[Key, tuple[str, str]]] = []  # the batch's new identifiers, as written

        def remember() -> None:
            """The graph as this transaction leaves it, for the next stitch here (run while
            the writes are on the server; kept only if the transaction commits)."""
            remembered.update(made)
            memory.parent.update(plan.parent)
            memory.states.update(planner.profiles)
            for absorbed in plan.parent:
                memory.states.pop(absorbed, None)

        # The bulk writes go to the server from another thread, each as soon as its rows are
        # laid out, while the next is planned or laid out here (PostgreSQL; ADR 0010).
        with self.repository.writing_aside() as aside:
            chunk = self.plan_chunk
            for start in range(0, len(records), chunk):
                for record in records[start : start + chunk]:
                    planner.add(record)
                # New identifiers go in the profile they started in; a later merge in the
                # batch moves them with the rest of the absorbed profile's (merge_profiles_into).
                joined, new_identifiers = placement.joined, plan.new_identifiers
                rows = []
                for key in placement.place():
                    ident, origin, seen, _ = new_identifiers[key]
                    made_id = identifier_ids[key]
                    made.append((key, (made_id, origin)))
                    rows.append(
                        (
                            made_id,
                            workspace_id,
                            ident.type,
                            ident.value,
                            ident.raw,
                            origin,
                            origin,
                            seen,
                            seen,
                            *joined[key],
                        )
                    )
                aside.copy_rows(Identifier, IDENTIFIER_COLUMNS, rows)
            aside.drain()  # the reads that lay out the rest use the connection
            rest = self._write_plan(
                workspace_id,
                rules.region,
                plan,
                placement,
                result,
                now,
                memory.times,
                remember,
                aside,
            )
        self._write_rest(workspace_id, plan, placement, result, rest)
        graph_memory.MEMORIES.keep(self.session, workspace_id, memory)
        return result

    def _write_plan(
        self,
        workspace_id: str,
        region: str,
        plan: Plan,
        placement: _Placement,
        result: StitchResult,
        now: datetime,
        times: dict[str, tuple[datetime | None, datetime | None]],
        remember: Callable[[], None],
        aside: AsideWrites,
    ) -> _Rest:
        """Write a batch's plan in a fixed number of statements, however large the batch
        (the new identifiers were handed to ``aside`` as they were planned).

        The merges are played in memory first, in the planned order (who held which
        identifiers at each merge, whose traits and times the survivor took), so new profiles
        are written once in their final state (COPY on PostgreSQL) and the existing rows
        change in one statement per kind of change. Returns what goes through the session
        once ``aside`` is done (``_write_rest``).
        """
        new_profiles = set(plan.new_profiles)
        new_identifiers = plan.new_identifiers
        identifier_ids, link_rows = placement.identifier_ids, placement.link_rows
        # Who holds which identifiers, and each profile's summary, as the merges play out.
        merging = {p for m in plan.merges for p in (m.survivor, m.absorbed)}
        members = self.repository.member_ids(merging - new_profiles)
        if members:  # what they held before this batch: its new identifiers are stored already
            made_here = {identifier_ids[k] for k in new_identifiers}
            members = {p: [i for i in held if i not in made_here] for p, held in members.items()}
        # New identifiers join their profile's side of a merge only if made before it.
        in_plan_order = iter(new_identifiers.items())
        taken = 0
        record_groups: dict[str, list[IdentityRecord]] = {}
        for record, profile_id in plan.record_profiles:
            record_groups.setdefault(plan.resolve(profile_id), []).append(record)
        result.resolved = {r.ref: p for p, records in record_groups.items() for r in records}
        existing = (merging | set(record_groups)) - new_profiles
        # Profiles only seen again (no traits arrive, no merge) need their times alone.
        with_traits = merging | {
            p for p, records in record_groups.items() if any(r.traits for r in records)
        }
        summaries: dict[str, Summary] = {
            row.id: Summary.of(row)
            for row in self.repository.profile_summaries(existing & with_traits).values()
        }
        # ``times``: each profile's first and last seen as the graph memory knows them.
        only_times = existing - with_traits
        known = {p: times[p] for p in only_times if p in times}
        known.update(self.repository.profile_times(only_times - known.keys()))
        for p, (first_seen, last_seen) in known.items():
            summaries[p] = Summary({}, {}, first_seen, last_seen, times_only=True)
        resolve = plan.resolve
        before = {p: summary.copy() for p, summary in summaries.items()}
        for p in new_profiles:
            summaries[p] = Summary({}, {}, None, None, is_new=True)
        merge_ids = new_ids("mrg", len(plan.merges))
        merge_rows: list[dict[str, Any]] = []
        for merge, merge_id in zip(plan.merges, merge_ids, strict=True):
            for key, (_, origin, _, _) in itertools.islice(in_plan_order, merge.after - taken):
                if origin in merging:
                    members.setdefault(origin, []).append(identifier_ids[key])
            taken = max(taken, merge.after)
            survivor_ids = sorted(members.get(merge.survivor, []))
            absorbed_ids = sorted(members.pop(merge.absorbed, []))
            members[merge.survivor] = survivor_ids + absorbed_ids
            summaries[merge.survivor].absorb(summaries[merge.absorbed])
            a, b = identifier_ids[merge.link[0]], identifier_ids[merge.link[1]]
            link_id = link_rows.get((a, b) if a < b else (b, a), (None,))[0]
            merge_rows.append(
                {
                    "id": merge_id,
                    "workspace_id": workspace_id,
                    "survivor_profile_id": merge.survivor,
                    "absorbed_profile_id": merge.absorbed,
                    "cause_kind": "event",
                    "cause_ref": merge.ref[:200],
                    "evidence": merge.evidence,
                    "link_ids": [link_id] if link_id else [],
                    "survivor_identifier_ids": survivor_ids,
                    "absorbed_identifier_ids": absorbed_ids,
                    "actor": None,
                    "created_at": now,
                    "undone_at": None,
                    "undone_by": None,
                }
            )
        to_match = self._fold_records(record_groups, summaries, result)
        absorbed = {m.absorbed: resolve(m.absorbed) for m in plan.merges}
        active, merged = ProfileStatus.ACTIVE.value, ProfileStatus.MERGED.value
        aside.copy_rows(
            Profile,
            PROFILE_COLUMNS,
            [
                (
                    p,
                    workspace_id,
                    merged if p in absorbed else active,
                    absorbed.get(p),
                    summary.traits,
                    summary.stamps,
                    *map(ids.search_keys(summary.traits, region).get, ids.SEARCH_COLUMNS),
                    summary.first_seen,
                    summary.last_seen,
                    now,
                    now,
                )
                for p in plan.new_profiles
                for summary in (summaries[p],)
            ],
        )
        # Rows naming a new identifier cannot exist yet; the others may (a replay).
        aside.copy_rows(IdentityLink, LINK_COLUMNS, [r[:-1] for r in link_rows.values() if r[-1]])
        # Every absorbed profile: new identifiers were written in the profile they started in.
        aside.merge_profiles_into(absorbed, now)
        changed = [p for p in sorted(before) if summaries[p] != before[p]]
        aside.update_profiles(
            SUMMARY_COLUMNS,
            [
                {
                    "profile_id": p,
                    "traits": summaries[p].traits,
                    "trait_stamps": summaries[p].stamps,
                    **ids.search_keys(summaries[p].traits, region),
                    "first_seen": summaries[p].first_seen,
                    "last_seen": summaries[p].last_seen,
                }
                for p in changed
                if not summaries[p].times_only
            ],
            now,
        )
        aside.update_profiles(
            ("first_seen", "last_seen"),
            [
                {
                    "profile_id": p,
                    "first_seen": summaries[p].first_seen,
                    "last_seen": summaries[p].last_seen,
                }
                for p in changed
                if summaries[p].times_only
            ],
            now,
        )
        # What the graph memory keeps of this batch, while the writes finish.
        for p, summary in summaries.items():
            times[p] = (summary.first_seen, summary.last_seen)
        for p in absorbed:
            times.pop(p, None)
        remember()
        conflict_rows = [
            {
                "id": conflict_id,
                "workspace_id": workspace_id,
                "rule": c.rule,
                "profile_ids": [resolve(p) for p in c.profile_ids],
                "identifier_type": c.ident.type,
                "identifier_value": c.ident.value,
                "cause_ref": c.ref[:200],
                "evidence": c.evidence,
                "status": "open",
                "created_at": now,
            }
            for c, conflict_id in zip(
                plan.conflicts, new_ids("cfl", len(plan.conflicts)), strict=True
            )
        ]
        return _Rest(merge_ids, merge_rows, conflict_rows, to_match)

    def _write_rest(
        self,
        workspace_id: str,
        plan: Plan,
        placement: _Placement,
        result: StitchResult,
        rest: _Rest,
    ) -> None:
        """The rest of a batch, through the session once the bulk writes are done: few rows,
        and some may exist already."""
        merge_ids, merge_rows, conflict_rows, to_match = rest
        self.repository.refresh_statistics(len(plan.new_identifiers))
        link_rows = placement.link_rows
        self.repository.insert_links(
            [dict(zip(LINK_COLUMNS, r[:-1], strict=True)) for r in link_rows.values() if not r[-1]]
        )
        self.repository.insert_merges(merge_rows)
        JobService(self.session).enqueue_many(
            "customer.merged",
            [
                {
                    "merge_id": row["id"],
                    "workspace_id": workspace_id,
                    "survivor_profile_id": row["survivor_profile_id"],
                    "absorbed_profile_id": row["absorbed_profile_id"],
                    "cause_kind": "event",
                }
                for row in merge_rows
            ],
            workspace_id=workspace_id,
        )
        result.merges.extend(merge_ids)
        self.repository.insert_conflicts(conflict_rows)
        result.conflicts = len(plan.conflicts)
        result.shareable = {
            c.ident.key
            for c in plan.conflicts
            if c.rule == f"limit:{ids.USER_ID}" and c.ident.type in ids.SHAREABLE_TYPES
        }
        result.created = list(plan.new_profiles)
        if to_match:
            JobService(self.session).enqueue(
                "identity.match", {"profile_ids": sorted(to_match)}, workspace_id=workspace_id
            )

    def _without_erased(
        self, workspace_id: str, records: Sequence[IdentityRecord]
    ) -> Sequence[IdentityRecord]:
        """Drop records of people erased since their events were accepted, and those events.

        Ingest refuses an erased person's messages, but a batch can pass that check just before
        an erasure commits; under the workspace lock this second check closes the gap.
        """
        if not self.repository.has_suppressions(workspace_id):
            return records
        salt = self.repository.config(workspace_id).salt
        digests = {r.ref: {ids.suppression_digest(salt, i) for i in r.idents} for r in records}
        erased = self.repository.suppressed(
            workspace_id, {d for found in digests.values() for d in found}
        )
        if not erased:
            return records
        dropped = [r.ref for r in records if digests[r.ref] & erased]
        self.repository.delete_events(workspace_id, dropped)
        return [r for r in records if not digests[r.ref] & erased]

    def _fold_records(
        self,
        record_groups: Mapping[str, Sequence[IdentityRecord]],
        summaries: Mapping[str, Summary],
        result: StitchResult,
    ) -> list[str]:
        """Fold each record's traits and times into its profile's summary (in memory);
        returns the profiles to match again (new ones, and those whose matching traits moved).
        """
        to_match: list[str] = []
        for profile_id, records in record_groups.items():
            summary = summaries.get(profile_id)
            if summary is None:
                continue
            changed_match = False
            for record in records:
                if record.traits and fold_traits(
                    summary.traits, summary.stamps, record.traits, stamp(record.occurred_at)
                ):
                    changed_match = changed_match or bool(MATCH_TRAITS.intersection(record.traits))
            first = min(r.occurred_at for r in records)
            last = max(r.occurred_at for r in records)
            if summary.first_seen is None or first < summary.first_seen:
                summary.first_seen = first
            if summary.last_seen is None or last - summary.last_seen >= SEEN_RESOLUTION:
                summary.last_seen = last
            result.profiles.add(profile_id)
            if changed_match or summary.is_new:
                to_match.append(profile_id)
        return to_match


def _profiles_needing_state(
    records: Sequence[IdentityRecord], owners: Mapping[tuple[str, str], str]
) -> set[str]:
    """Existing profiles a record may join or merge (its identifiers are new or span profiles).

    A record whose identifiers all sit in one profile changes nothing, so that profile's
    counts and split tags need not be read.
    """
    needed: set[str] = set()
    get = owners.get
    for record in records:
        profiles = [get(i.key) for i in record.idents]
        first = profiles[0]
        if first is not None and profiles.count(first) == len(profiles):
            continue  # the common case, all in one profile: no set per record
        needed.update(p for p in profiles if p is not None)
    return needed
