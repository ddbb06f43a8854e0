"""Alias calls: ``alias(previousId, userId)`` joins the history under previousId to userId's person.

Segment's and RudderStack's alias says two ids are one person. After a batch is stitched, each
alias record's previousId is looked up as a user id, then as an anonymous id; the profile
holding it merges with the profile of the record's userId through the graph's own
``merge_profiles`` (cause ``alias``: audited in ``identity_merge``, undone by ``unmerge``). A
merge a guard-rail forbids (a per-type limit, a split rule a person made) is not made: an
``identity_conflict`` with rule ``alias`` keeps it for review, as stitching keeps its own. A
previousId the graph has never seen becomes an anonymous id of the userId's person, so its
later events join them (by a merge too, so that alias is undone like the rest). Only alias
records reach this module: the bulk stitch is untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tessera.identity.errors import MergeRefused
from tessera.identity.graph.identifiers import ANONYMOUS_ID, USER_ID, Ident, IdentityRecord
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow

if TYPE_CHECKING:
    from tessera.identity.graph.service import IdentityService

ALIAS_RULE = "alias"


def alias_records(records: Sequence[IdentityRecord]) -> list[IdentityRecord]:
    """The records of a batch that are alias calls with a previousId."""
    return [r for r in records if r.previous_id is not None]


def join_aliases(
    service: IdentityService, workspace_id: str, records: Sequence[IdentityRecord]
) -> list[str]:
    """Merge each alias's previousId's profile into its userId's; returns the merge ids made.

    Runs after the batch's stitch, in its transaction. Refuses nothing loudly: a merge a
    guard-rail forbids becomes an open conflict (rule ``alias``), never an error, because a
    stitch job must not fail on what a client sent.
    """
    repository = service.repository
    merges: list[str] = []
    for record in records:
        previous = record.previous_id
        user = next((i for i in record.idents if i.type == USER_ID), None)
        if previous is None or user is None or user.value == previous:
            continue
        held_user = repository.identifier(workspace_id, USER_ID, user.value)
        if held_user is None or held_user.is_shared:
            continue  # the stitch refused the user id: its conflict says why
        held_previous = repository.identifier(
            workspace_id, USER_ID, previous
        ) or repository.identifier(workspace_id, ANONYMOUS_ID, previous)
        if held_previous is None:
            # Never seen: it becomes an anonymous id of its own, then merges like any other,
            # so this alias too is audited and undone by ``unmerge``.
            alone = Ident(ANONYMOUS_ID, previous, previous)
            service.stitch(
                workspace_id,
                [IdentityRecord(record.ref, record.occurred_at, (alone,), channel=record.channel)],
            )
            held_previous = repository.identifier(workspace_id, ANONYMOUS_ID, previous)
            if held_previous is None:  # erased or blocked meanwhile: nothing to join
                continue
        if held_previous.is_shared:
            continue  # a shared device is nobody's history (``shared``)
        target = service.resolve(workspace_id, held_user.profile_id)
        source = service.resolve(workspace_id, held_previous.profile_id)
        if target.id == source.id:
            continue
        evidence = {
            "record": record.ref,
            "channel": record.channel,
            "previous_id": {"type": held_previous.type, "value": previous},
            "user_id": user.value,
        }
        try:
            merge = service.merge_profiles(
                workspace_id,
                target.id,
                source.id,
                cause_kind=ALIAS_RULE,
                cause_ref=record.ref,
                evidence=evidence,
            )
        except MergeRefused as refused:
            repository.insert_conflicts(
                [
                    {
                        "id": new_id("cfl"),
                        "workspace_id": workspace_id,
                        "rule": ALIAS_RULE,
                        "profile_ids": [target.id, source.id],
                        "identifier_type": held_previous.type,
                        "identifier_value": previous,
                        "cause_ref": record.ref[:200],
                        "evidence": {**evidence, "refused": refused.detail},
                        "status": "open",
                        "created_at": utcnow(),
                    }
                ]
            )
            continue
        merges.append(merge.id)
    return merges
