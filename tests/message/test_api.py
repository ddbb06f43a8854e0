"""The outbox and settings API: a transactional send queued once per key, sent by the worker
and read back; odd input refused naming the field; settings whose token is sealed and whose
quiet hours and zone are checked."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.kit.secrets import is_sealed
from tessera.kit.time import ManualClock
from tessera.models.message import MessageSetting
from tests.message.world import Person, configure, person, run_jobs, template
from tests.support.factories import Tenant, make_tenant
from tests.support.smtp_server import Mailbox


@pytest.fixture
def tenant(session: Session, settings: Settings) -> Tenant:
    tenant = make_tenant(session, "acme")
    template(session, tenant.workspace_id, "receipt",
             body="<p>Order {{ order.number }} is confirmed, {{ profile.first_name }}.</p>",
             subject="Order {{ order.number }}")  # fmt: skip
    configure(session, tenant.workspace_id, settings)
    session.commit()
    return tenant


@pytest.fixture
def rae(session: Session, tenant: Tenant) -> Person:
    who = person(session, tenant.workspace_id, "u-rae", email="rae@example.com", first_name="Rae")
    session.commit()
    return who


def send(client: TestClient, tenant: Tenant, **fields: Any) -> Any:
    return client.post("/v1/messages", json=fields, headers=tenant.auth)


def test_a_transactional_send_is_queued_once_sent_and_read_back(
    client: TestClient, session_factory: sessionmaker[Session], settings: Settings,
    clock: ManualClock, tenant: Tenant, rae: Person, mailbox: Mailbox,
) -> None:  # fmt: skip
    """POST twice with one key: one message (202 both times, the same id); the worker sends
    it; GET shows it sent with its rendered subject; the list filters by status."""
    body = {"profile_id": rae.profile_id, "channel": "email", "template": "receipt",
            "idempotency_key": "order-77", "context": {"order": {"number": "#77"}}}  # fmt: skip

    first = send(client, tenant, **body)
    again = send(client, tenant, **body)
    run_jobs(session_factory, clock, settings)
    shown = client.get(f"/v1/messages/{first.json()['id']}", headers=tenant.auth).json()
    sent = client.get("/v1/messages?status=sent", headers=tenant.auth).json()["items"]
    queued = client.get("/v1/messages?status=queued", headers=tenant.auth).json()["items"]

    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["origin"] == {"kind": "api", "actor": tenant.admin_key_id}
    assert (shown["status"], shown["subject"], shown["purpose"]) == ("sent", "Order #77",
                                                                      "transactional")  # fmt: skip
    assert [m["id"] for m in sent] == [shown["id"]] and queued == []
    assert [a.message["Subject"] for a in mailbox.to("rae@example.com")] == ["Order #77"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"context": {"coupon": {"code": "X"}}}, 422, "context.coupon"),
        ({"channel": "sms"}, 422, "template"),
        ({"template": "nope"}, 404, None),
        ({"profile_id": "cus_nope"}, 404, None),
        ({"channel": "fax"}, 422, "body.channel"),
        ({"not_before": "2025-03-04T15:00:00"}, 422, "body.not_before"),
        ({"idempotency_key": "x" * 256}, 422, "body.idempotency_key"),
        ({"purpose": "spam"}, 422, "body.purpose"),
    ],
)
def test_odd_sends_are_refused_naming_the_field(
    client: TestClient, session: Session, tenant: Tenant, rae: Person,
    change: dict[str, Any], status: int, field: str | None,
) -> None:  # fmt: skip
    """problem+json with the field at fault; nothing queued."""
    body = {"profile_id": rae.profile_id, "channel": "email", "template": "receipt",
            "idempotency_key": "k", **change}  # fmt: skip

    answer = send(client, tenant, **body)

    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    if field and answer.json().get("field"):
        assert answer.json()["field"] == field
    elif field:
        assert field in [e["field"] for e in answer.json()["errors"]]
    assert client.get("/v1/messages", headers=tenant.auth).json()["items"] == []


def test_a_key_reused_for_another_person_is_a_conflict(
    client: TestClient, session: Session, tenant: Tenant, rae: Person
) -> None:
    """The same key for someone else is a caller's bug: 409, not a silent second message."""
    sam = person(session, tenant.workspace_id, "u-sam", email="sam@example.com")
    session.commit()
    base = {"channel": "email", "template": "receipt", "idempotency_key": "shared"}

    send(client, tenant, profile_id=rae.profile_id, **base)
    clash = send(client, tenant, profile_id=sam.profile_id, **base)

    assert (clash.status_code, clash.json()["field"]) == (409, "idempotency_key")


def test_settings_seal_the_token_and_check_hours_and_zone(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """The auth token is stored sealed and never returned; quiet hours must be HH:MM with the
    start first; the zone must exist; "" clears it."""
    saved = client.patch("/v1/message-settings", headers=tenant.auth, json={
        "sms_auth_token": "brand-own-token", "sms_account_sid": "AC9", "quiet_start": "09:00",
        "default_timezone": "America/Chicago", "email_cap_hours": 0,
    })  # fmt: skip
    backwards = client.patch("/v1/message-settings", headers=tenant.auth,
                             json={"quiet_start": "21:00"})  # fmt: skip
    garbled = client.patch("/v1/message-settings", headers=tenant.auth,
                           json={"quiet_end": "8pm"})  # fmt: skip
    nowhere = client.patch("/v1/message-settings", headers=tenant.auth,
                           json={"default_timezone": "Mars/Olympus"})  # fmt: skip
    cleared = client.patch("/v1/message-settings", headers=tenant.auth,
                           json={"default_timezone": ""})  # fmt: skip
    row = session.scalar(select(MessageSetting).where(
        MessageSetting.workspace_id == tenant.workspace_id))  # fmt: skip

    assert saved.status_code == 200
    assert "brand-own-token" not in saved.text
    assert saved.json()["has_own_sms_auth_token"] is True
    assert (saved.json()["quiet_start"], saved.json()["email_cap_hours"]) == ("09:00", 0)
    assert [(a.status_code, a.json()["field"]) for a in (backwards, garbled, nowhere)] == [
        (422, "quiet_start"), (422, "quiet_end"), (422, "default_timezone"),
    ]  # fmt: skip
    assert cleared.json()["default_timezone"] is None
    assert row is not None and is_sealed(row.credentials)
