"""The demo's shipped journeys on the fed data: the e-commerce ones are live and fill the
outbox, and the shopper who left a cart on TikTok Shop and bought in a store got nothing."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.identity.graph.service import IdentityService
from tessera.journey.service import JourneyService
from tessera.models.journey import JourneyStatus
from tessera.models.message import Message, MessageChannel
from tests.support.fed_demo import FedDemo


def test_the_shipped_journeys_run_on_the_demo_data(fed_demo: FedDemo) -> None:
    """Seven journeys, four live; the abandoned cart queued messages from the demo's carts;
    the TikTok Shop cart bought in a store left ("ordered") with no message queued; the
    shoppers who confirmed SMS consent and left a cart at night got an SMS held until 8:00
    their time."""
    data, workspace_id = fed_demo.data, fed_demo.workspace_id
    assert data.cart_then_store is not None
    person_id, cart_id = data.cart_then_store
    [shopper] = [p for p in data.people if p.person_id == person_id]
    with fed_demo.factory() as session:  # reads only, commits nothing
        service = JourneyService(session)
        journeys = {j.name: j for j in service.list_journeys(workspace_id).items}
        cart = journeys["Abandoned cart"]
        profile = IdentityService(session).find_profile(
            workspace_id, "user_id", str(shopper.user_id)
        )
        assert profile is not None
        hers = service.instances(workspace_id, cart.id, profile_id=profile.id).items
        queued = session.scalars(select(Message).where(Message.workspace_id == workspace_id)).all()
        from_cart = [m for m in queued if m.origin.get("journey_id") == cart.id]
        to_her = [m for m in from_cart if m.profile_id == profile.id]
        statuses = sorted(j.status.value for j in journeys.values())
        night = [  # the SMS held by quiet hours: (local time it waits for, reason)
            (
                m.next_attempt_at.astimezone(ZoneInfo(str(profile_zone(session, m)))).time()
                if m.next_attempt_at
                else None,
                m.reason,
            )
            for m in from_cart
            if m.channel is MessageChannel.SMS
        ]
        left = [(i.entry_key, i.exit_reason) for i in hers if i.entry_key == cart_id]

    assert len(journeys) == 7
    assert statuses == ["draft"] * 3 + ["live"] * 4
    assert journeys["Welcome"].status is JourneyStatus.DRAFT
    assert len(from_cart) > 0
    assert left == [(cart_id, "ordered")]
    assert to_her == []
    assert night and set(night) == {(time(8, 0), "quiet_hours")}


def profile_zone(session: Session, message: Message) -> object:
    return (
        IdentityService(session)
        .resolve(message.workspace_id, message.profile_id)
        .traits.get("timezone")
    )
