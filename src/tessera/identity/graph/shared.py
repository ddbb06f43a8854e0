"""Shared devices: an anonymous or device id several people sign in on belongs to none of them.

A store kiosk or a family iPad stays attached to the first person who signed in on it, and the
per-type limit of one user id only opens a conflict for each later sign-in. Once a device id
has signed in as ``Rules.shared_after`` distinct user ids (its profile's and those its
``limit:user_id`` conflicts kept apart), it is marked shared and detached from that profile:
its events with no user id then belong to nobody's timeline, and every later record is stitched
without it (a sign-in on the kiosk joins the user id's person, a visit alone joins nobody). A
``shared`` conflict, resolved, records when and why, for the dashboard's conflicts page.

Detection runs after a stitch, only for the device ids a user-id limit stopped in that batch;
the stitch itself only leaves shared identifiers out of its records (``without_shared``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from tessera.identity.graph.identifiers import IdentityRecord
from tessera.identity.graph.planner import Key
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow

if TYPE_CHECKING:
    from tessera.identity.graph.service import IdentityService

SHARED_RULE = "shared"


def without_shared(records: Sequence[IdentityRecord], shared: set[Key]) -> Sequence[IdentityRecord]:
    """The records with their shared identifiers left out; a record left with none is dropped
    (a kiosk visit nobody signed in to joins nobody)."""
    kept: list[IdentityRecord] = []
    for record in records:
        idents = tuple(i for i in record.idents if i.key not in shared)
        if len(idents) == len(record.idents):
            kept.append(record)
        elif idents:
            kept.append(replace(record, idents=idents))
    return kept


def is_shared_now(user_ids: Iterable[str], shared_after: int) -> bool:
    """True when a device signed in as at least ``shared_after`` distinct user ids."""
    return len(set(user_ids)) >= shared_after


def mark_shared(
    service: IdentityService, workspace_id: str, candidates: Iterable[Key]
) -> list[str]:
    """Detach and mark shared each candidate device id that signed in as too many people;
    returns the identifier ids marked.

    Refuses nothing: a device under the threshold keeps its person (its conflicts stay open for
    review). Moves the graph clock, so no process reuses a memory that still holds it.
    """
    repository = service.repository
    rules = service.rules(workspace_id)
    marked: list[str] = []
    for type_, value in sorted(candidates):
        held = repository.identifier(workspace_id, type_, value)
        if held is None or held.is_shared:
            continue
        users = repository.user_ids_with(workspace_id, type_, value)
        if not is_shared_now(users, rules.shared_after):
            continue
        detached_from = held.profile_id
        repository.detach_shared(held.id)
        repository.insert_conflicts(
            [
                {
                    "id": new_id("cfl"),
                    "workspace_id": workspace_id,
                    "rule": SHARED_RULE,
                    "profile_ids": [detached_from],
                    "identifier_type": type_,
                    "identifier_value": value,
                    "cause_ref": held.joined_ref or "",
                    "evidence": {
                        "user_ids": sorted(users),
                        "shared_after": rules.shared_after,
                        "detached_from": detached_from,
                    },
                    "status": "resolved",
                    "created_at": utcnow(),
                }
            ]
        )
        marked.append(held.id)
    if marked:
        repository.lock_workspace(workspace_id)
    return marked
