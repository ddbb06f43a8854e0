"""The send: a queued message goes out once through a real SMTP server and the fake SMS
provider, its row records what was sent, a re-run after a lost answer reconciles instead of
sending blind, and the providers' refusals are recorded, not retried."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.integrations.sms.client import SmsUnavailable
from tessera.job.service import JobService
from tessera.kit.time import ManualClock
from tessera.message.sending import DELIVERY_REQUESTED, SendingService
from tessera.message.service import MessageService
from tessera.models.collect import Event
from tessera.models.job import Job
from tessera.models.message import Message, MessageStatus
from tests.message.world import SMS_FROM, T0, configure, person, run_jobs, template
from tests.support.factories import make_workspace
from tests.support.fake_sms import SmsState
from tests.support.smtp_server import Mailbox

ANA_EMAIL = "ana@example.com"
ANA_PHONE = "+14155550134"


@pytest.fixture
def world(session: Session, settings: Settings) -> tuple[str, str]:
    workspace_id = make_workspace(session, "acme")
    ana = person(session, workspace_id, "u-ana", email=ANA_EMAIL, phone=ANA_PHONE,
                 first_name="Ana")  # fmt: skip
    template(session, workspace_id, "receipt")
    template(session, workspace_id, "shipped", channel="sms",
             body="Hi {{ profile.first_name }}, order {{ order.number }} shipped.")  # fmt: skip
    configure(session, workspace_id, settings)
    session.commit()
    return workspace_id, ana.profile_id


def queue(session: Session, world: tuple[str, str], channel: str, key: str) -> Message:
    workspace_id, profile_id = world
    template_name = "receipt" if channel == "email" else "shipped"
    row = MessageService(session, ManualClock(T0)).queue(
        workspace_id, profile_id, channel, template_name, idempotency_key=key,
        purpose="transactional",
        context={"order": {"number": "#1001"}, "cart": {"url": "https://shop.test/cart/1"}},
    )  # fmt: skip
    session.commit()
    return row


def test_an_email_goes_out_once_with_its_message_id_and_lands_on_the_timeline(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: ManualClock,
    world: tuple[str, str],
    mailbox: Mailbox,
) -> None:
    """Queued, decided, delivered: one email at the SMTP server with the row's Message-ID and
    rendered content, the row ``sent``, and an "Email Sent" event on the person's timeline."""
    row = queue(session, world, "email", "order-1001-receipt")

    run_jobs(session_factory, clock, settings)

    session.refresh(row)
    arrived = mailbox.to(ANA_EMAIL)
    assert [a.message_id for a in arrived] == [f"<{row.id}@tessera>"]
    assert arrived[0].message["Subject"] == "Still thinking, Ana?"
    assert arrived[0].message["From"] == "Acme <hello@acme.test>"
    assert "List-Unsubscribe" not in arrived[0].message  # transactional
    assert "Hi Ana" in arrived[0].part("html")
    assert (row.status, row.provider_id, row.to_address) == (
        MessageStatus.SENT, f"<{row.id}@tessera>", ANA_EMAIL,
    )  # fmt: skip
    assert row.sending_at == row.sent_at == T0
    events = session.scalars(select(Event).where(Event.workspace_id == world[0],
                                                 Event.event == "Email Sent")).all()  # fmt: skip
    assert [(e.channel, e.user_id, e.payload["properties"]["message_id"]) for e in events] == [
        ("email", "u-ana", row.id)
    ]


def test_an_sms_goes_out_once_keyed_by_the_message_id(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: ManualClock,
    world: tuple[str, str],
    sms: SmsState,
) -> None:
    """The provider gets one POST carrying the row's id as Idempotency-Key, and the row keeps
    the provider's sid, the segment count and the status callback URL it gave."""
    row = queue(session, world, "sms", "order-1001-shipped")

    run_jobs(session_factory, clock, settings)

    session.refresh(row)
    sent = sms.to(ANA_PHONE)
    assert [(s.idempotency_key, s.sender, s.body) for s in sent] == [
        (row.id, SMS_FROM, "Hi Ana, order #1001 shipped.")
    ]
    assert sent[0].status_callback == (
        f"https://tessera.test/v1/messages/sms/{world[0]}/status?message_id={row.id}"
    )
    assert (row.status, row.provider_id, row.sms_encoding, row.sms_segments) == (
        MessageStatus.SENT, sent[0].sid, "gsm7", 1,
    )  # fmt: skip


def test_queueing_twice_with_one_key_keeps_one_row_and_sends_once(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: ManualClock,
    world: tuple[str, str],
    sms: SmsState,
) -> None:
    """A step that runs twice queues once: the second call returns the first row."""
    first = queue(session, world, "sms", "instance-1:step-sms:1")
    second = queue(session, world, "sms", "instance-1:step-sms:1")

    run_jobs(session_factory, clock, settings)

    assert second.id == first.id
    assert sms.by_key() == {first.id: 1}
    assert session.scalars(select(Message.id)).all() == [first.id]


