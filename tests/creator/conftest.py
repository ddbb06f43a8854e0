"""A held clock and an app on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tessera.app import create_app
from tessera.config import Settings
from tessera.kit.time import ManualClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session], clock: ManualClock) -> FastAPI:
    return create_app(settings, session_factory=session_factory, clock=clock)
