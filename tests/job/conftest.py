"""What the job tests share: a clock the test moves, and workers on the test's transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.job.registry import Registry
from tessera.job.runner import Worker

# In the future, so jobs enqueued "now" by handlers (real time) are due on the test clock.
START = datetime(2031, 1, 15, 12, 0, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The time a worker or service sees; tests move it instead of sleeping."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


MakeWorker = Callable[..., Worker]


@pytest.fixture
def make_worker(
    session_factory: sessionmaker[Session], settings: Settings, clock: Clock
) -> MakeWorker:
    """Workers on the test's transaction, with the test's clock and a fixed jitter draw."""

    def make(registry: Registry, name: str = "worker-a", **kwargs: object) -> Worker:
        options: dict[str, object] = {"clock": clock, "random": lambda: 0.5, "name": name}
        options.update(kwargs)
        return Worker(session_factory, settings, registry=registry, **options)  # type: ignore[arg-type]

    return make