def test_a_lost_sms_answer_is_reconciled_by_key_not_sent_again(
    session: Session, settings: Settings, clock: ManualClock, world: tuple[str, str],
    sms: SmsState,
) -> None:  # fmt: skip
    """The provider took the SMS but the recording was rolled back (a crash before the
    commit): the next attempt asks the provider by key and records the same sid."""
    row = queue(session, world, "sms", "k-lost")
    sending = SendingService(session, clock, settings)
    sending.decide(row.id)
    session.commit()

    lost = session.begin_nested()
    sending.deliver(row.id, retried=False)
    lost.rollback()  # the worker died before its commit
    session.expire_all()
    status_after_crash = session.get(Message, row.id).status  # type: ignore[union-attr]
    sending.deliver(row.id, retried=True)

    session.refresh(row)
    assert status_after_crash is MessageStatus.SENDING
    assert sms.by_key() == {row.id: 1}
    assert (row.status, row.provider_id) == (MessageStatus.SENT, sms.to(ANA_PHONE)[0].sid)


def test_a_lost_email_answer_sends_the_same_bytes_under_the_same_message_id(
    session: Session, settings: Settings, clock: ManualClock, world: tuple[str, str],
    mailbox: Mailbox,
) -> None:  # fmt: skip
    """SMTP cannot be asked: the email goes again with the same Message-ID and content, which
    mailbox providers collapse into one."""
    row = queue(session, world, "email", "k-lost-email")
    sending = SendingService(session, clock, settings)
    sending.decide(row.id)
    session.commit()
    lost = session.begin_nested()
    sending.deliver(row.id, retried=False)
    lost.rollback()

    sending.deliver(row.id, retried=True)

    arrived = mailbox.to(ANA_EMAIL)
    assert [a.message_id for a in arrived] == [f"<{row.id}@tessera>"] * 2
    assert arrived[0].content() == arrived[1].content()


def test_a_provider_outage_retries_the_job_and_then_sends_once(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: ManualClock,
    world: tuple[str, str],
    sms: SmsState,
) -> None:
    """A 500 fails the delivery job (the row stays ``sending``); its retry asks the provider,
    finds nothing, and sends once."""
    row = queue(session, world, "sms", "k-outage")
    sms.fail_next(500, message="upstream down")

    run_jobs(session_factory, clock, settings)
    session.refresh(row)
    status_during_outage = row.status
    job = session.scalar(select(Job).where(Job.kind == DELIVERY_REQUESTED))
    assert job is not None and job.run_at is not None
    clock.now = job.run_at
    run_jobs(session_factory, clock, settings)

    session.refresh(row)
    assert status_during_outage is MessageStatus.SENDING
    assert sms.by_key() == {row.id: 1}
    assert row.status is MessageStatus.SENT
    assert JobService(session).attempts_of(f"message:{row.id}:delivery") == 2


def test_an_invalid_number_fails_the_message_without_retrying(
    session: Session, settings: Settings, clock: ManualClock, world: tuple[str, str],
    sms: SmsState,
) -> None:  # fmt: skip
    """Error 21211 is final: ``failed``, reason ``invalid_address``, the code kept."""
    row = queue(session, world, "sms", "k-invalid")
    sms.fail_next(400, code=21211, message="The 'To' number is not a valid phone number.")
    sending = SendingService(session, clock, settings)
    sending.decide(row.id)

    sending.deliver(row.id, retried=False)

    assert (row.status, row.reason, row.error_code) == (
        MessageStatus.FAILED, "invalid_address", "21211",
    )  # fmt: skip


def test_a_mailbox_the_server_refuses_is_a_hard_bounce_that_suppresses_it(
    session: Session, settings: Settings, clock: ManualClock, world: tuple[str, str],
    mailbox: Mailbox,
) -> None:  # fmt: skip
    """550 at RCPT: the row ``bounced``, the address suppressed, and the next message to it,
    even a receipt, skipped as ``suppressed``."""
    mailbox.refuse.add(ANA_EMAIL)
    row = queue(session, world, "email", "k-bounce")
    sending = SendingService(session, clock, settings)
    sending.decide(row.id)
    sending.deliver(row.id, retried=False)
    next_one = queue(session, world, "email", "k-after-bounce")

    status = sending.decide(next_one.id)

    assert (row.status, row.reason, row.error_code) == (MessageStatus.BOUNCED, "hard_bounce", "550")
    assert (status, next_one.reason) == (MessageStatus.SKIPPED, "suppressed")
    assert mailbox.all() == []


def test_a_delivery_failure_from_the_outage_is_raised_for_the_job_to_retry(
    session: Session, settings: Settings, clock: ManualClock, world: tuple[str, str],
    sms: SmsState,
) -> None:  # fmt: skip
    """A 503 is not recorded as a failure: it raises, and the row stays ``sending``."""
    row = queue(session, world, "sms", "k-503")
    sms.fail_next(503)
    sending = SendingService(session, clock, settings)
    sending.decide(row.id)

    with pytest.raises(SmsUnavailable):
        sending.deliver(row.id, retried=False)

    assert row.status is MessageStatus.SENDING
