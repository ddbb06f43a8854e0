"""Creator discovery: p50/p95 per query kind over 100,000 creators, next to an ILIKE scan.

A brand's creator manager types a few words ("vegan baking", "trail running shoes"), narrows
by platform, followers, engagement, audience country share and niche, or asks for creators
like a few they chose (``POST /v1/creators/search`` and ``/lookalikes``, the dashboard and
``tessera creators search``: all ``creator.discovery.Discovery``). Target: p95 under 200 ms.

The creators are synthetic but read like real ones: a bio and three captions built from word
lists per niche (38 niches, two or three per creator), one to three platform accounts with
log-normal followers and engagement, an audience split over 3-5 countries, a status. They
are written once with their WordLlama vectors, as imports write them; the first search
builds the workspace's index (its time is printed apart), the timed ones reuse it and still
read the stamp and the 20 shown creators from the database each time.

The peer is what a first version would do in SQL: ``ILIKE '%word%'`` over bio and captions
for each word, with the same filters on the account's followers and engagement, ordered by
followers, LIMIT 20 (on PostgreSQL; SQLite's LIKE is case-insensitive the same way). It has
no relevance ranking and no meaning, and reads every row.

On PostgreSQL (``TESSERA_BENCH_DATABASE_URL``, default a local ``tessera_bench``, in a
database of its own ``<name>_creators``, made afresh), else ``--sqlite``.

``python -m bench.bench_creator_search [--creators 100000] [--queries 200] [--sqlite]``
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, make_url, text
from sqlalchemy.orm import Session

from bench._database import bench_database_url
from tessera.creator.discovery import Discovery
from tessera.creator.embedding import embed, to_bytes
from tessera.creator.index import text_of
from tessera.creator.schemas import LookalikesIn, SearchIn
from tessera.db.admin import recreate_database
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.db.migrate import upgrade
from tessera.kit.ids import new_id
from tessera.models.creator import Creator, CreatorAccount
from tessera.workspace.service import WorkspaceService

console = Console(width=None if sys.stdout.isatty() else 180)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHUNK = 5_000
TARGET_MS = 200.0

NICHES: dict[str, list[str]] = {
    "baking": ["sourdough", "croissants", "layer cakes", "cookies", "pastry", "bread"],
    "vegan": ["plant-based", "oat milk", "tofu", "vegan cheese", "meal prep", "lentils"],
    "running": ["marathon", "trail shoes", "tempo runs", "ultramarathon", "5k", "race day"],
    "fitness": ["strength training", "kettlebells", "HIIT", "mobility", "protein", "gym"],
    "skincare": ["SPF", "retinol", "serums", "sensitive skin", "moisturiser", "acne"],
    "beauty": ["makeup", "lipstick", "foundation", "brows", "eyeliner", "blush"],
    "outdoors": ["camping", "tents", "hiking boots", "backpacking", "wild swimming", "stoves"],
    "travel": ["city breaks", "road trips", "hostels", "packing lists", "flights", "islands"],
    "fashion": ["thrift hauls", "capsule wardrobe", "denim", "sneakers", "streetwear", "linen"],
    "parenting": ["toddlers", "bedtime", "school lunches", "family holidays", "nursery", "baby"],
    "gaming": ["speedruns", "RPGs", "streams", "esports", "indie games", "controllers"],
    "tech": ["smartphones", "laptops", "headphones", "smart home", "cameras", "unboxing"],
    "coffee": ["espresso", "latte art", "pour-over", "grinders", "single origin", "cafes"],
    "home": ["interior design", "plants", "DIY", "decluttering", "candles", "rugs"],
    "pets": ["puppies", "cat toys", "dog walks", "grooming", "rescue dogs", "aquariums"],
    "yoga": ["vinyasa", "breathwork", "yoga mats", "flexibility", "meditation", "retreats"],
    "cycling": ["gravel bikes", "road cycling", "bike packing", "cleats", "climbs", "commuting"],
    "gardening": ["tomatoes", "raised beds", "compost", "seedlings", "roses", "allotment"],
    "books": ["book reviews", "thrillers", "fantasy novels", "reading list", "book club"],
    "music": ["guitar covers", "vinyl", "songwriting", "synths", "live sessions", "piano"],
    "wellness": ["sleep routines", "journaling", "supplements", "mental health", "saunas"],
    "cooking": ["weeknight dinners", "pasta", "curries", "one-pot meals", "knife skills"],
    "photography": ["film cameras", "portraits", "lightroom presets", "street photography"],
    "art": ["watercolour", "sketchbooks", "acrylic pour", "ceramics", "illustration"],
    "finance": ["budgeting", "index funds", "saving tips", "side hustles", "debt free"],
    "cars": ["detailing", "EVs", "track days", "restorations", "road tests", "tyres"],
    "hair": ["curly hair", "braids", "hair oils", "balayage", "heatless curls", "wigs"],
    "nails": ["gel nails", "nail art", "press-ons", "manicures", "cuticle care"],
    "wine": ["natural wine", "pairings", "vineyards", "sommelier picks", "rosé"],
    "surfing": ["longboards", "wetsuits", "surf trips", "reef breaks", "wax"],
    "climbing": ["bouldering", "chalk", "crash pads", "sport climbing", "finger strength"],
    "sustainability": ["zero waste", "refills", "upcycling", "secondhand", "repair cafes"],
    "comedy": ["sketches", "pranks", "parodies", "stand-up", "skits"],
    "dance": ["choreography", "hip hop", "ballet", "dance challenges", "salsa"],
    "education": ["study tips", "language learning", "exam prep", "note taking", "maths"],
    "fishing": ["fly fishing", "carp", "lures", "tackle", "river trips"],
    "weddings": ["bridal makeup", "wedding dresses", "venues", "bouquets", "vows"],
    "crafts": ["knitting", "crochet", "embroidery", "sewing patterns", "quilting"],
}
OPENERS = [
    "Sharing",
    "All about",
    "Daily",
    "Honest reviews of",
    "My journey with",
    "Obsessed with",
    "Your guide to",
    "Weekly",
    "Tips on",
    "Real talk about",
]
PLACES = [
    "London",
    "Toronto",
    "Austin",
    "Berlin",
    "Sydney",
    "Paris",
    "Lisbon",
    "Seoul",
    "Mexico City",
    "Cape Town",
    "Dublin",
    "Milan",
    "Denver",
    "Oslo",
    "Manila",
]
CAPTIONS = [
    "Trying {a} for the first time",
    "My honest take on {a}",
    "{a} vs {b}: which wins?",
    "3 things I wish I knew about {a}",
    "Day in the life: {a} and {b}",
    "Cheap {a} that actually works",
    "Your questions about {a}, answered",
]
COUNTRIES = ["US", "GB", "CA", "AU", "DE", "FR", "ES", "IT", "BR", "MX", "IN", "JP", "NL", "SE"]
PLATFORMS = ["tiktok", "instagram", "youtube", "pinterest"]
SAFETY = ["casino nights", "drunk again", "poker with chat"]
QUERIES = [
    "vegan baking",
    "trail running shoes",
    "sensitive skin SPF",
    "camping gear",
    "espresso at home",
    "budget travel",
    "gel nail art",
    "strength training for women",
    "zero waste kitchen",
    "film cameras",
    "plant-based protein",
    "curly hair routine",
    "bouldering",
    "natural wine",
    "indie games",
    "knitting patterns",
]


def synthetic_creators(
    n: int, seed: int = 7
) -> list[tuple[dict[str, object], list[dict[str, object]]]]:
    rng = random.Random(seed)
    names = list(NICHES)
    rows = []
    for i in range(n):
        niches = rng.sample(names, rng.choice((2, 2, 3)))
        terms = [t for niche in niches for t in NICHES[niche]]
        bio = (
            f"{rng.choice(OPENERS)} {rng.choice(terms)} and {rng.choice(terms)} from "
            f"{rng.choice(PLACES)}. {niches[0].title()} creator; {rng.choice(terms)}, "
            f"{rng.choice(terms)} and more."
        )
        captions = [
            rng.choice(CAPTIONS).format(a=rng.choice(terms), b=rng.choice(terms)) for _ in range(3)
        ]
        if i % 97 == 0:
            captions.append(rng.choice(SAFETY))
        shares = np.random.default_rng(i).dirichlet(np.ones(rng.randint(3, 5))) * 0.95
        countries = dict(
            zip(
                rng.sample(COUNTRIES, len(shares)),
                (round(float(s), 3) for s in shares),
                strict=True,
            )
        )
        creator = {
            "id": new_id("crt"),
            "name": f"Creator {i:06d}",
            "bio": bio,
            "captions": "\n".join(captions),
            "niches": niches,
            "audience_countries": countries,
            "status": rng.choice(("prospect", "prospect", "active", "paused")),
        }
        accounts = []
        for platform in rng.sample(PLATFORMS, rng.randint(1, 3)):
            followers = int(min(rng.lognormvariate(10.5, 1.6), 5e8))
            accounts.append(
                {
                    "platform": platform,
                    "handle": f"c{i:06d}.{platform[:2]}",
                    "followers": followers,
                    "engagement": round(min(rng.lognormvariate(-3.4, 0.6), 0.5), 4),
                }
            )
        rows.append((creator, accounts))
    return rows


def load(session: Session, workspace_id: str, n: int) -> float:
    """Write ``n`` creators with their vectors and accounts; seconds spent embedding."""
    embedding = 0.0
    data = synthetic_creators(n)
    for start in range(0, n, CHUNK):
        chunk = data[start : start + CHUNK]
        began = time.perf_counter()
        vectors = embed(
            [
                text_of(str(c["name"]), str(c["bio"]), str(c["captions"]), list(c["niches"]))
                for c, _a in chunk
            ]
        )
        embedding += time.perf_counter() - began
        session.execute(
            insert(Creator),
            [
                {
                    **c,
                    "workspace_id": workspace_id,
                    "embedding": to_bytes(v),
                    "email": None,
                    "email_key": None,
                    "audience_ages": {},
                    "audience_genders": {},
                    "rates": {},
                    "currency": None,
                    "notes": "",
                    "profile_id": None,
                    "source": "import",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for (c, _a), v in zip(chunk, vectors, strict=True)
            ],
        )
        session.execute(
            insert(CreatorAccount),
            [
                {
                    "id": new_id("cra"),
                    "workspace_id": workspace_id,
                    "creator_id": c["id"],
                    "platform": a["platform"],
                    "handle": a["handle"],
                    "handle_key": a["handle"],
                    "url": None,
                    "followers": a["followers"],
                    "engagement_rate": a["engagement"],
                    "details": {},
                }
                for c, accounts in chunk
                for a in accounts
            ],
        )
    return embedding


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def peer_statement(
    words: list[str], dialect: str, platform: str | None, min_followers: int | None
) -> tuple[str, dict[str, object]]:
    like = "ILIKE" if dialect == "postgresql" else "LIKE"
    params: dict[str, object] = {}
    conditions = []
    for n, word in enumerate(words):
        params[f"w{n}"] = f"%{word}%"
        conditions.append(f"(c.bio {like} :w{n} OR c.captions {like} :w{n})")
    where = " AND ".join(["c.workspace_id = :ws", "(" + " OR ".join(conditions or ["1=1"]) + ")"])
    if platform is not None:
        where += " AND a.platform = :platform"
        params["platform"] = platform
    if min_followers is not None:
        where += " AND a.followers >= :min_followers"
        params["min_followers"] = min_followers
    sql = (
        f"SELECT c.id, MAX(a.followers) AS f FROM creator c JOIN creator_account a "
        f"ON a.creator_id = c.id WHERE {where} GROUP BY c.id ORDER BY f DESC LIMIT 20"
    )
    return sql, params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--creators", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sqlite", action="store_true", help="SQLite in a temporary folder")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    if args.sqlite:
        url = f"sqlite:///{Path(folder.name) / 'creators.db'}"
    else:
        shared = bench_database_url(console)
        if shared is None:
            return 0
        url = recreate_database(shared, f"{make_url(shared).database}_creators")
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        ws = WorkspaceService(session).create_workspace("Bench Brand", "bench").id
    began = time.perf_counter()
    with session_scope(factory) as session:
        embedding = load(session, ws, args.creators)
    loaded = time.perf_counter() - began
    console.print(
        f"{args.creators:,} creators written in {loaded:.1f} s "
        f"({embedding:.1f} s of it embedding with WordLlama)",
        highlight=False,
    )
    with session_scope(factory) as session:
        began = time.perf_counter()
        index = Discovery(session).index(ws)
        console.print(
            f"index built in {time.perf_counter() - began:.1f} s ({len(index):,} creators)",
            highlight=False,
        )
    rng = random.Random(11)
    kinds: dict[str, Callable[[int], object]] = {
        "words": lambda i: SearchIn(query=QUERIES[i % len(QUERIES)]),
        "words + filters": lambda i: SearchIn(
            query=QUERIES[i % len(QUERIES)],
            platform=PLATFORMS[i % 4],
            min_followers=10_000,
            min_engagement=0.02,
            country=COUNTRIES[i % 5],
            min_country_share=0.2,
        ),
        "filters only": lambda i: SearchIn(
            platform=PLATFORMS[i % 4],
            min_followers=50_000,
            max_followers=500_000,
            niches=[list(NICHES)[i % len(NICHES)]],
            country=COUNTRIES[i % 5],
        ),
        "lookalikes (3 seeds)": lambda i: LookalikesIn(
            creator_ids=[index.ids[rng.randrange(len(index))] for _ in range(3)]
        ),
    }
    table = Table(
        title=f"Creator search over {args.creators:,} creators, {args.queries} "
        f"queries per kind ({make_url(url).get_backend_name()})"
    )
    for column in (
        "query kind",
        "tessera p50 ms",
        "tessera p95 ms",
        "ILIKE scan p50 ms",
        "ILIKE scan p95 ms",
        f"p95 < {TARGET_MS:.0f} ms",
    ):
        table.add_column(column, justify="left" if column == "query kind" else "right")
    failed = False
    for kind, make in kinds.items():
        ours: list[float] = []
        peer: list[float] = []
        for i in range(args.queries):
            body = make(i)
            with session_scope(factory) as session:
                discovery = Discovery(session)
                began = time.perf_counter()
                if isinstance(body, LookalikesIn):
                    discovery.lookalikes(ws, body)
                else:
                    assert isinstance(body, SearchIn)
                    discovery.search(ws, body)
                ours.append(time.perf_counter() - began)
            if isinstance(body, SearchIn) and i < max(args.queries // 10, 5):
                sql, params = peer_statement(
                    body.query.split(), engine.dialect.name, body.platform, body.min_followers
                )
                with engine.connect() as connection:
                    began = time.perf_counter()
                    connection.execute(text(sql), {"ws": ws, **params}).all()
                    peer.append(time.perf_counter() - began)
        p50, p95 = percentiles(ours)
        peer_cells = [f"{v:,.1f}" for v in percentiles(peer)] if peer else ["-", "-"]
        failed |= p95 >= TARGET_MS
        table.add_row(
            kind,
            f"{p50:,.1f}",
            f"{p95:,.1f}",
            *peer_cells,
            "yes" if p95 < TARGET_MS else "[red]no[/red]",
        )
    console.print(table)
    console.print(
        "The ILIKE peer ran a tenth of the queries (it has no lookalikes: it cannot "
        "rank by meaning).",
        highlight=False,
    )
    engine.dispose()
    folder.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
