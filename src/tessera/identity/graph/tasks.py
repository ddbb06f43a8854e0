"""Identify's jobs: stitch what Collect stored, and announce merges (and which profile each
stitched event belongs to) to other modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.graph.identifiers import record_from_json
from tessera.identity.graph.intake import STITCH_JOB
from tessera.identity.graph.service import SUBSCRIBERS, IdentityService
from tessera.job.registry import job_handler
from tessera.job.service import JobService
from tessera.kit.memory import collector_paused

# A stitch job also does the workspace's queued stitch jobs, up to this many: a backlog (an
# import, a burst) drains in large batches (500 SDK batches of 100 events: 50,000 records),
# where a stitch's cost is mostly per batch and per row written, not per job.
COALESCE_JOBS = 500


@job_handler(STITCH_JOB)
def stitch(session: Session, payload: dict[str, Any]) -> None:
    """Link the identifiers of a batch of stored events, and of the workspace's queued stitch
    batches with it, in their order; safe to run twice."""
    workspace_id = payload["workspace_id"]
    with collector_paused():  # tens of thousands of records read at once: kit/memory.py
        records = [record_from_json(r) for r in payload["records"]]
        for _, queued in JobService(session).take_queued(STITCH_JOB, workspace_id, COALESCE_JOBS):
            records.extend(record_from_json(r) for r in queued["records"])
        result = IdentityService(session).stitch(workspace_id, records)
    if result.resolved and SUBSCRIBERS["events.resolved"]:
        announced = {
            "workspace_id": workspace_id,
            "events": sorted([ref, profile] for ref, profile in result.resolved.items() if ref),
        }
        for subscriber in SUBSCRIBERS["events.resolved"]:
            subscriber(session, announced)


@job_handler("customer.merged")
def announce_merged(session: Session, payload: dict[str, Any]) -> None:
    """Tell every subscriber that two profiles became one."""
    for subscriber in SUBSCRIBERS["customer.merged"]:
        subscriber(session, payload)


@job_handler("customer.unmerged")
def announce_unmerged(session: Session, payload: dict[str, Any]) -> None:
    """Tell every subscriber that a merge was undone and which profiles came back."""
    for subscriber in SUBSCRIBERS["customer.unmerged"]:
        subscriber(session, payload)
