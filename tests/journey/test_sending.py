"""A journey's send steps go through the real outbox to a real SMTP server and a stand-in SMS
provider on localhost: once per visit however often the step's job runs, and not at all when
the person left the journey, or an exit rule came to hold, between queueing and sending."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.identity.graph.service import IdentityService
from tessera.job.service import JobService
from tessera.journey import tasks
from tessera.journey.presend import JOURNEY_EXITED
from tessera.journey.sending import QueueMessage
from tessera.journey.triggers import TRIGGER_JOB
from tessera.kit.time import ManualClock
from tessera.models.job import Job, JobStatus
from tessera.models.message import MessageStatus
from tests.journey.flows import T0, Platform, identify, journey_doc, store_order, track
from tests.message.world import Person, configure, consent, message_settings
from tests.support.fake_sms import SmsState
from tests.support.smtp_server import Mailbox

ANA_EMAIL = "ana@example.com"
ANA_PHONE = "+14155550100"
HOUR = timedelta(hours=1)
WELCOME: dict[str, Any] = {
    "name": "Welcome",
    "entry": {"kind": "event", "event": "Checkout Started"},
    "start": "email",
    "steps": [
        {"id": "email", "type": "send_email", "template": "welcome", "next": "end"},
        {"id": "end", "type": "exit"},
    ],
}


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


def ana(platform: Platform, zone: str = "America/New_York") -> Person:
    """Ana signed up a month ago with her email and phone, and said yes to both channels."""
    platform.send(
        identify(
            "i-ana", T0 - timedelta(days=30), "ana",
            email=ANA_EMAIL, phone=ANA_PHONE, first_name="Ana", timezone=zone,
        )
    )  # fmt: skip
    platform.run()
    found = IdentityService(platform.session).find_profile(platform.workspace_id, "user_id", "ana")
    assert found is not None
    person = Person(found.id, ANA_EMAIL, ANA_PHONE)
    consent(platform.session, platform.workspace_id, person, "email")
    consent(platform.session, platform.workspace_id, person, "sms")
    platform.session.commit()
    return person


def test_a_journey_email_reaches_the_smtp_server_once_though_its_step_job_runs_twice(
    platform: Platform, settings: Settings, smtp: tuple[int, Mailbox]
) -> None:
    """Checkout Started: the step queues the email, the send jobs deliver it to the local SMTP
    server. The step's job is then run again (a worker that lost its lease) and the sender is
    asked again with the same key: still one outbox row, one email."""
    mailbox = smtp[1]
    configure(platform.session, platform.workspace_id, settings)
    person = ana(platform)
    journey = platform.live(WELCOME)

    platform.send(track("c1", "Checkout Started", T0, user_id="ana"))
    platform.run()
    [instance] = platform.instances(journey.id)
    step_job = platform.session.scalar(
        select(Job).where(Job.idempotency_key == f"journey:{instance.id}:1")
    )
    assert step_job is not None
    tasks.StepJobs(settings).step_due(platform.session, dict(step_job.payload))
    again = QueueMessage().queue(
        platform.session,
        instance,
        platform.journeys()
        .definition(platform.journeys().version(platform.workspace_id, journey.id, 1))
        .step("email"),  # type: ignore[arg-type]
        f"journey:{instance.id}:email:1",
        T0,
    )
    platform.run()

    [message] = platform.messages(instance.id)
    arrived = mailbox.to(ANA_EMAIL)
    assert [(a.message_id, a.message["Subject"]) for a in arrived] == [
        (f"<{message.id}@tessera>", "Hello Ana")
    ]
    assert (message.status, message.profile_id, again.detail["message_id"]) == (
        MessageStatus.SENT,
        person.profile_id,
        message.id,
    )
    assert platform.path(instance.id) == [("email", "queued"), ("end", "completed")]


def abandoned_sms_held_by_quiet_hours(platform: Platform, settings: Settings) -> str:
    """Ana (in Los Angeles) abandons cart-1 at 04:00 her time; at 06:00 the journey queues the
    SMS, which quiet hours hold until 08:00 (16:00 UTC). Returns the instance's id."""
    configure(platform.session, platform.workspace_id, settings)
    ana(platform, zone="America/Los_Angeles")
    journey = platform.live(journey_doc())
    platform.send(track("c1", "Checkout Started", T0, user_id="ana", cart_id="cart-1"))
    platform.run()
    platform.advance(hours=2)
    [instance] = platform.instances(journey.id)
    [sms] = platform.messages(instance.id)
    assert (sms.status, sms.reason, sms.next_attempt_at) == (
        MessageStatus.HELD,
        "quiet_hours",
        T0 + 4 * HOUR,
    )
    return instance.id


