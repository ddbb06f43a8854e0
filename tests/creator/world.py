"""A small, real-looking roster of creators as a CSV file, and customers stitched through
Collect so creators can be linked to them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.identity.graph.service import IdentityService
from tests.identity.stitching import run_stitch_jobs

HEADER = (
    "name,email,status,niches,bio,captions,audience_countries,tiktok,tiktok_followers,"
    "tiktok_engagement,instagram,instagram_followers,instagram_engagement,youtube,"
    "youtube_followers"
)
ROWS = [
    'Ana Okafor,ana@okafor.studio,active,baking;vegan,"Vegan baker in Toronto. Sourdough, '
    'plant-based cakes and egg-free cookies.","Oat milk cinnamon buns|My vegan sourdough '
    'starter, day 7",CA:58%;US:30%,@ana.bakes,48.2k,6.1%,ana.bakes,21000,3.9%,,',
    'Marco Ruiz,marco@ruizruns.com,prospect,running;fitness,"Ultramarathon runner and coach. '
    'Trail shoes, hydration vests, race-day nutrition.","100 km in the Sierra|My trail '
    'running shoe rotation",US:41%;MX:33%,marco.runs,220000,4.4%,https://www.instagram.com/'
    "marcoruns/,90000,2.1%,,",
    'Priya Nair,priya@glowlab.co,active,skincare;beauty,"Dermatology nurse reviewing '
    'skincare for sensitive skin. Fragrance-free routines.","SPF that does not sting|'
    'Retinol for beginners",GB:52%;IN:21%,,,,priya.glowlab,310000,5.5%,PriyaGlowLab,120000',
    'Jonas Berg,jonas@bergoutdoors.se,prospect,outdoors;camping,"Wild camping across '
    'Scandinavia. Tents, stoves and cold-weather sleep systems.","Winter camp at -20 C|'
    'My ultralight tent",SE:44%;NO:20%;DE:12%,,,,jonas.outdoors,64000,3.2%,JonasBerg,41000',
    'Lea Martin,lea@leamartin.fr,active,baking;pastry,"Paris pastry chef. Croissants, '
    'laminated dough and French desserts at home.","Croissants from scratch|Pain au '
    'chocolat with two folds",FR:61%;BE:9%,lea.patisserie,510000,7.8%,,,,,',
    'Tyler Brooks,tyler@brooksgaming.gg,prospect,gaming,"Late-night streamer. Casino '
    'nights, poker and energy drinks, drunk on wins.","Slots marathon|Poker with chat",'
    "US:70%,tyler.plays,1200000,2.5%,,,,TylerBrooks,800000",
    'Sofia Rossi,sofia@rossi.kitchen,active,cooking;vegan,"Italian plant-based home cooking. '
    'Vegan pasta, risotto and weeknight dinners.","Vegan carbonara|Risotto with peas",'
    "IT:55%;US:18%,sofia.cucina,95000,5.0%,sofia.cucina,150000,4.2%,,",
]
CSV = "\n".join([HEADER, *ROWS]) + "\n"


def customer(
    session: Session,
    workspace_id: str,
    user_id: str,
    email: str,
    traits: dict[str, Any] | None = None,
    external: list[dict[str, str]] | None = None,
) -> str:
    """Someone who signed up on the web, stitched; their profile id."""
    message: dict[str, Any] = {
        "type": "identify",
        "messageId": f"identify-{user_id}",
        "userId": user_id,
        "timestamp": "2026-02-01T10:00:00Z",
        "traits": {"email": email, **(traits or {})},
    }
    if external:
        message["context"] = {"externalIds": external}
    CollectService(session).ingest(Sender(workspace_id, None), [message], "test")
    run_stitch_jobs(session)
    profile = IdentityService(session).find_profile(workspace_id, "user_id", user_id)
    assert profile is not None
    return profile.id
