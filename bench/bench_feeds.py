"""Feed lag: from a committed stock change to the channel adapter's request at the channel.

Multichannel sync tools publish availability every 5 to 15 minutes (Sellbrite 15, Channable 5)
and hide the lag behind buffers. Tessera pushes each change through the job outbox; this
measures how long that takes end to end, with real parts only:

- PostgreSQL, ``tessera worker`` processes with their default settings (0.5 s poll);
- a catalog of ``--skus`` SKUs listed on Shopify (``web``) and Amazon (merchant-fulfilled),
  a feed per channel pointed at a local HTTP server that speaks Shopify's GraphQL
  ``inventorySetQuantities`` and Amazon's Listings Items patch (tests/integrations);
- ``--changes`` stock changes through the real inventory service, alternately a checkout
  reservation and an adjustment of one unit, each committed in its own transaction, spaced
  ``--interval`` seconds apart.

The lag of a change is the time from its commit returning to the arrival, at the local server,
of the first request that sets the channel to the quantity after it (or lower); p50/p95/p99
per channel. The target is p95 under 10 s.
``python -m bench.bench_feeds [--changes 200] [--workers 2]`` exits 1 when it is missed.
Needs PostgreSQL (TESSERA_BENCH_DATABASE_URL, default a local ``tessera_bench_feeds``).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from tests.integrations.fake_channels import (
    AMAZON_TOKEN,
    SHOPIFY_TOKEN,
    ChannelState,
    fake_channels,
)

from bench._database import bench_database_url
from tessera.catalog.schemas import ListingIn, ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.feed.schemas import FeedIn
from tessera.feed.service import FeedService
from tessera.inventory.schemas import (
    ChannelLocationsIn,
    LocationIn,
    ReservationIn,
    ReservationLineIn,
)
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.models.catalog import FulfillmentChannel, ListingPlatform
from tessera.models.feed import FeedAdapter
from tessera.models.inventory import LocationKind
from tessera.workspace.service import WorkspaceService

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_SECONDS = 10.0
START_UNITS = 10_000
console = Console()


def _seed(factory, base_url: str, skus: int) -> str:  # type: ignore[no-untyped-def]
    with session_scope(factory) as session:
        workspace = WorkspaceService(session).create_workspace(
            "Feed Bench", f"feed-bench-{os.getpid()}"
        )
        ws = workspace.id
        catalog = CatalogService(session)
        catalog.create_product(ws, ProductIn(handle="bench", title="Bench", variants=[
            VariantIn(sku=f"B-{n:04d}") for n in range(skus)]))  # fmt: skip
        locations = LocationService(session)
        stock = StockService(session)
        locations.create_location(
            ws, LocationIn(code="main", name="Main", kind=LocationKind.WAREHOUSE)
        )
        for channel in ("web", "amazon"):
            locations.set_channel_locations(ws, channel, ChannelLocationsIn(locations=["main"]))
        for n in range(skus):
            sku = f"B-{n:04d}"
            stock.adjust(ws, sku, "main", START_UNITS, idempotency_key=f"seed-{sku}")
            catalog.add_listing(
                ws,
                ListingIn(
                    sku=sku,
                    channel="web",
                    platform=ListingPlatform.SHOPIFY,
                    external_id=f"{1000 + n}",
                    inventory_item_id=f"gid://shopify/InventoryItem/{1000 + n}",
                ),
            )
            catalog.add_listing(
                ws,
                ListingIn(
                    sku=sku,
                    channel="amazon",
                    platform=ListingPlatform.AMAZON,
                    external_id=sku,
                    seller_sku=sku,
                    fulfillment_channel=FulfillmentChannel.MERCHANT,
                ),
            )
        feeds = FeedService(session)
        feeds.create_feed(
            ws,
            FeedIn(
                channel="web",
                name="Shopify",
                adapter=FeedAdapter.SHOPIFY,
                settings={"base_url": base_url, "location_id": "1"},
                credentials={"access_token": SHOPIFY_TOKEN},
            ),
        )
        feeds.create_feed(ws, FeedIn(channel="amazon", name="Amazon", adapter=FeedAdapter.AMAZON,
                                     settings={"base_url": base_url, "seller_id": "S",
                                               "marketplace_ids": ["ATVPDKIKX0DER"]},
                                     credentials={"access_token": AMAZON_TOKEN}))  # fmt: skip
    return ws


def _arrived(state: ChannelState, vendor: str, key: str, quantity: int) -> float | None:
    """When the first request setting ``key`` to ``quantity`` or less arrived, if one has.

    Quantities only go down in this benchmark, so that request carries this change (or a later
    one that a push computed at push time folded in)."""
    with state.lock:
        arrivals = list(state.arrivals)
    for arrival in arrivals:
        if arrival.vendor != vendor or arrival.status != 200:
            continue
        if vendor == "shopify":
            given = arrival.body["variables"]["input"]["quantities"][0]
            matches = given["inventoryItemId"].endswith(f"/{key}")
            sent = int(given["quantity"])
        else:
            matches = arrival.path.endswith(f"/{key}")
            sent = int(arrival.body["patches"][0]["value"][0]["quantity"])
        if matches and sent <= quantity:
            return arrival.at
    return None


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_feeds", description=__doc__)
    parser.add_argument("--changes", type=int, default=200, help="stock changes to time")
    parser.add_argument("--skus", type=int, default=40, help="SKUs in the catalog")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between changes")
    parser.add_argument("--workers", type=int, default=2, help="tessera worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker")
    options = parser.parse_args(argv)
    os.environ.setdefault(
        "TESSERA_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/tessera_bench_feeds"
    )
    url = bench_database_url(console)
    if url is None:
        return 0
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM job"))
        connection.execute(text("DELETE FROM workspace WHERE slug LIKE 'feed-bench-%'"))
    env = {**os.environ, "TESSERA_DATABASE_URL": url, "TESSERA_LOG_LEVEL": "WARNING",
           "TESSERA_JOB_MODULES": "tessera.feed.tasks", "PYTHONPATH": str(ROOT)}  # fmt: skip
    command = [sys.executable, "-m", "tessera", "worker", "--concurrency", str(options.concurrency)]
    with fake_channels() as (base_url, state):
        workspace_id = _seed(factory, base_url, options.skus)
        workers = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
            for _ in range(options.workers)
        ]
        try:
            state.wait_for(2 * options.skus, timeout=120)  # the first push of every listing
            console.print(
                f"{options.skus} SKUs on Shopify and Amazon, {options.workers} worker(s) x "
                f"{options.concurrency}; first pushes done, timing {options.changes} changes"
            )
            expected: list[tuple[float, str, int]] = []  # (committed at, sku index, units left)
            left = {n: START_UNITS for n in range(options.skus)}
            for change in range(options.changes):
                n = change % options.skus
                sku = f"B-{n:04d}"
                with session_scope(factory) as session:
                    reservations = ReservationService(session)
                    stock = StockService(session)
                    if change % 2:
                        stock.adjust(workspace_id, sku, "main", -1, idempotency_key=f"c-{change}")
                    else:
                        reservations.reserve(workspace_id, ReservationIn(
                            channel="web", lines=[ReservationLineIn(sku=sku, quantity=1)],
                            idempotency_key=f"r-{change}", ttl_seconds=3600))  # fmt: skip
                committed = time.time()
                left[n] -= 1
                expected.append((committed, str(n), left[n]))
                time.sleep(options.interval)
            lags: dict[str, list[float]] = {"shopify": [], "amazon": []}
            deadline = time.monotonic() + 120
            pending = [(c, n, q, v) for c, n, q in expected for v in lags]
            while pending and time.monotonic() < deadline:
                still = []
                for committed, n, quantity, vendor in pending:
                    key = str(1000 + int(n)) if vendor == "shopify" else f"B-{int(n):04d}"
                    at = _arrived(state, vendor, key, quantity)
                    if at is None:
                        still.append((committed, n, quantity, vendor))
                    else:
                        lags[vendor].append(at - committed)
                pending = still
                if pending:
                    time.sleep(0.2)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM workspace WHERE id = :id"), {"id": workspace_id})
        connection.execute(text("DELETE FROM job"))
    engine.dispose()
    return _report(lags, len(pending), options)


def _report(lags: dict[str, list[float]], missing: int, options: argparse.Namespace) -> int:
    table = Table(title="Feed lag: committed stock change -> channel request (PostgreSQL)")
    for column in ("channel", "changes", "p50 s", "p95 s", "p99 s", "max s"):
        table.add_column(column, justify="left" if column == "channel" else "right")
    everything = [lag for values in lags.values() for lag in values]
    for name, values in [*lags.items(), ("both", everything)]:
        if not values:
            continue
        table.add_row(
            name,
            str(len(values)),
            f"{statistics.median(values):.2f}",
            f"{_percentile(values, 0.95):.2f}",
            f"{_percentile(values, 0.99):.2f}",
            f"{max(values):.2f}",
        )
    table.add_row("sync tools (Sellbrite, Channable)", "", "300-900", "", "", "")
    console.print(table)
    p95 = _percentile(everything, 0.95) if everything else float("inf")
    console.print(
        f"{options.changes} changes, one every {options.interval}s; target p95 < "
        f"{TARGET_P95_SECONDS:.0f} s; {missing} request(s) never arrived; {os.cpu_count()} cores "
        "shared by PostgreSQL, the workers, this process and the fake channel server."
    )
    return 0 if missing == 0 and p95 < TARGET_P95_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
