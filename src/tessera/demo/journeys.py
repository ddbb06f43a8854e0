"""The demo's journeys: the abandoned cart every brand starts with, published, so the
Journeys page shows people entering it from the demo's checkouts on any channel, with the
templates it sends and the workspace's senders, so its messages go through the outbox to the
configured SMTP server and SMS provider."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tessera.journey.service import JourneyService
from tessera.message.configuration import MessageSettings, SettingsChange
from tessera.message.templates import TemplateDraft, TemplateService

ABANDONED_CART: dict[str, Any] = {
    "name": "Abandoned cart",
    "entry": {"kind": "event", "event": "Checkout Started", "key": "properties.cart_id"},
    "reentry": {"mode": "after_exit", "cooldown": "P1D"},
    "exits": [{"kind": "ordered"}],
    "start": "wait_order",
    "steps": [
        {"id": "wait_order", "type": "wait_for", "event": "Order Completed",
         "key": "properties.cart_id", "timeout": "PT2H", "on_event": "done",
         "on_timeout": "sms_or_email"},
        {"id": "sms_or_email", "type": "condition",
         "condition": {"kind": "consented", "channel": "sms"}, "then": "sms", "otherwise": "email"},
        {"id": "sms", "type": "send_sms", "template": "cart_sms", "next": "day"},
        {"id": "email", "type": "send_email", "template": "cart_email", "next": "day"},
        {"id": "day", "type": "delay", "duration": "PT24H", "next": "second"},
        {"id": "second", "type": "send_email", "template": "cart_email_2", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}  # fmt: skip


# The journey's messages carry the person, not the cart (the entry event's properties are not
# handed to the outbox yet), so the templates read only the profile, the brand and the
# recommendations the send computes for the person.
TEMPLATES = (
    TemplateDraft(
        name="cart_sms",
        channel="sms",
        body="{{ brand.name }}: {{ profile.first_name | default: 'hi' }}, your cart is saved.",
    ),
    TemplateDraft(
        name="cart_email",
        channel="email",
        subject="You left something behind",
        body="<p>Hi {{ profile.first_name | default: 'there' }}, your cart is saved.</p>",
    ),
    TemplateDraft(
        name="cart_email_2",
        channel="email",
        subject="Still thinking it over?",
        body="<p>Your cart at {{ brand.name }} is still saved for you.</p>",
    ),
    TemplateDraft(  # the README tour's review request journey sends this one
        name="review_request",
        channel="email",
        subject="How is it working out?",
        body=(
            "<p>Hi {{ profile.first_name | default: 'there' }}, tell us what you think.</p>"
            "{% if recommendations.size > 0 %}<p>You might also like:</p><ul>"
            "{% for p in recommendations %}<li>{{ p.name }} ({{ p.sku }})"
            "{% if p.price %} {{ p.price }} {{ p.currency }}{% endif %}</li>{% endfor %}"
            "</ul>{% endif %}"
        ),
    ),
)


def seed_journeys(session: Session, workspace_id: str) -> None:
    """Create the templates, the senders and the journeys, and publish them (in the seeding
    transaction)."""
    MessageSettings(session).change(
        workspace_id,
        SettingsChange(
            brand_name="Tessera Demo", email_from="Tessera Demo <hello@demo.test>",
            sms_from="+14155550199",
        ),
        "demo",
    )  # fmt: skip
    for draft in TEMPLATES:
        TemplateService(session).create(workspace_id, draft, actor="demo")
    service = JourneyService(session)
    journey = service.create(workspace_id, ABANDONED_CART, actor="demo")
    service.publish(workspace_id, journey.id, actor="demo")
