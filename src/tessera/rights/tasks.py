"""Worker jobs of usage rights: once an hour, the live placements of every license or
platform authorisation that has ended or been revoked become takedown tasks, so an ad does
not keep running past its term because nobody opened the dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.job.registry import Registry
from tessera.job.registry import registry as worker_registry
from tessera.kit.logging import get_logger
from tessera.kit.time import Clock, utcnow
from tessera.rights.repository import RightsRepository
from tessera.rights.service import RightsService

TAKEDOWN_SWEEP = "rights.takedowns_swept"
log = get_logger("tessera.rights")


class RightsJobs:
    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock

    def takedowns_swept(self, session: Session, _payload: dict[str, Any]) -> None:
        """Mark takedowns in every workspace with live placements; safe to run twice (a
        marked placement is no longer live)."""
        rights = RightsService(session, self.clock)
        for workspace_id in RightsRepository(session).workspaces_with_live_placements():
            marked = rights.takedowns(workspace_id)
            if marked:
                log.info("placements_to_take_down", workspace_id=workspace_id, marked=marked)


def register(registry: Registry, clock: Clock = utcnow) -> None:
    jobs = RightsJobs(clock)
    registry.periodic(TAKEDOWN_SWEEP, every=timedelta(hours=1), priority=200)(jobs.takedowns_swept)


register(worker_registry)
