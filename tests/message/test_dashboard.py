"""The dashboard's outbox and templates: every sent email readable in a sandboxed frame, every
SMS as text, skips with their reason; templates saved through the form (refused naming the
field and line) and previewed for a chosen person."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.config import Settings
from tessera.kit.time import ManualClock
from tessera.message.sending import SendingService
from tessera.message.service import MessageService
from tessera.models.workspace import Role
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from, sign_in
from tests.message.world import T0, configure, person, template
from tests.support.factories import PASSWORD, Tenant, make_tenant
from tests.support.smtp_server import Mailbox


@pytest.fixture
def tenant(session: Session, settings: Settings) -> Tenant:
    tenant = make_tenant(session, "acme")
    configure(session, tenant.workspace_id, settings)
    session.commit()
    return tenant


@pytest.fixture
def owner(client: TestClient, tenant: Tenant) -> TestClient:
    assert sign_in(client, tenant.owner_email).status_code == 303
    return client


def test_the_outbox_shows_each_message_as_sent_and_why_others_were_not(
    owner: TestClient, session: Session, settings: Settings, tenant: Tenant, mailbox: Mailbox
) -> None:
    """A sent receipt is listed and opens with its HTML in a frame with an empty ``sandbox``
    (no scripts, no same origin); a skipped marketing SMS shows ``no_consent``."""
    workspace = tenant.workspace_id
    template(session, workspace, "receipt",
             body='<p>Thanks {{ profile.first_name }}</p><script>alert(1)</script>')  # fmt: skip
    template(session, workspace, "promo", channel="sms", body="Sale today")
    pia = person(session, workspace, "u-pia", email="pia@example.com", phone="+12125550190",
                 first_name="Pia")  # fmt: skip
    clock = ManualClock(T0)
    service, sending = MessageService(session, clock), SendingService(session, clock, settings)
    receipt = service.queue(workspace, pia.profile_id, "email", "receipt", idempotency_key="r1",
                            purpose="transactional")  # fmt: skip
    promo = service.queue(workspace, pia.profile_id, "sms", "promo", idempotency_key="p1")
    for row in (receipt, promo):
        sending.decide(row.id)
    sending.deliver(receipt.id, retried=False)
    session.commit()

    listed = owner.get("/messages")
    shown = owner.get(f"/messages/{receipt.id}")
    skipped = owner.get(f"/messages/{promo.id}")
    filtered = owner.get("/messages?status=skipped")

    assert listed.status_code == 200
    assert receipt.id in listed.text and promo.id in listed.text
    frame = re.search(r'<iframe class="message-frame" id="email-body"[^>]*>', shown.text)
    assert frame is not None and ' sandbox="" ' in frame.group(0)
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', frame.group(0)).group(1))  # type: ignore[union-attr]
    assert srcdoc == receipt.body and "<script>alert(1)</script>" in srcdoc
    assert "<script>alert(1)</script>" not in shown.text  # only inside the escaped srcdoc
    assert "no_consent" in skipped.text and "Nothing was rendered" in skipped.text
    assert promo.id in filtered.text and receipt.id not in filtered.text


def test_a_template_saved_in_the_form_is_refused_with_its_line_then_previewed(
    owner: TestClient, session: Session, tenant: Tenant
) -> None:
    """A broken body comes back with the field and line and nothing saved; the fixed one is
    saved and previewed for the chosen person, with the SMS segment count."""
    quinn = person(session, tenant.workspace_id, "u-q", phone="+12125550191", first_name="Quinn")
    session.commit()
    page = owner.get("/templates/new")
    form = {"csrf_token": csrf_from(page), "name": "nudge", "channel": "sms", "format": "text",
            "body": "Hi {{ profile.first_name }},\n{{ cart.totl }}"}  # fmt: skip

    refused = owner.post("/templates", data=form)
    saved = owner.post("/templates", data={**form, "body": "Hi {{ profile.first_name }}!"},
                       follow_redirects=False)  # fmt: skip
    preview = owner.get(f"{saved.headers['location']}?profile={quinn.profile_id}")

    assert refused.status_code == 422
    assert "body line 2: cart.totl is undefined" in refused.text
    assert saved.status_code == 303
    assert '<pre class="sms-text" id="preview-sms">Hi Quinn!\nReply HELP' in preview.text
    assert "· gsm7 · 1 segment" in preview.text


def test_a_viewer_reads_templates_but_cannot_save_one(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """The form is disabled for a viewer, and a POST anyway is refused (403)."""
    WorkspaceService(session).add_user(
        tenant.workspace_id, "viewer@acme.example", Role.VIEWER, password=PASSWORD
    )
    template(session, tenant.workspace_id, "welcome")
    session.commit()
    assert sign_in(client, "viewer@acme.example").status_code == 303

    listed = client.get("/templates")
    token = csrf_from(client.get("/messages"))
    form = {"csrf_token": token, "name": "x", "body": "<p>x</p>", "subject": "x"}
    refused = client.post("/templates", data=form)

    assert listed.status_code == 200 and "welcome" in listed.text
    assert refused.status_code == 403
