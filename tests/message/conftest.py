"""A real SMTP server and a fake SMS provider per test, the settings pointing at them, and a
clock held at ``world.T0``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tessera.app import create_app
from tessera.config import Settings
from tessera.kit.time import ManualClock
from tests.message.world import T0, message_settings
from tests.support.fake_sms import SmsState, fake_sms
from tests.support.smtp_server import Mailbox, smtp_server


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def mailbox(smtp: tuple[int, Mailbox]) -> Mailbox:
    return smtp[1]


@pytest.fixture
def sms_server() -> Iterator[tuple[str, SmsState]]:
    with fake_sms() as running:
        yield running


@pytest.fixture
def sms(sms_server: tuple[str, SmsState]) -> SmsState:
    return sms_server[1]


@pytest.fixture
def settings(
    database_url: str, smtp: tuple[int, Mailbox], sms_server: tuple[str, SmsState]
) -> Settings:
    return message_settings(database_url, smtp[0], sms_server[0])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session], clock: ManualClock) -> FastAPI:
    return create_app(settings, session_factory=session_factory, clock=clock)
