"""The policy, decided in the send job and recorded on the row: consent for marketing,
suppression for everything, the registered pre-send checks, frequency caps across journeys,
and quiet hours in the recipient's zone that hold (never skip) and fail closed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.customer.privacy import PrivacyService
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.kit.time import ManualClock
from tessera.message import policy
from tessera.message.sending import SendingService
from tessera.message.service import MessageService
from tessera.models.identity import ConsentStatus
from tessera.models.message import Message, MessageStatus
from tests.message.world import T0, Person, configure, consent, person, run_jobs, template
from tests.support.factories import make_workspace
from tests.support.fake_sms import SmsState


@pytest.fixture
def workspace(session: Session, settings: Settings) -> str:
    workspace_id = make_workspace(session, "acme")
    template(session, workspace_id, "cart")
    template(session, workspace_id, "cart-sms", channel="sms",
             body="{{ profile.first_name }}, your cart is waiting.")  # fmt: skip
    configure(session, workspace_id, settings)
    session.commit()
    return workspace_id


def queue(
    session: Session,
    clock: ManualClock,
    workspace_id: str,
    who: Person,
    channel: str,
    key: str,
    purpose: str = "marketing",
    journey: str = "abandoned-cart",
) -> Message:
    row = MessageService(session, clock).queue(
        workspace_id, who.profile_id, channel, "cart" if channel == "email" else "cart-sms",
        idempotency_key=key, purpose=purpose, origin={"kind": "journey", "journey_id": journey},
    )  # fmt: skip
    session.commit()
    return row


def decide(session: Session, clock: ManualClock, settings: Settings, row: Message) -> Message:
    SendingService(session, clock, settings).decide(row.id)
    session.commit()
    return row


def test_marketing_needs_a_granted_consent_for_its_channel(
    session: Session, settings: Settings, clock: ManualClock, workspace: str
) -> None:
    """No consent: skipped ``no_consent``. Granted: it goes. Withdrawn since: skipped again."""
    ana = person(session, workspace, "u-ana", email="ana@example.com", first_name="Ana")
    before = decide(session, clock, settings, queue(session, clock, workspace, ana, "email", "a"))
    consent(session, workspace, ana, "email")
    granted = decide(session, clock, settings, queue(session, clock, workspace, ana, "email", "b"))
    consent(session, workspace, ana, "email", ConsentStatus.WITHDRAWN, at=T0 - timedelta(days=1))
    clock.advance(timedelta(days=2))  # past the frequency cap
    after = decide(session, clock, settings, queue(session, clock, workspace, ana, "email", "c"))

    assert [(r.status, r.reason) for r in (before, granted, after)] == [
        (MessageStatus.SKIPPED, "no_consent"),
        (MessageStatus.SENDING, None),
        (MessageStatus.SKIPPED, "no_consent"),
    ]


def test_consent_for_every_channel_counts_and_the_sms_needs_the_phones_own(
    session: Session, settings: Settings, clock: ManualClock, workspace: str
) -> None:
    """A ``channel: all`` consent on the phone covers SMS; an email consent does not."""
    ben = person(session, workspace, "u-ben", email="ben@example.com", phone="+12125550111")
    consent(session, workspace, ben, "email")
    by_email = decide(session, clock, settings, queue(session, clock, workspace, ben, "sms", "a"))
    PrivacyService(session).record_consent(
        workspace, ben.profile_id,
        policy_consent("phone", "+12125550111", "all"), actor="test",
    )  # fmt: skip
    by_all = decide(session, clock, settings, queue(session, clock, workspace, ben, "sms", "b"))

    assert (by_email.status, by_email.reason) == (MessageStatus.SKIPPED, "no_consent")
    assert (by_all.status, by_all.to_address) == (MessageStatus.SENDING, "+12125550111")


def policy_consent(kind: str, value: str, channel: str) -> object:
    from tessera.customer import schemas

    return schemas.ConsentCreate(
        identifier_type=kind, identifier_value=value, purpose="marketing", channel=channel,
        status=ConsentStatus.GRANTED, source="store tablet", recorded_at=T0 - timedelta(days=3),
    )  # fmt: skip


def test_transactional_messages_need_no_consent_and_ignore_caps(
    session: Session, settings: Settings, clock: ManualClock, workspace: str
) -> None:
    """A receipt goes without consent, twice in a row, and does not count toward the cap."""
    cy = person(session, workspace, "u-cy", email="cy@example.com")
    consent(session, workspace, cy, "email")
    receipts = [
        decide(session, clock, settings,
               queue(session, clock, workspace, cy, "email", f"r{n}", purpose="transactional"))
        for n in range(2)
    ]  # fmt: skip
    marketing = decide(session, clock, settings, queue(session, clock, workspace, cy, "email", "m"))

    assert [r.status for r in receipts] == [MessageStatus.SENDING, MessageStatus.SENDING]
    assert marketing.status is MessageStatus.SENDING


def test_the_frequency_cap_skips_across_journeys_and_lets_the_next_day_through(
    session: Session, settings: Settings, clock: ManualClock, workspace: str
) -> None:
    """Email: a second marketing message 10 h after the first, from another journey, is
    skipped (not rescheduled); 17 h after, it goes. SMS: still capped at 23 h, free at 24 h."""
    dee = person(session, workspace, "u-dee", email="dee@example.com", phone="+12125550122",
                 timezone="America/New_York")  # fmt: skip
    consent(session, workspace, dee, "email")
    consent(session, workspace, dee, "sms")
    first = decide(session, clock, settings, queue(session, clock, workspace, dee, "email", "e1"))
    sms_first = decide(session, clock, settings, queue(session, clock, workspace, dee, "sms", "s1"))
    clock.advance(timedelta(hours=10))
    other_journey = queue(session, clock, workspace, dee, "email", "e2", journey="browse")
    capped = decide(session, clock, settings, other_journey)
    clock.advance(timedelta(hours=7))
    later = decide(session, clock, settings, queue(session, clock, workspace, dee, "email", "e3"))
    clock.advance(timedelta(hours=6))  # T0 + 23 h
    sms_capped = decide(
        session, clock, settings, queue(session, clock, workspace, dee, "sms", "s2")
    )
    clock.advance(timedelta(hours=1))  # T0 + 24 h: 10:00 in New York
    sms_free = decide(session, clock, settings, queue(session, clock, workspace, dee, "sms", "s3"))

    assert [first.status, sms_first.status] == [MessageStatus.SENDING, MessageStatus.SENDING]
    assert (capped.status, capped.reason) == (MessageStatus.SKIPPED, "frequency_cap")
    assert capped.reason_detail == f"{first.id} went out at {T0.isoformat()}, within 16 h"
    assert later.status is MessageStatus.SENDING
    assert (sms_capped.status, sms_capped.reason) == (MessageStatus.SKIPPED, "frequency_cap")
    assert sms_free.status is MessageStatus.SENDING


@pytest.mark.parametrize(
    ("phone", "traits", "now", "held_until"),
    [
        # 15:00 UTC is 07:00 in San Francisco (area code 415): held to 08:00 PST.
        ("+14155550133", {}, T0, T0 + timedelta(hours=1)),
        # 02:00 UTC is 21:00 in New York: held to 08:00 EST, 13:00 UTC.
        ("+12125550133", {}, T0 + timedelta(hours=11), T0 + timedelta(hours=22)),
        # The profile's zone wins over the phone's: Tokyo at 15:00 UTC is midnight.
        ("+14155550133", {"timezone": "Asia/Tokyo"}, T0, T0 + timedelta(hours=8)),
        # 15:00 UTC is 10:00 in New York: no hold.
        ("+12125550133", {}, T0, None),
    ],
)
def test_marketing_sms_waits_for_eight_in_the_morning_in_the_recipients_zone(
    session: Session, settings: Settings, clock: ManualClock, workspace: str,
    phone: str, traits: dict[str, str], now: object, held_until: object,
) -> None:  # fmt: skip
    """Outside 08:00-20:00 where the person is, a marketing SMS is held until the next allowed
    time (``held``, ``next_attempt_at``), from the profile's zone or the phone's area code."""
    eve = person(session, workspace, "u-eve", phone=phone, first_name="Eve", **traits)
    consent(session, workspace, eve, "sms")
    clock.now = now  # type: ignore[assignment]

    row = decide(session, clock, settings, queue(session, clock, workspace, eve, "sms", "q"))

    if held_until is None:
        assert (row.status, row.next_attempt_at) == (MessageStatus.SENDING, None)
    else:
        assert (row.status, row.reason, row.next_attempt_at) == (
            MessageStatus.HELD, "quiet_hours", held_until,
        )  # fmt: skip


def test_a_held_sms_is_sent_when_its_time_comes_and_not_before(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: ManualClock,
    workspace: str,
    sms: SmsState,
) -> None:
    """The worker holds it at 07:00 local, finds nothing due a minute before 08:00, and sends
    it at 08:00."""
    fay = person(session, workspace, "u-fay", phone="+14155550144", first_name="Fay")
    consent(session, workspace, fay, "sms")
    row = queue(session, clock, workspace, fay, "sms", "held-1")

    run_jobs(session_factory, clock, settings)
    clock.advance(timedelta(minutes=59))
    run_jobs(session_factory, clock, settings)
    sent_before = list(sms.sent)
    clock.advance(timedelta(minutes=1))
    run_jobs(session_factory, clock, settings)

    session.refresh(row)
    assert sent_before == []
    assert [s.body for s in sms.to("+14155550144")] == [
        "Fay, your cart is waiting.\nReply HELP for help and STOP to cancel."
    ]
    assert (row.status, row.sending_at, row.held_at) == (
        MessageStatus.SENT, T0 + timedelta(hours=1), T0,
    )  # fmt: skip


def test_an_unknown_zone_fails_closed_holding_then_skipping_a_day_later(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: ManualClock,
    workspace: str,
    sms: SmsState,
) -> None:
    """No zone from the profile, the phone (a number the library cannot place) or an address,
    and none for the workspace: marketing SMS is held an hour at a time and skipped after a
    day, never sent."""
    gus = person(session, workspace, "u-gus", phone="+447700900123")
    consent(session, workspace, gus, "sms")
    row = queue(session, clock, workspace, gus, "sms", "unknown-zone")

    run_jobs(session_factory, clock, settings)
    session.refresh(row)
    first = (row.status, row.reason, row.next_attempt_at)
    for _hour in range(24):
        clock.advance(timedelta(hours=1))
        run_jobs(session_factory, clock, settings)

    session.refresh(row)
    assert first == (MessageStatus.HELD, "timezone_unknown", T0 + timedelta(hours=1))
    assert (row.status, row.reason) == (MessageStatus.SKIPPED, "timezone_unknown")
    assert sms.sent == []


def test_the_workspace_default_zone_is_the_last_resort(
    session: Session, settings: Settings, clock: ManualClock, workspace: str
) -> None:
    """With a default zone set, the same unknown number is judged in that zone."""
    configure(session, workspace, settings, default_timezone="Europe/London")
    hal = person(session, workspace, "u-hal", phone="+447700900124")
    consent(session, workspace, hal, "sms")

    row = decide(session, clock, settings, queue(session, clock, workspace, hal, "sms", "dz"))

    assert row.status is MessageStatus.SENDING  # 15:00 in London


def test_quiet_hours_do_not_hold_transactional_sms_or_email(
    session: Session, settings: Settings, clock: ManualClock, workspace: str
) -> None:
    """A shipping notice at 07:00 local goes; so does marketing email."""
    ivy = person(session, workspace, "u-ivy", email="ivy@example.com", phone="+14155550155")
    consent(session, workspace, ivy, "email")

    shipping = queue(session, clock, workspace, ivy, "sms", "n", purpose="transactional")
    notice = decide(session, clock, settings, shipping)
    email = decide(session, clock, settings, queue(session, clock, workspace, ivy, "email", "e"))

    assert [notice.status, email.status] == [MessageStatus.SENDING, MessageStatus.SENDING]


@pytest.fixture
def exit_check() -> Iterator[list[str]]:
    """A pre-send check as the journey runtime registers one; removed after the test."""
    exited: list[str] = []

    def still_inside(_session: Session, row: Message) -> str | None:
        return "journey_exited" if row.idempotency_key in exited else None

    policy.PRE_SEND_CHECKS.append(still_inside)
    yield exited
    policy.PRE_SEND_CHECKS.remove(still_inside)


def test_a_registered_pre_send_check_skips_with_its_reason(
    session: Session, settings: Settings, clock: ManualClock, workspace: str,
    exit_check: list[str],
) -> None:  # fmt: skip
    """The check runs in the send job: the message whose journey the person left is skipped
    with the check's reason; the other goes."""
    jo = person(session, workspace, "u-jo", email="jo@example.com")
    consent(session, workspace, jo, "email")
    exit_check.append("left")

    left = decide(session, clock, settings, queue(session, clock, workspace, jo, "email", "left"))
    receipt = queue(session, clock, workspace, jo, "email", "stayed", purpose="transactional")
    stayed = decide(session, clock, settings, receipt)

    assert (left.status, left.reason) == (MessageStatus.SKIPPED, "journey_exited")
    assert stayed.status is MessageStatus.SENDING


