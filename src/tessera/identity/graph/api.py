"""``/v1/merges`` and ``/v1/identity/rules``: manual merge and split, the merge log, the rules."""

from __future__ import annotations

from fastapi import Query

from tessera.http.routing import DbSession, router
from tessera.identity.graph import identifiers as ids
from tessera.identity.graph.schemas import (
    MergeIn,
    MergeOut,
    RulesIn,
    RulesOut,
    UnmergeIn,
    UnmergeOut,
)
from tessera.identity.graph.service import IdentityService
from tessera.workspace.auth import Admin, Marketer, Viewer
from tessera.workspace.service import WorkspaceService

api = router(prefix="/v1", tags=["identity"])


@api.get("/merges", response_model=list[MergeOut], summary="The merge log, newest first")
def list_merges(
    principal: Viewer,
    session: DbSession,
    profile_id: str | None = Query(default=None, description="Only merges touching a profile"),
    limit: int = Query(default=50, ge=1, le=200),
) -> list[MergeOut]:
    rows = IdentityService(session).merge_log(
        principal.workspace_id, profile_id=profile_id, limit=limit
    )
    return [MergeOut.of(r) for r in rows]


@api.post("/merges", response_model=MergeOut, status_code=201, summary="Merge two profiles")
def merge(body: MergeIn, principal: Marketer, session: DbSession) -> MergeOut:
    """A person's merge; guard-rails and split rules still apply (409 names the rule)."""
    first, second = body.profile_ids
    row = IdentityService(session).merge_profiles(
        principal.workspace_id,
        first,
        second,
        cause_kind="manual",
        cause_ref=principal.actor,
        evidence={"reason": body.reason},
        actor=principal.actor,
    )
    WorkspaceService(session).record(
        principal.workspace_id, principal.actor, "profile.merged", row.id, {"reason": body.reason}
    )
    return MergeOut.of(row)


@api.post(
    "/merges/{merge_id}/unmerge",
    response_model=UnmergeOut,
    summary="Undo a merge: both profiles come back, and stay apart",
)
def unmerge(merge_id: str, body: UnmergeIn, principal: Marketer, session: DbSession) -> UnmergeOut:
    result = IdentityService(session).unmerge(
        principal.workspace_id, merge_id, actor=principal.actor, reason=body.reason
    )
    WorkspaceService(session).record(
        principal.workspace_id,
        principal.actor,
        "profile.unmerged",
        merge_id,
        {"reason": body.reason, "profiles": list(result.profile_ids)},
    )
    return UnmergeOut(
        merge_id=result.merge_id, split_id=result.split_id, profile_ids=list(result.profile_ids)
    )


@api.get("/identity/rules", response_model=RulesOut, summary="Blocked values, limits, priorities")
def get_rules(principal: Viewer, session: DbSession) -> RulesOut:
    return _rules_out(IdentityService(session), principal.workspace_id)


@api.put("/identity/rules", response_model=RulesOut, summary="Change blocked values or limits")
def put_rules(body: RulesIn, principal: Admin, session: DbSession) -> RulesOut:
    """New records follow the new rules; existing profiles are not rewritten."""
    service = IdentityService(session)
    service.set_rules(
        principal.workspace_id,
        blocked_values=body.blocked_values,
        limits=body.limits,
        relay_domains=body.relay_domains,
    )
    WorkspaceService(session).record(
        principal.workspace_id,
        principal.actor,
        "identity.rules_changed",
        principal.workspace_id,
        body.model_dump(exclude_none=True),
    )
    return _rules_out(service, principal.workspace_id)


def _rules_out(service: IdentityService, workspace_id: str) -> RulesOut:
    rules = service.rules(workspace_id)
    return RulesOut(
        blocked_values=service.blocked_values(workspace_id),
        limits=dict(rules.limits),
        priorities=list(rules.priorities),
        default_region=rules.region,
        relay_domains=service.relay_domains(workspace_id),
        default_relay_domains=list(ids.RELAY_DOMAINS),
    )
