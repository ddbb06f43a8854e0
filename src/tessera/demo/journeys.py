"""The demo's journeys: the abandoned cart every brand starts with, published, so the
Journeys page shows people entering it from the demo's checkouts on any channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tessera.journey.service import JourneyService

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


def seed_journeys(session: Session, workspace_id: str) -> None:
    """Create and publish the demo's journeys (in the seeding transaction)."""
    service = JourneyService(session)
    journey = service.create(workspace_id, ABANDONED_CART, actor="demo")
    service.publish(workspace_id, journey.id, actor="demo")
