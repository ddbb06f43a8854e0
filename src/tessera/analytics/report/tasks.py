"""Measure's jobs: keep the scorecard's snapshots fresh.

- ``report.snapshots_swept`` (every 10 minutes): queue a refresh for each workspace whose
  snapshots are missing, stale or over an hour old, keyed by the slot.
- ``report.snapshots_refreshed`` ``{"workspace_id": ...}``: compute and store the workspace's
  snapshots; safe to run twice (a second run stores a newer snapshot, or nothing).

Importing this module subscribes Measure to Identify's ``events.resolved``: a stitched order
event marks its workspace's snapshots stale (one conditional UPDATE in the stitch's
transaction, nothing computed there). ``register`` installs the jobs with a clock, so a test
runs them on a ``ManualClock``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tessera.analytics.report.snapshots import (
    REFRESH_JOB,
    SWEEP_EVERY,
    SWEEP_JOB,
    SnapshotService,
)
from tessera.identity.graph.service import subscribe
from tessera.job.registry import Registry
from tessera.job.registry import registry as worker_registry
from tessera.kit.errors import InvalidInput
from tessera.kit.time import Clock, utcnow

ORDER_EVENT_PREFIX = "order:"


class SnapshotJobs:
    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock

    def refreshed(self, session: Session, payload: dict[str, Any]) -> None:
        """Compute and store one workspace's scorecard snapshots."""
        workspace_id = payload.get("workspace_id")
        if not isinstance(workspace_id, str) or not workspace_id:
            raise InvalidInput("the job needs its workspace_id", field="workspace_id")
        SnapshotService(session, self.clock).refresh(workspace_id)

    def swept(self, session: Session, payload: dict[str, Any]) -> None:
        """One refresh job per workspace whose snapshots are due, once per slot each."""
        service = SnapshotService(session, self.clock)
        for workspace_id in service.due():
            service.request_refresh(workspace_id, f"sweep:{payload.get('slot', '')}")

    def orders_resolved(self, session: Session, payload: dict[str, Any]) -> None:
        """Stitched order events make the workspace's snapshots stale."""
        events = payload.get("events") or []
        if any(str(pair[0]).startswith(ORDER_EVENT_PREFIX) for pair in events):
            SnapshotService(session, self.clock).mark_stale(payload["workspace_id"])


def register(registry: Registry, clock: Clock = utcnow) -> SnapshotJobs:
    jobs = SnapshotJobs(clock)
    registry.job_handler(REFRESH_JOB)(jobs.refreshed)
    registry.periodic(SWEEP_JOB, every=SWEEP_EVERY, priority=200)(jobs.swept)
    return jobs


subscribe("events.resolved", register(worker_registry).orders_resolved)
