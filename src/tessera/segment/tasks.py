"""Segments' jobs: people whose data changed, whole-workspace refreshes, the periodic sweep.

Importing this module subscribes segments to Identify's announcements: ``events.resolved``
(an event, an identify call's traits or an order's event was stitched to a person) and merges
and unmerges queue ``segment.profiles_changed`` for the people concerned, in the announcing
transaction. Windowed rules change with time alone, so every hour the workspaces holding one
are refreshed a page of people at a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.graph.service import subscribe
from tessera.job.registry import job_handler, periodic
from tessera.job.service import JobService
from tessera.kit.time import Clock, ensure_utc, utcnow
from tessera.segment.membership import Membership, is_own_event
from tessera.segment.repository import SegmentRepository
from tessera.segment.service import REFRESH_JOB, SegmentService

CHANGED_JOB = "segment.profiles_changed"
PEOPLE_PER_JOB = 200


def queue_changed(session: Session, workspace_id: str, profile_ids: list[str]) -> int:
    """Queue recomputes for these people when the workspace has segments; returns jobs."""
    wanted = sorted(set(profile_ids))
    if not wanted or not SegmentRepository(session).segment_names(workspace_id):
        return 0
    chunks = [wanted[i : i + PEOPLE_PER_JOB] for i in range(0, len(wanted), PEOPLE_PER_JOB)]
    return JobService(session).enqueue_many(
        CHANGED_JOB,
        [{"workspace_id": workspace_id, "profile_ids": chunk} for chunk in chunks],
        workspace_id=workspace_id,
    )


def _events_resolved(session: Session, payload: dict[str, Any]) -> None:
    queue_changed(
        session,
        payload["workspace_id"],
        [str(profile) for message_id, profile in payload["events"] if not is_own_event(message_id)],
    )


def _merged(session: Session, payload: dict[str, Any]) -> None:
    if payload.get("workspace_id"):
        queue_changed(
            session,
            payload["workspace_id"],
            [payload["survivor_profile_id"], payload["absorbed_profile_id"]],
        )


def _unmerged(session: Session, payload: dict[str, Any]) -> None:
    if payload.get("workspace_id"):
        queue_changed(session, payload["workspace_id"], list(payload.get("profile_ids") or []))


subscribe("events.resolved", _events_resolved)
subscribe("customer.merged", _merged)
subscribe("customer.unmerged", _unmerged)


@job_handler(CHANGED_JOB)
def profiles_changed(session: Session, payload: dict[str, Any]) -> None:
    """Recompute these people's memberships; safe to run twice (a second run changes nothing)."""
    Membership(session).recompute(payload["workspace_id"], payload["profile_ids"])


def _clock(payload: dict[str, Any]) -> Clock:
    """A refresh is evaluated at the time it was asked for (the sweep's slot, the save's
    time), so windows are measured from the same instant on every page."""
    if not payload.get("at"):
        return utcnow
    at = ensure_utc(datetime.fromisoformat(payload["at"]))
    return lambda: at


@job_handler(REFRESH_JOB)
def workspace_refreshed(session: Session, payload: dict[str, Any]) -> None:
    """Recompute a page of the workspace's people and queue the next page."""
    workspace_id = payload["workspace_id"]
    after = Membership(session, _clock(payload)).refresh_page(workspace_id, payload.get("after"))
    if after is not None:
        JobService(session).enqueue(
            REFRESH_JOB,
            {**payload, "after": after},
            workspace_id=workspace_id,
            idempotency_key=f"{REFRESH_JOB}:{workspace_id}:{payload.get('round')}:{after}",
        )


@periodic("segment.memberships_swept", every=timedelta(hours=1), priority=200)
def memberships_swept(session: Session, payload: dict[str, Any]) -> None:
    """Queue a refresh of every workspace with a windowed segment, once per slot."""
    jobs = JobService(session)
    for workspace_id in SegmentService(session).windowed_workspaces():
        jobs.enqueue(
            REFRESH_JOB,
            {
                "workspace_id": workspace_id,
                "after": None,
                "round": payload["slot"],
                "at": payload["slot"],
            },
            workspace_id=workspace_id,
            priority=200,
            idempotency_key=f"{REFRESH_JOB}:{workspace_id}:{payload['slot']}:start",
        )
