"""Fixtures of the journey tests: a workspace with templates, a clock the test moves, the
platform."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.kit.time import ManualClock
from tests.journey.flows import T0, Platform, journey_doc, make_templates
from tests.support.factories import make_workspace
from tests.support.fake_sms import SmsState, fake_sms
from tests.support.smtp_server import Mailbox, smtp_server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def workspace_id(session: Session) -> str:
    """A workspace with the templates the abandoned cart journey sends."""
    workspace_id = make_workspace(session, "journeys")
    make_templates(session, workspace_id, journey_doc())
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


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server on localhost (for the tests that send)."""
    with smtp_server() as running:
        yield running


@pytest.fixture
def sms_server() -> Iterator[tuple[str, SmsState]]:
    """A stand-in SMS provider on localhost (for the tests that send)."""
    with fake_sms() as running:
        yield running
