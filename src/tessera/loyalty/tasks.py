"""Loyalty's jobs: stitched order and registration events earning or taking back points,
merged profiles' points following the survivor (and going back when a merge is undone), and
the hourly expiry.

Importing this module subscribes loyalty to Identify's announcements (``events.resolved``
after a stitch, ``customer.merged`` and ``customer.unmerged``); each subscriber only queues a
loyalty job in the announcing transaction, so order ingestion never waits on loyalty and a
loyalty failure retries on its own. ``register`` installs the jobs on a registry with a
clock, so a test runs them on a ``ManualClock``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.graph.service import subscribe
from tessera.job.registry import Registry
from tessera.job.registry import registry as worker_registry
from tessera.job.service import JobService
from tessera.kit.time import Clock, utcnow
from tessera.loyalty.earning import (
    EARN_JOB,
    EXPIRY_JOB,
    MERGE_JOB,
    UNMERGE_JOB,
    Earning,
    announce,
    announce_merge,
    announce_unmerge,
)
from tessera.loyalty.repository import LoyaltyRepository

EXPIRY_SWEEP = "loyalty.expiry_swept"


def _announced_events(session: Session, payload: dict[str, Any]) -> None:
    announce(session, payload["workspace_id"], payload["events"])


subscribe("events.resolved", _announced_events)
subscribe("customer.merged", announce_merge)
subscribe("customer.unmerged", announce_unmerge)


class LoyaltyJobs:
    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock

    def events_arrived(self, session: Session, payload: dict[str, Any]) -> None:
        """Earn and take back for a batch of stitched events; safe to run twice (each entry
        is keyed by its event)."""
        Earning(session, payload["workspace_id"], self.clock).events_arrived(payload["events"])

    def profiles_merged(self, session: Session, payload: dict[str, Any]) -> None:
        """The absorbed profile's points follow the survivor; a second run finds none."""
        Earning(session, payload["workspace_id"], self.clock).profiles_merged(
            payload["survivor_profile_id"],
            payload["absorbed_profile_id"],
            payload.get("merge_id"),  # None in jobs queued before merges were remembered
        )

    def profiles_unmerged(self, session: Session, payload: dict[str, Any]) -> None:
        """The entries the undone merge moved go back; a second run finds none to move."""
        Earning(session, payload["workspace_id"], self.clock).profiles_unmerged(payload["merge_id"])

    def points_expired(self, session: Session, payload: dict[str, Any]) -> None:
        """Expire one workspace's unspent lots that fell due; keyed by the hour."""
        Earning(session, payload["workspace_id"], self.clock).expire()

    def expiry_swept(self, session: Session, payload: dict[str, Any]) -> None:
        """One expiry job per workspace with an enabled program, once an hour each."""
        hour = f"{self.clock():%Y%m%dT%H}"
        jobs = JobService(session)
        for workspace_id in LoyaltyRepository(session).enabled_workspaces():
            jobs.enqueue(
                EXPIRY_JOB,
                {"workspace_id": workspace_id},
                workspace_id=workspace_id,
                idempotency_key=f"loyalty-expiry:{workspace_id}:{hour}",
            )


def register(registry: Registry, clock: Clock = utcnow) -> None:
    jobs = LoyaltyJobs(clock)
    registry.job_handler(EARN_JOB)(jobs.events_arrived)
    registry.job_handler(MERGE_JOB)(jobs.profiles_merged)
    registry.job_handler(UNMERGE_JOB)(jobs.profiles_unmerged)
    registry.job_handler(EXPIRY_JOB)(jobs.points_expired)
    registry.periodic(EXPIRY_SWEEP, every=timedelta(hours=1), priority=200)(jobs.expiry_swept)


register(worker_registry)
