"""Test helpers: send messages through Collect and run the stitch jobs it enqueued."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService, IngestResult
from tessera.identity.graph import tasks
from tessera.identity.graph.intake import STITCH_JOB
from tessera.models.identity import Identifier, Profile, ProfileStatus
from tessera.models.job import Job, JobStatus

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def send(session: Session, workspace_id: str, messages: Sequence[dict[str, Any]]) -> IngestResult:
    """Ingest as the API does, then run the stitch jobs it enqueued (the worker's part)."""
    result = CollectService(session).ingest(Sender(workspace_id, None), messages, "test")
    run_stitch_jobs(session)
    return result


def run_stitch_jobs(session: Session) -> int:
    """Run the queued stitch jobs as the worker would (each one claimed before it runs, and
    the batches it takes with it done); returns how many jobs were done."""
    jobs = session.scalars(
        select(Job).where(Job.kind == STITCH_JOB, Job.status == JobStatus.QUEUED).order_by(Job.id)
    ).all()
    for job in jobs:
        session.refresh(job)
        if job.status is not JobStatus.QUEUED:  # done by an earlier job with its own
            continue
        job.status = JobStatus.SUCCEEDED  # the worker's claim: no longer queued
        session.flush()
        tasks.stitch(session, job.payload)
    session.flush()
    return len(jobs)


def partition(session: Session, workspace_id: str) -> dict[str, frozenset[tuple[str, str]]]:
    """profile id -> its identifiers as (type, value), for active profiles (a shared device
    belongs to none)."""
    groups: dict[str, set[tuple[str, str]]] = {}
    for type_, value, profile_id in session.execute(
        select(Identifier.type, Identifier.value, Identifier.profile_id).where(
            Identifier.workspace_id == workspace_id, Identifier.is_shared.is_(False)
        )
    ):
        groups.setdefault(profile_id, set()).add((type_, value))
    return {p: frozenset(v) for p, v in groups.items()}


def active_profiles(session: Session, workspace_id: str) -> dict[str, Profile]:
    return {
        p.id: p
        for p in session.scalars(
            select(Profile).where(
                Profile.workspace_id == workspace_id, Profile.status == ProfileStatus.ACTIVE
            )
        )
    }


def identify(
    message_id: str,
    minute: int,
    *,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    **traits: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "identify",
        "messageId": message_id,
        "timestamp": at(minute),
        "traits": traits,
    }
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    if user_id:
        message["userId"] = user_id
    return message
