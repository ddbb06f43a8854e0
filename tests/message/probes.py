"""Isolation probes of the message routes: workspace A's key against B's templates, messages,
settings, SMS webhooks and people's recommendations (``tests/http/test_isolation.py`` runs them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.message.service import MessageService
from tests.message.world import person, template
from tests.support.factories import Tenant
from tests.support.isolation import Probe


def message_probes(session: Session, b: Tenant) -> list[Probe]:
    bea = person(session, b.workspace_id, "u-bea", email="bea@bravo.example", first_name="Bea")
    tpl = template(session, b.workspace_id, "bravo-receipt")
    message = MessageService(session).queue(
        b.workspace_id, bea.profile_id, "email", "bravo-receipt",
        idempotency_key="bravo-1", purpose="transactional",
    )  # fmt: skip
    sms_hooks = f"/v1/messages/sms/{b.workspace_id}"
    return [
        Probe("/v1/templates", "GET", "/v1/templates", "only_own"),
        Probe("/v1/templates", "POST", "/v1/templates", "only_own",
              json={"name": "bravo-receipt", "channel": "sms", "body": "Hi"}),
        Probe("/v1/templates/{template_id}", "GET", f"/v1/templates/{tpl.id}", "not_found"),
        Probe("/v1/templates/{template_id}", "PATCH", f"/v1/templates/{tpl.id}", "not_found",
              json={"body": "<p>changed</p>"}),
        Probe("/v1/templates/{template_id}/preview", "POST",
              f"/v1/templates/{tpl.id}/preview", "not_found", json={"profile_id": bea.profile_id}),
        Probe("/v1/messages", "GET", "/v1/messages", "only_own"),
        Probe("/v1/messages", "POST", "/v1/messages", "not_found",
              json={"profile_id": bea.profile_id, "channel": "email", "template": tpl.id,
                    "idempotency_key": "a-tries"}),
        Probe("/v1/messages/{message_id}", "GET", f"/v1/messages/{message.id}", "not_found"),
        Probe("/v1/messages/{message_id}/events", "POST", f"/v1/messages/{message.id}/events",
              "not_found", json={"type": "complaint"}),
        Probe("/v1/message-settings", "GET", "/v1/message-settings", "only_own"),
        Probe("/v1/message-settings", "PATCH", "/v1/message-settings", "only_own",
              json={"brand_name": "Not Bravo"}),
        Probe("/v1/messages/sms/{workspace_id}/status", "POST", f"{sms_hooks}/status",
              "only_own"),
        Probe("/v1/messages/sms/{workspace_id}/inbound", "POST", f"{sms_hooks}/inbound",
              "only_own"),
        Probe("/v1/profiles/{profile_id}/recommendations", "GET",
              f"/v1/profiles/{bea.profile_id}/recommendations", "not_found"),
    ]  # fmt: skip
