"""Two shops to measure: a small one whose every number is worked out by hand in the tests,
and a seeded random one for comparing backends."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from tests.analytics.layer.seed import Shop, at


@dataclass(frozen=True)
class Small:
    workspace_id: str
    ann: str
    bob: str
    cat: str


def small_shop(session: Session, workspace_id: str) -> Small:
    """ann: web, store (refunded 5.00), web again; bob: web once after a referral and an email
    click; cat: two Amazon orders on one day, a cancelled web order; one order nobody's."""
    shop = Shop(session, workspace_id)
    ann, bob, cat = shop.person("ann"), shop.person("bob"), shop.person("cat")
    tiktok = {"source": "TikTok", "medium": "creator", "name": "glow-week"}
    shop.event("ann", "Product Viewed", at("2026-01-04"), campaign=tiktok)
    shop.order(ann, "web", at("2026-01-05"), 1000)
    shop.order(ann, "store", at("2026-02-05"), 2000, refunded=500)
    shop.order(ann, "web", at("2026-03-10"), 1500)
    shop.event("bob", "Product Viewed", at("2026-02-01"), referrer="https://www.google.com/x")
    shop.event("bob", "Email Link Clicked", at("2026-02-06"), channel="email")
    shop.order(bob, "web", at("2026-02-07"), 3000)
    shop.order(cat, "amazon", at("2026-01-20", 12), 4000)
    shop.order(cat, "amazon", at("2026-01-20", 18), 500)
    shop.order(cat, "web", at("2026-02-01"), 999, cancelled=True)
    shop.order(None, "web", at("2026-01-02"), 700)
    session.flush()
    return Small(workspace_id, ann, bob, cat)


CHANNELS = ("web", "app", "store", "amazon", "tiktok_shop")
SOURCES = (None, None, "tiktok", "instagram", "newsletter")


def random_shop(session: Session, workspace_id: str, seed: int = 7, people: int = 40) -> None:
    """``people`` shoppers over 2025-2026 with 1 to 6 orders each on random channels, some
    refunded or cancelled, and campaign-tagged views and email clicks before some orders."""
    rng = random.Random(seed)
    shop = Shop(session, workspace_id)
    start = at("2025-01-01")
    for number in range(people):
        name = f"p{number}"
        profile = shop.person(name)
        when = start + timedelta(days=rng.randint(0, 500), hours=rng.randint(0, 23))
        for _ in range(rng.randint(1, 6)):
            source = rng.choice(SOURCES)
            if source:
                shop.event(
                    name,
                    "Product Viewed",
                    when - timedelta(days=rng.randint(0, 20)),
                    campaign={"source": source, "medium": "m", "name": f"{source}-c"},
                )
            if rng.random() < 0.2:
                shop.event(name, "Email Link Clicked", when - timedelta(hours=3), channel="email")
            total = rng.randint(5, 300) * 100
            shop.order(profile, rng.choice(CHANNELS), when, total,
                       refunded=total // 2 if rng.random() < 0.1 else 0,
                       cancelled=rng.random() < 0.05)  # fmt: skip
            when += timedelta(days=rng.randint(0, 90), hours=rng.randint(0, 23))
    session.flush()