def test_an_erased_person_is_skipped(
    session: Session, settings: Settings, clock: ManualClock, workspace: str
) -> None:
    """Erased between queue and send: ``profile_not_found``, nothing rendered or sent."""
    kim = person(session, workspace, "u-kim", email="kim@example.com")
    row = queue(session, clock, workspace, kim, "email", "erased", purpose="transactional")
    PrivacyService(session).erase(workspace, kim.profile_id, actor="test")

    decide(session, clock, settings, row)

    assert (row.status, row.reason, row.body) == (
        MessageStatus.SKIPPED, "profile_not_found", None,
    )  # fmt: skip


def test_erasure_keeps_the_outbox_rows_as_counts_without_the_person(
    session: Session, settings: Settings, clock: ManualClock, workspace: str
) -> None:
    """A message decided (address and body fixed, on its way to the provider) when its
    person is erased: the row stays, skipped "erased", holding no address, subject or body,
    and nobody's profile id."""
    ivy = person(session, workspace, "u-ivy", email="ivy@example.com", first_name="Ivy")
    row = decide(
        session, clock, settings,
        queue(session, clock, workspace, ivy, "email", "ivy", purpose="transactional"),
    )  # fmt: skip
    decided = (row.status, row.to_address)

    erasure = PrivacyService(session).erase(workspace, ivy.profile_id, actor="test")
    session.commit()
    session.expire_all()
    kept = session.get(Message, row.id)

    assert decided == (MessageStatus.SENDING, "ivy@example.com")
    assert kept is not None and erasure.counts["messages"] == 1
    assert (kept.status, kept.reason) == (MessageStatus.SKIPPED, "erased")
    assert (kept.to_address, kept.subject, kept.body, kept.body_text) == (None,) * 4
    assert kept.profile_id.startswith("erased:") and kept.context == {}


