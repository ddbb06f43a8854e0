"""Compliance through the real endpoints: the signed inbound SMS webhook (STOP while a message
is queued, START, HELP, the double opt-in's Y), RFC 8058 one-click unsubscribe and the
preference page, provider status callbacks, bounce and complaint reports, tracked clicks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.customer.profiles import ProfileService
from tessera.integrations.sms.signature import sign
from tessera.kit.time import ManualClock
from tessera.message.sending import SendingService
from tessera.message.service import MessageService
from tessera.models.collect import Event
from tessera.models.identity import ConsentStatus
from tessera.models.message import Message, MessageStatus
from tests.message.world import T0, Person, configure, consent, person, run_jobs, template
from tests.support.factories import Tenant, make_tenant
from tests.support.fake_sms import AUTH_TOKEN, SmsState
from tests.support.smtp_server import Mailbox

PHONE = "+14155550177"  # San Francisco: 07:00 at T0, so marketing SMS is held


@pytest.fixture
def tenant(session: Session, settings: Settings) -> Tenant:
    tenant = make_tenant(session, "acme")
    template(session, tenant.workspace_id, "promo")
    template(session, tenant.workspace_id, "promo-sms", channel="sms", body="20% off today")
    configure(session, tenant.workspace_id, settings, brand_name="Acme",
              help_text="Help at help@acme.test or +1 415 555 0100.")  # fmt: skip
    session.commit()
    return tenant


@pytest.fixture
def nia(session: Session, tenant: Tenant) -> Person:
    who = person(session, tenant.workspace_id, "u-nia", email="nia@example.com", phone=PHONE,
                 first_name="Nia")  # fmt: skip
    consent(session, tenant.workspace_id, who, "sms")
    consent(session, tenant.workspace_id, who, "email")
    session.commit()
    return who


def queue(
    session: Session,
    clock: ManualClock,
    tenant: Tenant,
    who: Person,
    channel: str,
    key: str,
    purpose: str = "marketing",
    template_name: str | None = None,
) -> Message:
    name = template_name or ("promo" if channel == "email" else "promo-sms")
    cart = {"cart": {"url": "https://shop.example/cart/recover/abc"}}
    row = MessageService(session, clock).queue(
        tenant.workspace_id, who.profile_id, channel, name, idempotency_key=key, purpose=purpose,
        context=cart if channel == "email" else None,
    )  # fmt: skip
    session.commit()
    return row


def text_in(client: TestClient, tenant: Tenant, body: str, *, signed: bool = True,
            sender: str = PHONE) -> Any:  # fmt: skip
    path = f"/v1/messages/sms/{tenant.workspace_id}/inbound"
    form = {"MessageSid": "SMinbound1", "From": sender, "To": "+14155550199", "Body": body,
            "AccountSid": "AC1"}  # fmt: skip
    signature = sign(AUTH_TOKEN, f"https://tessera.test{path}", form.items()) if signed else "x"
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def sms_consent(session: Session, tenant: Tenant, who: Person) -> list[tuple[str, str]]:
    person_ = ProfileService(session).person(tenant.workspace_id, who.profile_id)
    current = ProfileService(session).current_consents(tenant.workspace_id, person_.identifiers)
    return [(c.status.value, c.source) for c in current if c.channel == "sms"]


def test_stop_skips_what_is_queued_at_once_and_suppresses_the_number(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock,
    session_factory: sessionmaker[Session], tenant: Tenant, nia: Person, sms: SmsState,
) -> None:  # fmt: skip
    """A marketing SMS held by quiet hours and a queued receipt are skipped the moment STOP
    arrives; consent is withdrawn with the reply as evidence; the reply confirms; nothing is
    sent when the hold ends, and a later receipt is skipped too."""
    held = queue(session, clock, tenant, nia, "sms", "held")
    run_jobs(session_factory, clock, settings)
    receipt = queue(session, clock, tenant, nia, "sms", "receipt", purpose="transactional",
                    template_name="promo-sms")  # fmt: skip

    answer = text_in(client, tenant, "Stop")

    session.expire_all()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    assert "Acme: you are unsubscribed" in answer.text and "Reply START" in answer.text
    assert [(r.status, r.reason) for r in (session.get(Message, held.id),
                                           session.get(Message, receipt.id))] == [
        (MessageStatus.SKIPPED, "opted_out"), (MessageStatus.SKIPPED, "opted_out"),
    ]  # type: ignore[union-attr]  # fmt: skip
    assert sms_consent(session, tenant, nia) == [("withdrawn", "sms reply")]
    clock.advance(timedelta(hours=2))
    run_jobs(session_factory, clock, settings)
    later = queue(session, clock, tenant, nia, "sms", "later", purpose="transactional",
                  template_name="promo-sms")  # fmt: skip
    SendingService(session, clock, settings).decide(later.id)
    assert (later.status, later.reason) == (MessageStatus.SKIPPED, "suppressed")
    assert sms.sent == []


def test_start_opts_in_again_and_lifts_the_stop(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock,
    tenant: Tenant, nia: Person,
) -> None:  # fmt: skip
    """After STOP then START, a marketing SMS at 10:00 local goes again."""
    text_in(client, tenant, "STOP")
    answer = text_in(client, tenant, "unstop")
    clock.advance(timedelta(hours=3))
    row = queue(session, clock, tenant, nia, "sms", "after-start")
    SendingService(session, clock, settings).decide(row.id)

    assert "subscribed again" in answer.text
    assert sms_consent(session, tenant, nia) == [("granted", "sms reply")]
    assert row.status is MessageStatus.SENDING


def test_help_answers_with_brand_and_contact_and_other_texts_get_no_reply(
    client: TestClient, tenant: Tenant, nia: Person
) -> None:
    """HELP: brand and contact. A question is not a keyword: an empty TwiML answer."""
    help_answer = text_in(client, tenant, "HELP")
    question = text_in(client, tenant, "when does my order ship?")

    assert help_answer.text == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Acme: Help at help@acme.test'
        " or +1 415 555 0100. Reply STOP to cancel.</Message></Response>"
    )
    assert question.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def test_y_confirms_a_pending_double_opt_in_and_means_nothing_otherwise(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock,
    tenant: Tenant, sms: SmsState,
) -> None:  # fmt: skip
    """ "Y" from a number with no pending confirmation changes nothing; after the "Reply Y"
    text was sent, "Y" grants SMS consent with that message as evidence."""
    ola = person(session, tenant.workspace_id, "u-ola", phone="+12125550188")
    early = text_in(client, tenant, "Y", sender="+12125550188")
    confirm = MessageService(session, clock).queue(
        tenant.workspace_id, ola.profile_id, "sms", "promo-sms", idempotency_key="doi",
        purpose="transactional", origin={"kind": "double_opt_in"},
    )  # fmt: skip
    sending = SendingService(session, clock, settings)
    sending.decide(confirm.id)
    sending.deliver(confirm.id, retried=False)
    session.commit()

    answer = text_in(client, tenant, "y", sender="+12125550188")

    person_ = ProfileService(session).person(tenant.workspace_id, ola.profile_id)
    current = ProfileService(session).current_consents(tenant.workspace_id, person_.identifiers)
    assert "<Message>" not in early.text
    assert "thanks, you are subscribed" in answer.text
    assert [(c.status, c.evidence.get("confirms_double_opt_in")) for c in current] == [
        (ConsentStatus.GRANTED, confirm.id)
    ]


def test_an_unsigned_or_altered_webhook_is_refused_and_changes_nothing(
    client: TestClient, session: Session, tenant: Tenant, nia: Person
) -> None:
    """A forged STOP (bad signature) is 403 problem+json; consent stays granted."""
    forged = text_in(client, tenant, "STOP", signed=False)
    unknown = client.post("/v1/messages/sms/ws_nope/inbound", data={"Body": "STOP"})

    assert (forged.status_code, forged.headers["content-type"]) == (403, "application/problem+json")
    assert unknown.status_code == 403
    assert sms_consent(session, tenant, nia) == [("granted", "https://shop.test/signup")]


def sent_marketing_email(
    session: Session, settings: Settings, clock: ManualClock, tenant: Tenant, who: Person
) -> Message:
    row = queue(session, clock, tenant, who, "email", "promo-1")
    sending = SendingService(session, clock, settings)
    sending.decide(row.id)
    sending.deliver(row.id, retried=False)
    session.commit()
    return row


def test_a_marketing_email_carries_rfc_8058_headers_and_one_click_unsubscribes(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock,
    tenant: Tenant, nia: Person, mailbox: Mailbox,
) -> None:  # fmt: skip
    """List-Unsubscribe names the HTTPS link and a mailto; a POST of
    ``List-Unsubscribe=One-Click`` to it (form-encoded or multipart) withdraws email consent
    (twice changes nothing more) and skips queued marketing email."""
    row = sent_marketing_email(session, settings, clock, tenant, nia)
    arrived = mailbox.to("nia@example.com")[0].message
    link = arrived["List-Unsubscribe"].split(",")[0].strip("<> ")
    waiting = queue(session, clock, tenant, nia, "email", "waiting")

    first = client.post(urlsplit(link).path, content=b"List-Unsubscribe=One-Click",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    # Gmail posts it as multipart/form-data.
    again = client.post(urlsplit(link).path, files={"List-Unsubscribe": (None, "One-Click")})

    session.expire_all()
    assert link.startswith("https://tessera.test/u/")
    assert arrived["List-Unsubscribe"].endswith(
        f"<mailto:unsubscribe@acme.test?subject=unsubscribe%20{row.id}>"
    )
    assert arrived["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (first.status_code, first.text) == (200, "Unsubscribed.\n")
    assert (again.status_code, again.text) == (200, "Unsubscribed.\n")
    person_ = ProfileService(session).person(tenant.workspace_id, nia.profile_id)
    history = ProfileService(session).consent_history(tenant.workspace_id, person_.identifiers)
    assert [(c.channel, c.status.value) for c in history] == [
        ("email", "withdrawn"), ("email", "granted"), ("sms", "granted"),
    ]  # fmt: skip
    skipped = session.get(Message, waiting.id)
    assert skipped is not None and (skipped.status, skipped.reason) == (
        MessageStatus.SKIPPED, "opted_out",
    )  # fmt: skip


def test_the_preference_page_shows_the_state_and_subscribes_again(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock,
    tenant: Tenant, nia: Person, mailbox: Mailbox,
) -> None:  # fmt: skip
    """GET shows the masked address and never unsubscribes (scanners follow links); the form
    unsubscribes and subscribes again; a forged token is a 404 page."""
    sent_marketing_email(session, settings, clock, tenant, nia)
    path = urlsplit(mailbox.to("nia@example.com")[0].message["List-Unsubscribe"]
                    .split(",")[0].strip("<> ")).path  # fmt: skip

    shown = client.get(path)
    out = client.post(path, data={"action": "unsubscribe"})
    back = client.post(path, data={"action": "subscribe"})
    forged = client.get(path[:-3] + "xyz")

    assert shown.status_code == 200
    assert "n***@example.com" in shown.text and "nia@example.com" not in shown.text
    assert '<strong id="subscription-state">subscribed</strong>' in shown.text
    assert '<strong id="subscription-state">unsubscribed</strong>' in out.text
    assert '<strong id="subscription-state">subscribed</strong>' in back.text
    assert forged.status_code == 404 and "not valid" in forged.text


def test_a_tracked_click_redirects_counts_and_lands_on_the_timeline(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock,
    tenant: Tenant, nia: Person, mailbox: Mailbox,
) -> None:  # fmt: skip
    """The email's links point at /c/TOKEN; following one redirects to the original, counts,
    and stores "Email Link Clicked"; a token with a changed index is refused."""
    row = sent_marketing_email(session, settings, clock, tenant, nia)
    html = mailbox.to("nia@example.com")[0].part("html")
    tracked = html.split('href="')[1].split('"')[0]

    answer = client.get(urlsplit(tracked).path, follow_redirects=False)
    forged = client.get(urlsplit(tracked).path[:-2] + "AA", follow_redirects=False)

    session.refresh(row)
    clicks = session.scalars(select(Event).where(Event.event == "Email Link Clicked")).all()
    assert tracked.startswith("https://tessera.test/c/")
    assert (answer.status_code, answer.headers["location"]) == (
        302, "https://shop.example/cart/recover/abc",
    )  # fmt: skip
    assert forged.status_code == 404
    assert (row.click_count, row.first_clicked_at) == (1, T0)
    assert [(e.channel, e.payload["properties"]["url"]) for e in clicks] == [
        ("email", "https://shop.example/cart/recover/abc")
    ]
    timeline = client.get(f"/v1/profiles/{nia.profile_id}/timeline", headers=tenant.auth)
    assert [(i["channel"], i["title"]) for i in timeline.json()["items"]][:2] == [
        ("email", "Email Link Clicked"), ("email", "Email Sent"),
    ]  # fmt: skip


def test_status_callbacks_record_delivery_and_settle_a_row_left_sending(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock,
    tenant: Tenant, nia: Person, sms: SmsState,
) -> None:  # fmt: skip
    """ "delivered" marks the row and stores "SMS Delivered"; a callback for a row still
    ``sending`` (its worker died before recording) records it sent with the provider's id."""
    row = queue(session, clock, tenant, nia, "sms", "receipt", purpose="transactional")
    sending = SendingService(session, clock, settings)
    sending.decide(row.id)
    lost = session.begin_nested()
    sending.deliver(row.id, retried=False)
    lost.rollback()
    session.commit()
    url, form, signature = sms.callback(sms.sent[0].sid, "delivered")

    answer = client.post(urlsplit(url).path + "?" + urlsplit(url).query, data=form,
                         headers={"X-Twilio-Signature": signature})  # fmt: skip

    session.expire_all()
    settled = session.get(Message, row.id)
    assert answer.status_code == 204
    assert settled is not None
    assert (settled.status, settled.provider_id) == (MessageStatus.DELIVERED, sms.sent[0].sid)
    assert session.scalars(select(Event.event).where(Event.event == "SMS Delivered")).all() == [
        "SMS Delivered"
    ]


def test_a_reported_hard_bounce_or_complaint_suppresses_the_address(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock,
    tenant: Tenant, nia: Person, mailbox: Mailbox,
) -> None:  # fmt: skip
    """A complaint reported through the API marks the row and suppresses the address: the next
    receipt to it is skipped. A report for an SMS or an unknown id is 404."""
    row = sent_marketing_email(session, settings, clock, tenant, nia)
    reported = client.post(f"/v1/messages/{row.id}/events", json={"type": "complaint"},
                           headers=tenant.auth)  # fmt: skip
    unknown = client.post("/v1/messages/msg_nope/events", json={"type": "hard_bounce"},
                          headers=tenant.auth)  # fmt: skip
    receipt = queue(session, clock, tenant, nia, "email", "receipt", purpose="transactional")

    SendingService(session, clock, settings).decide(receipt.id)

    assert (reported.status_code, reported.json()["status"]) == (200, "complained")
    assert unknown.status_code == 404
    assert (receipt.status, receipt.reason) == (MessageStatus.SKIPPED, "suppressed")
