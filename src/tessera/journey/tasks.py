"""Journeys' jobs: events arriving, a step's visit coming due, profiles merging.

Importing this module subscribes journeys to Identify's announcements (``events.resolved``
after a stitch, ``customer.merged``); each subscriber only queues a journey job, in the
announcing transaction, so a journey that fails retries on its own and never rolls back the
stitch or the merge. It also registers the journey's pre-send check with the message package's
send job (``journey.presend``), which runs in the same worker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.config import Settings
from tessera.identity.graph.service import subscribe
from tessera.job.registry import Registry, job_handler
from tessera.job.registry import registry as worker_registry
from tessera.journey.presend import register_pre_send_check
from tessera.journey.steps import STEP_JOB, StepRunner
from tessera.journey.triggers import MERGE_JOB, TRIGGER_JOB, Triggers, announce, announce_merge


def _announced_events(session: Session, payload: dict[str, Any]) -> None:
    announce(session, payload["workspace_id"], payload["events"])


subscribe("events.resolved", _announced_events)
subscribe("customer.merged", announce_merge)
register_pre_send_check()


@job_handler(TRIGGER_JOB)
def events_arrived(session: Session, payload: dict[str, Any]) -> None:
    """Exits, awaited events and entries for a batch of stitched events; safe to run twice
    (an event enters once per journey, and a visit moves on once)."""
    Triggers(session, payload["workspace_id"]).events_arrived(payload["events"])


class StepJobs:
    """The step job on given settings (the webhook allow-list); the process's by default."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    def step_due(self, session: Session, payload: dict[str, Any]) -> None:
        """Run one step visit; a second run finds the visit gone and does nothing."""
        StepRunner(session, settings=self.settings).run(
            payload["instance_id"], int(payload["visit"]), datetime.fromisoformat(payload["at"])
        )


def register(registry: Registry, settings: Settings | None = None) -> None:
    """Install the step job on ``registry`` (a test's own, with its settings)."""
    registry.job_handler(STEP_JOB)(StepJobs(settings).step_due)


register(worker_registry)


@job_handler(MERGE_JOB)
def profiles_merged(session: Session, payload: dict[str, Any]) -> None:
    """At most one instance per journey and key goes on after a merge; safe to run twice."""
    Triggers(session, payload["workspace_id"]).profiles_merged(
        payload["survivor_profile_id"], payload["absorbed_profile_id"]
    )
