"""The demo's journeys: every journey shipped with Tessera (``journey.library``) installed
with its templates, and the workspace's senders, so messages go through the outbox to the
configured SMTP server and SMS provider.

Those entering on a Segment e-commerce event (abandoned cart, browse abandonment, review
request, win-back) are published at once, so the Journeys page shows people entering them
from the demo's data on every channel. Welcome, back in stock and retail-to-owned enter on the
brand's own events (``Signed Up``, ``Back In Stock``, ``Product Registered``), which the demo
data does not send: they stay drafts, as they would in a brand's workspace until those events
arrive, and publishing one names the missing event.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.collect.domain import ECOMMERCE_EVENTS
from tessera.journey import library
from tessera.journey.service import JourneyService
from tessera.message.configuration import MessageSettings, SettingsChange

# Every template the shipped journeys send (the README's tour names some of them).
TEMPLATES = tuple(draft for shipped in library.shipped() for draft in shipped.templates)


def seed_journeys(session: Session, workspace_id: str) -> None:
    """Set the senders, install every shipped journey and publish those entering on an
    e-commerce event (in the seeding transaction)."""
    MessageSettings(session).change(
        workspace_id,
        SettingsChange(
            brand_name="Tessera Demo", email_from="Tessera Demo <hello@demo.test>",
            sms_from="+14155550199",
        ),
        "demo",
    )  # fmt: skip
    service = JourneyService(session)
    for shipped in library.shipped():
        installed = library.install(session, workspace_id, shipped.name, actor="demo")
        if shipped.entry_event in ECOMMERCE_EVENTS:
            service.publish(workspace_id, installed.journey.id, actor="demo")
