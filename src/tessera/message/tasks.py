"""The send's two jobs (``message.sending``): decide, then deliver to the provider.

``register`` installs them on a registry with a clock and settings: the worker's registry gets
the wall clock and the process settings at import; a test builds its own ``Registry`` with a
``ManualClock`` so held messages and caps run on time it controls.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tessera.config import Settings
from tessera.job.registry import Registry
from tessera.job.registry import registry as worker_registry
from tessera.job.service import JobService
from tessera.kit.time import Clock, utcnow
from tessera.message.recommendations import PurchaseSnapshots
from tessera.message.sending import DELIVERY_REQUESTED, SEND_REQUESTED, SendingService, delivery_key


class MessageJobs:
    def __init__(self, clock: Clock = utcnow, settings: Settings | None = None) -> None:
        self.clock = clock
        self.settings = settings
        # Everyone's purchases for recommendations, read once per workspace per few minutes
        # by this worker's sends (``message.recommendations``).
        self.snapshots = PurchaseSnapshots(clock)

    def send_requested(self, session: Session, payload: dict[str, Any]) -> None:
        """Decide a queued or held message: skip, hold, or mark it ``sending``."""
        sending = SendingService(session, self.clock, self.settings, snapshots=self.snapshots)
        sending.decide(str(payload["message_id"]))

    def delivered_to_provider(self, session: Session, payload: dict[str, Any]) -> None:
        """Send a ``sending`` message; an attempt after the first reconciles first."""
        message_id = str(payload["message_id"])
        retried = JobService(session).attempts_of(delivery_key(message_id)) > 1
        SendingService(session, self.clock, self.settings).deliver(message_id, retried=retried)


def register(registry: Registry, clock: Clock = utcnow, settings: Settings | None = None) -> None:
    jobs = MessageJobs(clock, settings)
    registry.job_handler(SEND_REQUESTED)(jobs.send_requested)
    registry.job_handler(DELIVERY_REQUESTED)(jobs.delivered_to_provider)


register(worker_registry)
