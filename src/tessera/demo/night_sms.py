"""Shoppers who said yes to SMS and left a cart while it is night where they live: the demo's
SMS held by quiet hours.

The demo's other shoppers never gave SMS consent, so the abandoned cart journey only emails
them. These few did, on the brand's SMS sign-up form, and confirmed by replying Y (double
opt-in): their consent carries that evidence. Each left a checkout three hours before the demo
was seeded, so when the worker first runs, the journey's two-hour wait is over and it takes the
SMS branch; marketing SMS may only go out between 8:00 and 20:00 where the person is, so the
message is held until 8:00 their time, which the outbox shows.

Whatever the hour the demo is started, some of these zones are deep in the night (21:00 to
5:00 local, so the hold outlasts the demo's first minutes): the shoppers of those zones, up to
three, are the ones seeded. Their numbers are the zones' own (a Honolulu number for Honolulu),
so the zone also follows from the phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.customer import schemas
from tessera.customer.privacy import PrivacyService
from tessera.demo.channel_orders import product_line
from tessera.demo.people import CATALOG, iso_utc
from tessera.identity.graph.intake import STITCH_JOB
from tessera.identity.graph.service import IdentityService
from tessera.identity.graph.tasks import stitch
from tessera.job.registry import import_handler_modules
from tessera.job.service import JobService
from tessera.models.identity import ConsentStatus
from tessera.worker import TASK_MODULES

LEFT_BEFORE_SEED = timedelta(hours=3)
NIGHT_START, NIGHT_END = time(21, 0), time(5, 0)
MAX_SHOPPERS = 3
SIGNUP = "https://demo.test/sms-signup"
WORDING = (
    "Text me offers and cart reminders from Tessera Demo (up to 6 a month). Msg & data rates "
    "may apply. Reply HELP for help and STOP to cancel. Reply Y to confirm."
)


@dataclass(frozen=True)
class NightShopper:
    user_id: str
    first_name: str
    last_name: str
    zone: str
    phone: str

    @property
    def email(self) -> str:
        return f"{self.user_id}@demo-sms.test"


SHOPPERS = (
    NightShopper("sms-kalani", "Kalani", "Kahale", "Pacific/Honolulu", "+18085550123"),
    NightShopper("sms-sam", "Sam", "Rivera", "America/Los_Angeles", "+14155550142"),
    NightShopper("sms-jordan", "Jordan", "Ellis", "America/New_York", "+12125550167"),
    NightShopper("sms-olivia", "Olivia", "Hughes", "Europe/London", "+447911123456"),
    NightShopper("sms-lena", "Lena", "Vogel", "Europe/Berlin", "+4915123456789"),
    NightShopper("sms-priya", "Priya", "Nair", "Asia/Kolkata", "+919876543210"),
    NightShopper("sms-mika", "Mika", "Tanaka", "Asia/Tokyo", "+819012345678"),
    NightShopper("sms-ruby", "Ruby", "Chen", "Australia/Sydney", "+61491570156"),
)


def is_deep_night(moment: datetime, zone: str) -> bool:
    local = moment.astimezone(ZoneInfo(zone)).time()
    return local >= NIGHT_START or local < NIGHT_END


def night_shoppers(now: datetime) -> list[NightShopper]:
    """The shoppers for whom ``now`` is deep night, up to ``MAX_SHOPPERS`` (the zones are
    never more than eight hours apart, so there is always one)."""
    return [s for s in SHOPPERS if is_deep_night(now, s.zone)][:MAX_SHOPPERS]


def seed_night_sms(session: Session, workspace_id: str, now: datetime) -> list[NightShopper]:
    """Store the night shoppers' sign-ups and left checkouts, stitch them, and record their
    confirmed SMS consent (in the seeding transaction); returns who was seeded."""
    chosen = night_shoppers(now)
    left = now - LEFT_BEFORE_SEED
    messages = []
    for index, shopper in enumerate(chosen):
        signed_up = iso_utc(now - timedelta(days=40))
        products = [CATALOG[(index * 3 + k) % len(CATALOG)] for k in (0, 1)]
        messages += [
            {"type": "identify", "messageId": f"demo-sms-{shopper.user_id}-signup",
             "userId": shopper.user_id, "timestamp": signed_up,
             "traits": {"email": shopper.email, "phone": shopper.phone,
                        "first_name": shopper.first_name, "last_name": shopper.last_name,
                        "timezone": shopper.zone}},
            {"type": "track", "event": "Checkout Started",
             "messageId": f"demo-sms-{shopper.user_id}-checkout", "userId": shopper.user_id,
             "timestamp": iso_utc(left), "context": {"channel": "web"},
             "properties": {"cart_id": f"night-cart-{shopper.user_id}", "currency": "USD",
                            "value": sum(p.price for p in products) / 100,
                            "products": [{**product_line(p), "quantity": 1} for p in products]}},
        ]  # fmt: skip
    if not messages:
        return []
    CollectService(session).ingest(Sender(workspace_id, None), messages, "demo")
    _stitch_now(session, workspace_id)
    identity, privacy = IdentityService(session), PrivacyService(session)
    for shopper in chosen:
        profile = identity.find_profile(workspace_id, "user_id", shopper.user_id)
        assert profile is not None, "the sign-up was just stitched"
        confirmed = now - timedelta(days=40) + timedelta(minutes=2)
        privacy.record_consent(
            workspace_id,
            profile.id,
            schemas.ConsentCreate(
                identifier_type="phone",
                identifier_value=shopper.phone,
                purpose="marketing",
                channel="sms",
                status=ConsentStatus.GRANTED,
                source=SIGNUP,
                wording=WORDING,
                recorded_at=confirmed,
                evidence={
                    "form": SIGNUP,
                    "double_opt_in": "confirmed",
                    "confirmation_reply": "Y",
                    "confirmed_at": iso_utc(confirmed),
                },
            ),
            actor="demo",
        )
    return chosen


def _stitch_now(session: Session, workspace_id: str) -> None:
    """Run the stitch of what was just stored, as the worker would, so the profiles exist for
    their consent. Every domain's tasks are imported first: their subscriptions to the stitch's
    announcements are what queue the journeys' triggers (and segments', loyalty's)."""
    import_handler_modules(TASK_MODULES)
    taken = JobService(session).take_queued(STITCH_JOB, workspace_id, 1)
    for _, payload in taken:
        stitch(session, payload)
