"""Fixtures of the segment tests: a workspace, a clock the test moves, the platform."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.kit.time import ManualClock
from tests.journey.flows import T0, Platform
from tests.support.factories import make_workspace


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def workspace_id(session: Session) -> str:
    workspace_id = make_workspace(session, "segments")
    session.commit()
    return workspace_id


@pytest.fixture
def platform(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    workspace_id: str,
    clock: ManualClock,
) -> Platform:
    return Platform(session, session_factory, settings, workspace_id, clock)
