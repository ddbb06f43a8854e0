"""The shipped abandoned cart as installed from the library, on the real outbox: a cart left
on TikTok Shop and bought in a store gets no reminder; a cart left at night by someone who
said yes to SMS gets an SMS that quiet hours hold until morning in their zone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.journey import library
from tessera.kit.time import ManualClock
from tessera.models.journey import Journey
from tessera.models.message import MessageChannel, MessageStatus
from tests.journey.flows import T0, Platform, store_order, track
from tests.journey.test_sending import ANA_EMAIL, ana
from tests.message.world import configure, message_settings
from tests.support.fake_sms import SmsState
from tests.support.smtp_server import Mailbox

HOUR = timedelta(hours=1)


@pytest.fixture
def settings(
    database_url: str, smtp: tuple[int, Mailbox], sms_server: tuple[str, SmsState]
) -> Settings:
    return message_settings(database_url, smtp[0], sms_server[0])


@pytest.fixture
def platform(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    workspace_id: str,
    clock: ManualClock,
) -> Platform:
    """The platform whose worker also runs the message jobs on the test's clock and servers."""
    return Platform(session, session_factory, settings, workspace_id, clock, messages=True)


def shipped_cart(platform: Platform, settings: Settings) -> Journey:
    configure(platform.session, platform.workspace_id, settings)
    installed = library.install(
        platform.session, platform.workspace_id, "abandoned_cart", actor="t"
    )
    journey = platform.journeys().publish(platform.workspace_id, installed.journey.id, actor="t")
    platform.session.commit()
    return journey


def test_a_cart_left_on_tiktok_shop_and_bought_in_a_store_gets_no_reminder(
    platform: Platform, settings: Settings, sms_server: tuple[str, SmsState]
) -> None:
    """Checkout Started on TikTok Shop, a store sale 40 minutes later: Ana leaves ("ordered")
    before the 2-hour wait ends, and a day later nothing was queued or sent."""
    ana(platform, zone="America/Los_Angeles")
    journey = shipped_cart(platform, settings)

    platform.send(track("c1", "Checkout Started", T0, user_id="ana", channel="tiktok_shop",
                        cart_id="tt-cart-9"))  # fmt: skip
    platform.run()
    platform.clock.advance(timedelta(minutes=40))
    platform.order(store_order("S-9", T0 + timedelta(minutes=40), ANA_EMAIL))
    platform.run()
    platform.advance(hours=30)

    [instance] = platform.instances(journey.id)
    assert (instance.entry_key, instance.exit_reason) == ("tt-cart-9", "ordered")
    assert platform.messages(instance.id) == []
    assert sms_server[1].sent == []


def test_a_cart_left_at_night_gets_an_sms_held_by_quiet_hours(
    platform: Platform, settings: Settings
) -> None:
    """Ana said yes to SMS and lives in Los Angeles; she leaves a cart at 04:00 her time. Two
    hours later the journey takes the SMS branch and queues it; quiet hours hold it until
    08:00 her time (16:00 UTC)."""
    ana(platform, zone="America/Los_Angeles")
    journey = shipped_cart(platform, settings)

    platform.send(track("c1", "Checkout Started", T0, user_id="ana", cart_id="cart-1"))
    platform.run()
    platform.advance(hours=2)

    [instance] = platform.instances(journey.id)
    [sms] = platform.messages(instance.id)
    assert (sms.channel, sms.template_name, sms.status, sms.reason, sms.next_attempt_at) == (
        MessageChannel.SMS, "cart_sms", MessageStatus.HELD, "quiet_hours", T0 + 4 * HOUR,
    )  # fmt: skip
