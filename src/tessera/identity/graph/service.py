"""Identity graph use cases: stitch records as they arrive, merge, unmerge, resolve, read.

Every write to a workspace's graph takes that workspace's identity lock first (an advisory
lock on PostgreSQL, the single writer on SQLite), then reads the current state, plans with
``planner`` and writes. Stitching runs in the ``identity.stitch`` job that ingest enqueues in
its own transaction, so collection never waits on the graph and a deadlock-free retry is the
job system's (ADR 0010); its writing is ``stitch.Stitch``'s.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.errors import (
    MergeAlreadyUndone,
    MergeNotFound,
    MergeRefused,
    ProfileNotFound,
)
from tessera.identity.graph import identifiers as ids
from tessera.identity.graph.aliases import alias_records, join_aliases
from tessera.identity.graph.identifiers import IdentityRecord, Rules
from tessera.identity.graph.planner import Merge, ProfileState, breaks_limit, clash, replay
from tessera.identity.graph.repository import IdentityRepository
from tessera.identity.graph.shared import mark_shared
from tessera.identity.graph.stitch import Stitch, StitchResult
from tessera.identity.graph.summary import Summary, fold_traits, stamp
from tessera.job.service import JobService
from tessera.kit.errors import InvalidInput
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow
from tessera.models.collect import Event
from tessera.models.identity import (
    Identifier,
    IdentityMerge,
    IdentitySplit,
    Profile,
    ProfileStatus,
)
from tessera.models.workspace import Workspace


@dataclass(frozen=True)
class UnmergeResult:
    merge_id: str
    split_id: str
    profile_ids: tuple[str, ...]


# Other modules learn about merges through these job kinds, and which profile each stitched
# event belongs to through ``events.resolved`` (called in the stitch's own transaction: a
# subscriber only queues work of its own); they subscribe here.
Subscriber = Callable[[Session, dict[str, Any]], None]
SUBSCRIBERS: dict[str, list[Subscriber]] = {
    "customer.merged": [],
    "customer.unmerged": [],
    "events.resolved": [],
}


def subscribe(kind: str, subscriber: Subscriber) -> Subscriber:
    """Call ``subscriber(session, payload)`` in the job that announces ``kind``."""
    SUBSCRIBERS[kind].append(subscriber)
    return subscriber


class IdentityService:
    """The identity graph's use cases, on the caller's session. Never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = IdentityRepository(session)

    # -- rules -----------------------------------------------------------------------------
    def rules(self, workspace_id: str) -> Rules:
        """The workspace's identity rules: defaults plus its own blocked values, limits and
        relay domains."""
        config = self.repository.config(workspace_id)
        workspace = self.session.get(Workspace, workspace_id)
        region = workspace.default_region if workspace else "US"
        blocked = frozenset(ids.DEFAULT_BLOCKED) | {
            str(v).strip().lower() for v in config.blocked_values
        }
        limits = {**ids.DEFAULT_LIMITS, **{k: int(v) for k, v in config.limits.items()}}
        priorities = tuple(config.priorities) or ids.DEFAULT_PRIORITIES
        return Rules(
            blocked=blocked,
            limits=limits,
            priorities=priorities,
            region=region,
            shared_after=config.shared_after or ids.DEFAULT_SHARED_AFTER,
            relay_domains=frozenset(ids.RELAY_DOMAINS) | set(config.relay_domains or ()),
        )

    def set_rules(
        self,
        workspace_id: str,
        *,
        blocked_values: Sequence[str] | None = None,
        limits: Mapping[str, int] | None = None,
        shared_after: int | None = None,
        relay_domains: Sequence[str] | None = None,
    ) -> Rules:
        """Change the blocked values, per-type limits, the shared-device threshold or the
        workspace's own relay domains; refuses a limit below 1, a threshold below 2 (one user
        id on a device is its owner) and a relay domain that is no domain name (a top-level
        domain alone would make every address there a relay).

        Changing rules after launch does not rewrite existing profiles (Segment documents the
        same): new records follow the new rules.
        """
        config = self.repository.config(workspace_id)
        if blocked_values is not None:
            config.blocked_values = sorted({v.strip() for v in blocked_values if v.strip()})
        if limits is not None:
            bad = {k: v for k, v in limits.items() if int(v) < 1}
            if bad:
                raise InvalidInput(f"limits must be at least 1, got {bad}", field="limits")
            config.limits = {k: int(v) for k, v in limits.items()}
        if shared_after is not None:
            if shared_after < 2:
                raise InvalidInput(
                    f"shared_after must be at least 2, got {shared_after}", field="shared_after"
                )
            config.shared_after = shared_after
        if relay_domains is not None:
            config.relay_domains = _relay_domains(relay_domains)
        config.updated_at = utcnow()
        return self.rules(workspace_id)

    def blocked_values(self, workspace_id: str) -> list[str]:
        """The values the workspace itself blocked (the defaults are in ``rules``)."""
        return list(self.repository.config(workspace_id).blocked_values)

    def relay_domains(self, workspace_id: str) -> list[str]:
        """The relay domains the workspace itself added (the defaults are in ``rules``)."""
        return list(self.repository.config(workspace_id).relay_domains or ())

    def erasure_salt(self, workspace_id: str) -> str:
        """The workspace's secret salt, which keys the digests an erased person is kept by."""
        return self.repository.config(workspace_id).salt

    def lock(self, workspace_id: str) -> None:
        """Hold the workspace's graph still until the transaction ends: stitching and merges
        wait, so nothing is linked while a caller (an erasure) takes a person out of it."""
        self.repository.lock_workspace(workspace_id)

    # -- stitching -------------------------------------------------------------------------
    def stitch(self, workspace_id: str, records: Sequence[IdentityRecord]) -> StitchResult:
        """Link each record's identifiers: join, create or merge profiles, as the rules allow.

        A device id that has now signed in as too many people is detached and marked shared
        (``shared``). An alias record then merges its previousId's profile into its userId's
        (``aliases``), or opens a conflict when a guard-rail forbids it. Safe to run twice on
        the same records (the second run finds everything linked) and concurrently (the
        workspace lock serialises graph writes).
        """
        result = Stitch(self.session, self.repository, self.rules).stitch(workspace_id, records)
        if result.shareable:
            mark_shared(self, workspace_id, result.shareable)
        aliases = alias_records(records)
        if aliases:
            result.merges.extend(join_aliases(self, workspace_id, aliases))
        return result

    def _apply_merge(
        self, workspace_id: str, merge: Merge, link_id: str | None, now: datetime, **extra: Any
    ) -> str:
        survivor_ids = self.repository.identifier_ids_of(merge.survivor)
        absorbed_ids = self.repository.identifier_ids_of(merge.absorbed)
        self.repository.move_identifiers(merge.absorbed, merge.survivor)
        self.repository.mark_merged(merge.absorbed, merge.survivor, now)
        rows = self.repository.profiles([merge.survivor, merge.absorbed])
        survivor, absorbed = rows[merge.survivor], rows[merge.absorbed]
        summary = Summary.of(survivor)
        summary.absorb(Summary.of(absorbed))
        survivor.traits, survivor.trait_stamps = summary.traits, summary.stamps
        _set_search_keys(survivor, self.rules(workspace_id).region)
        survivor.first_seen, survivor.last_seen = summary.first_seen, summary.last_seen
        survivor.updated_at = now
        row = IdentityMerge(
            id=new_id("mrg"),
            workspace_id=workspace_id,
            survivor_profile_id=merge.survivor,
            absorbed_profile_id=merge.absorbed,
            cause_kind=extra.get("cause_kind", "event"),
            cause_ref=merge.ref[:200],
            evidence=merge.evidence,
            link_ids=[link_id] if link_id else [],
            survivor_identifier_ids=survivor_ids,
            absorbed_identifier_ids=absorbed_ids,
            actor=extra.get("actor"),
            created_at=now,
        )
        self.repository.add(row)
        JobService(self.session).enqueue(
            "customer.merged",
            {
                "merge_id": row.id,
                "workspace_id": workspace_id,
                "survivor_profile_id": merge.survivor,
                "absorbed_profile_id": merge.absorbed,
                "cause_kind": row.cause_kind,
            },
            workspace_id=workspace_id,
        )
        return row.id

    # -- manual and probabilistic merges ---------------------------------------------------
    def merge_profiles(
        self,
        workspace_id: str,
        survivor_id: str,
        absorbed_id: str,
        *,
        cause_kind: str,
        cause_ref: str,
        evidence: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> IdentityMerge:
        """Merge two profiles on a person's word or a match score; guard-rails still apply.

        Refuses unknown profiles (404), a profile with itself, and a merge that would break a
        per-type limit or a split rule a person made (409, naming the rule). The older profile
        id survives, whichever is named first, so ids stay stable.
        """
        self.repository.lock_workspace(workspace_id)
        first = self.resolve(workspace_id, survivor_id)
        second = self.resolve(workspace_id, absorbed_id)
        if first.id == second.id:
            raise MergeRefused("these are already one profile")
        survivor, absorbed = sorted((first.id, second.id))
        states = self.repository.profile_states([survivor, absorbed])
        first_state = states.get(survivor, ProfileState())
        second_state = states.get(absorbed, ProfileState())
        merged = Counter(first_state.counts) + Counter(second_state.counts)
        broken = breaks_limit(merged, self.rules(workspace_id))
        if broken:
            raise MergeRefused(f"the merged profile would hold more than the limit of {broken}")
        if clash(first_state.tags, second_state.tags):
            raise MergeRefused("a person split these profiles; undo that split rule first")
        a = self.repository.identifier_ids_of(survivor)
        b = self.repository.identifier_ids_of(absorbed)
        now = utcnow()
        link_id = None
        if a and b:
            link_id = new_id("lnk")
            self.repository.insert_links(
                [
                    {
                        "id": link_id,
                        "workspace_id": workspace_id,
                        "identifier_id": min(a[0], b[0]),
                        "other_identifier_id": max(a[0], b[0]),
                        "cause_kind": cause_kind,
                        "cause_ref": cause_ref[:200],
                        "occurred_at": now,
                        "created_at": now,
                    }
                ]
            )
        merge = Merge(
            survivor=survivor,
            absorbed=absorbed,
            ref=cause_ref,
            occurred_at=now,
            evidence=dict(evidence or {}),
            link=(("", ""), ("", "")),
        )
        merge_id = self._apply_merge(
            workspace_id, merge, link_id, now, cause_kind=cause_kind, actor=actor
        )
        row = self.repository.merge(workspace_id, merge_id)
        assert row is not None
        return row

    # -- unmerge ---------------------------------------------------------------------------
    def unmerge(
        self, workspace_id: str, merge_id: str, *, actor: str | None = None, reason: str = ""
    ) -> UnmergeResult:
        """Undo a merge: both profiles come back as if it had never happened.

        The two sides as they were at the merge become a split rule, so no later record, replay
        or match joins them again silently (it is recorded as a conflict instead). The current
        profile's identifiers are regrouped by replaying their links under the rules; each
        group takes back the id of the profile it came from. Traits are rebuilt from the
        events. Refuses an unknown merge (404) and one already undone (409).
        """
        self.repository.lock_workspace(workspace_id)
        merge = self.repository.merge(workspace_id, merge_id)
        if merge is None:
            raise MergeNotFound(f"no merge {merge_id} in this workspace")
        if merge.undone_at is not None:
            raise MergeAlreadyUndone(f"merge {merge_id} was undone at {merge.undone_at}")
        now = utcnow()
        current = self.resolve(workspace_id, merge.survivor_profile_id)
        members = self.repository.identifier_ids_of(current.id)
        member_set = set(members)
        split = IdentitySplit(
            id=new_id("spl"),
            workspace_id=workspace_id,
            merge_id=merge.id,
            reason=reason[:500],
            actor=actor,
            created_at=now,
        )
        sides = [
            [i for i in merge.absorbed_identifier_ids if i in member_set],
            [i for i in merge.survivor_identifier_ids if i in member_set],
        ]
        self.repository.new_split(
            split,
            [
                {"split_id": split.id, "identifier_id": i, "side": side}
                for side, group in enumerate(sides)
                for i in group
            ],
        )
        merge.undone_at = now
        merge.undone_by = actor
        groups = self._regroup(workspace_id, current.id, members)
        profile_ids = tuple(sorted(groups))
        self.session.flush()
        for profile_id in profile_ids:
            self.rebuild_traits(workspace_id, profile_id)
        JobService(self.session).enqueue(
            "customer.unmerged",
            {
                "merge_id": merge.id,
                "split_id": split.id,
                "profile_ids": list(profile_ids),
                "workspace_id": workspace_id,
            },
            workspace_id=workspace_id,
        )
        return UnmergeResult(merge.id, split.id, profile_ids)

    def _regroup(
        self, workspace_id: str, current_id: str, members: Sequence[str]
    ) -> dict[str, list[str]]:
        """Replay the links among ``members`` and give each group its profile id back."""
        rules = self.rules(workspace_id)
        types = self.repository.identifier_types(members)
        edges = self.repository.links_among(members)
        tags = self.repository.split_tags(members)
        components, _refused = replay(types, edges, tags, rules)
        # Profiles that merged into the current one, and the merges still standing between them.
        absorbed = self.repository.merged_into(workspace_id, [current_id])
        involved = {current_id} | {p.id for p in absorbed}
        standing = [
            m
            for m in self.repository.merges_touching(workspace_id, involved)
            if m.undone_at is None
        ]
        parent = {p: p for p in involved}

        def root(p: str) -> str:
            while parent.get(p, p) != p:
                p = parent[p]
            return p

        for m in sorted(standing, key=lambda m: m.id):
            if m.survivor_profile_id in parent and m.absorbed_profile_id in parent:
                parent[root(m.absorbed_profile_id)] = root(m.survivor_profile_id)
        origins = self.repository.origins(members)
        assigned: dict[str, list[str]] = {}
        for component in components:
            roots = sorted({root(origins[i]) for i in component if origins[i] in parent})
            choice = next((r for r in roots if r not in assigned), None)
            if choice is None:
                choice = new_id("cus")
                now = utcnow()
                self.repository.insert_profiles(
                    [
                        {
                            "id": choice,
                            "workspace_id": workspace_id,
                            "status": ProfileStatus.ACTIVE,
                            "traits": {},
                            "trait_stamps": {},
                            "created_at": now,
                            "updated_at": now,
                        }
                    ]
                )
            assigned[choice] = sorted(component)
        now = utcnow()
        rows = self.repository.profiles(set(involved) | set(assigned))
        for profile_id, grouped in assigned.items():
            self.repository.assign_identifiers(grouped, profile_id)
            row = rows.get(profile_id)
            if row is not None:
                row.status = ProfileStatus.ACTIVE
                row.merged_into_id = None
                row.updated_at = now
        for profile_id in involved - set(assigned):
            row = rows[profile_id]
            target = root(profile_id)
            if target == profile_id or target not in assigned:
                target = next(iter(sorted(assigned)))
            row.status = ProfileStatus.MERGED
            row.merged_into_id = target
            row.updated_at = now
        return assigned

    def rebuild_traits(self, workspace_id: str, profile_id: str) -> None:
        """Recompute a profile's traits and first/last seen from its events, oldest first."""
        row = self.repository.profile(workspace_id, profile_id)
        if row is None:
            return
        rules = self.rules(workspace_id)
        traits: dict[str, Any] = {}
        stamps: dict[str, Any] = {}
        first = last = None
        for event in self.events_of(workspace_id, profile_id):
            record = ids.record_from_message(event.payload, event.timestamp, event.channel, rules)
            if record is not None:
                fold_traits(traits, stamps, record.traits, stamp(event.timestamp))
            first = event.timestamp if first is None or event.timestamp < first else first
            last = event.timestamp if last is None or event.timestamp > last else last
        row.traits, row.trait_stamps = traits, stamps
        _set_search_keys(row, rules.region)
        row.first_seen, row.last_seen = first, last
        row.updated_at = utcnow()

    def set_traits(
        self, workspace_id: str, profile_id: str, traits: Mapping[str, Any], at: datetime
    ) -> Profile:
        """State ``traits`` of the person (followed through merges) as of ``at``, as an
        identify would: each wins unless the person stated it later; None removes it.
        Returns the live profile. Graph writers are serialised (``lock``), so a stitch folding
        events in at the same moment cannot lose it. Refuses (404) an unknown profile.

        A rebuild from the person's events (an undone merge) does not see traits set here:
        they are the journey's statements, not the person's events."""
        self.lock(workspace_id)
        row = self.resolve(workspace_id, profile_id)
        values, stamps = dict(row.traits or {}), dict(row.trait_stamps or {})
        when = stamp(at)
        fold_traits(values, stamps, traits, when)
        for key in [k for k, v in traits.items() if v is None]:
            if key not in stamps or str(stamps[key]) <= when:
                values.pop(key, None)
                stamps[key] = when
        row.traits, row.trait_stamps = values, stamps
        _set_search_keys(row, self.rules(workspace_id).region)
        row.updated_at = utcnow()
        self.session.flush()
        return row

    # -- reads -----------------------------------------------------------------------------
    def resolve(self, workspace_id: str, profile_id: str) -> Profile:
        """The live profile for an id, following merges; 404 for an unknown id."""
        seen: set[str] = set()
        row = self.repository.profile(workspace_id, profile_id)
        while row is not None and row.merged_into_id and row.id not in seen:
            seen.add(row.id)
            row = self.repository.profile(workspace_id, row.merged_into_id)
        if row is None:
            raise ProfileNotFound(f"no profile {profile_id} in this workspace")
        return row

    def resolve_many(self, workspace_id: str, profile_ids: Iterable[str]) -> dict[str, str]:
        """Each id's live profile id, following merges (``resolve`` for many): the profiles
        are read in one query, and only merged ones take more; unknown ids are left out."""
        ids = sorted(set(profile_ids))
        loaded = self.repository.profiles(ids)
        owners: dict[str, str] = {}
        for profile_id in ids:
            row = loaded.get(profile_id)
            if row is not None and row.workspace_id == workspace_id and not row.merged_into_id:
                owners[profile_id] = row.id
                continue
            try:
                owners[profile_id] = self.resolve(workspace_id, profile_id).id
            except ProfileNotFound:
                continue
        return owners

    def identifiers_of(self, workspace_id: str, profile_id: str) -> list[Identifier]:
        return self.repository.identifiers_of(self.resolve(workspace_id, profile_id).id)

    def find_profile(self, workspace_id: str, type_: str, raw_value: str) -> Profile | None:
        """The profile holding an identifier, given as a person would type it."""
        for ident in ids.normalise(type_, raw_value, self.rules(workspace_id))[:1]:
            row = self.repository.identifier(workspace_id, ident.type, ident.value)
            if row is not None and not row.is_shared:
                return self.resolve(workspace_id, row.profile_id)
        return None

    def profiles_with_traits(
        self, workspace_id: str, keys: Sequence[str], limit: int = 100
    ) -> list[Profile]:
        """Active profiles stating any of the trait ``keys`` (creators among the customers
        are those stating an ``instagram`` or ``tiktok`` handle), oldest first."""
        return self.repository.profiles_with_traits(workspace_id, keys, limit)

    def events_of(self, workspace_id: str, profile_id: str, limit: int = 5000) -> list[Event]:
        """The profile's events, oldest first: those of its user ids and of its anonymous ids.

        An event with a user id belongs to the profile holding that user id; only when no
        profile holds it (a limit refused it) does it stay with its anonymous id's profile.
        Reads Collect's event table directly (the one place identity does): an event belongs
        to whoever holds its identifiers, so no event row is ever rewritten by a merge.
        """
        idents = self.repository.identifiers_of(profile_id)
        users = {i.value for i in idents if i.type == ids.USER_ID}
        anons = {i.value for i in idents if i.type == ids.ANONYMOUS_ID}
        if not users and not anons:
            return []
        rows = self.repository.events_of(workspace_id, users, anons, limit)
        foreign = {e.user_id for e in rows if e.user_id and e.user_id not in users}
        held = self.repository.held_values(workspace_id, ids.USER_ID, foreign) if foreign else set()
        return [e for e in rows if not e.user_id or e.user_id in users or e.user_id not in held]

    def merge_log(
        self, workspace_id: str, *, profile_id: str | None = None, limit: int = 50
    ) -> list[IdentityMerge]:
        """The workspace's merges, newest first; only those touching ``profile_id`` if given."""
        return self.repository.merge_log(workspace_id, profile_id, limit)


_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
MAX_RELAY_DOMAINS = 200


def _relay_domains(values: Sequence[str]) -> list[str]:
    """A workspace's relay domains, trimmed, lower-cased and without a leading ``@``, sorted;
    refuses (naming the field) more than 200 and anything that is not a domain with a dot."""
    if len(values) > MAX_RELAY_DOMAINS:
        raise InvalidInput(
            f"relay_domains holds at most {MAX_RELAY_DOMAINS} domains", field="relay_domains"
        )
    domains: set[str] = set()
    for index, value in enumerate(values):
        domain = str(value).strip().lower().lstrip("@").rstrip(".")
        if not _DOMAIN.match(domain):
            raise InvalidInput(
                f"relay_domains[{index}] {str(value)[:80]!r} is not a domain such as "
                "relay.example.com",
                field=f"relay_domains[{index}]",
            )
        domains.add(domain)
    return sorted(domains)


def _set_search_keys(row: Profile, region: str) -> None:
    """Keep the clerk's search keys true to the traits just set on ``row``."""
    for column, key in ids.search_keys(row.traits, region).items():
        setattr(row, column, key)