def test_a_held_sms_is_skipped_when_a_store_order_made_the_person_leave_meanwhile(
    platform: Platform, settings: Settings, sms_server: tuple[str, SmsState]
) -> None:
    """Half an hour after the SMS was queued, a sale rung up in a store arrives: the trigger
    makes Ana leave ("ordered"), and when quiet hours end the send job skips the SMS with the
    reason ``journey_exited``. The provider hears nothing."""
    instance_id = abandoned_sms_held_by_quiet_hours(platform, settings)

    platform.clock.advance(timedelta(minutes=30))
    platform.order(store_order("S-1", T0 + 2.5 * HOUR, ANA_EMAIL))
    platform.run()
    platform.advance(hours=2)

    [sms] = platform.messages(instance_id)
    [left] = platform.instances(sms.origin["journey_id"])  # type: ignore[index]
    assert (left.exit_reason, sms.status, sms.reason) == (
        "ordered",
        MessageStatus.SKIPPED,
        JOURNEY_EXITED,
    )
    assert sms_server[1].sent == []


def test_a_held_sms_is_skipped_when_an_amazon_order_exists_before_its_event_travels(
    platform: Platform, settings: Settings, sms_server: tuple[str, SmsState]
) -> None:
    """An Amazon order imported while the SMS waits: its stitch runs, but the journey's trigger
    never does (cancelled here), so Ana is still inside. The send job reads the orders itself:
    the exit rule holds, the SMS is skipped (``journey_exited``) and nothing is sent."""
    instance_id = abandoned_sms_held_by_quiet_hours(platform, settings)

    platform.clock.advance(timedelta(minutes=30))
    platform.order(store_order("A-1", T0 + 2.5 * HOUR, ANA_EMAIL, platform="amazon"))
    [stitch] = platform.worker.run_until_idle(max_jobs=1)
    assert stitch.kind == "identity.stitch"
    for job in platform.session.scalars(
        select(Job).where(Job.kind == TRIGGER_JOB, Job.status == JobStatus.QUEUED)
    ).all():
        JobService(platform.session).cancel(job.id)
    platform.session.commit()
    platform.advance(hours=1, minutes=30)

    [sms] = platform.messages(instance_id)
    [inside] = platform.instances(sms.origin["journey_id"])  # type: ignore[index]
    assert (inside.exit_reason, sms.status, sms.reason) == (
        None,
        MessageStatus.SKIPPED,
        JOURNEY_EXITED,
    )
    assert sms_server[1].sent == []


def test_a_held_sms_goes_out_when_nothing_happened_meanwhile(
    platform: Platform, settings: Settings, sms_server: tuple[str, SmsState]
) -> None:
    """The same SMS with no order: sent at 08:00 Los Angeles time, once, keyed by its id."""
    instance_id = abandoned_sms_held_by_quiet_hours(platform, settings)

    platform.advance(hours=2)

    [sms] = platform.messages(instance_id)
    assert (sms.status, sms.sending_at) == (MessageStatus.SENT, T0 + 4 * HOUR)
    assert [(s.to, s.idempotency_key) for s in sms_server[1].sent] == [(ANA_PHONE, sms.id)]