def test_two_marketing_messages_decided_at_once_send_one(
    postgres_url: str, smtp: object, sms_server: tuple[str, SmsState]
) -> None:
    """Two workers decide a person's two marketing emails at the same moment: the person's
    rows are locked before the cap is read, so one goes and the other is capped."""
    from tests.message.world import message_settings

    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    settings = message_settings(postgres_url, 25, sms_server[0])
    clock = ManualClock(T0)
    with session_scope(factory) as session:
        workspace = make_workspace(session, "race")
        template(session, workspace, "cart")
        configure(session, workspace, settings)
        lu = person(session, workspace, "u-lu", email="lu@example.com")
        consent(session, workspace, lu, "email")
        ids = [
            MessageService(session, clock)
            .queue(workspace, lu.profile_id, "email", "cart", idempotency_key=f"race-{n}")
            .id
            for n in range(2)
        ]
    start = threading.Barrier(2)

    def decide_one(message_id: str) -> None:
        with session_scope(factory) as session:
            start.wait()
            SendingService(session, clock, settings).decide(message_id)

    threads = [threading.Thread(target=decide_one, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with session_scope(factory) as session:
        outcomes = sorted((m.status.value, m.reason) for m in session.scalars(
            select(Message).where(Message.id.in_(ids))
        ))  # fmt: skip
    engine.dispose()

    assert outcomes == [("sending", None), ("skipped", "frequency_cap")]
