"""Reservations per second and their p99 on PostgreSQL, on one hot SKU and spread over 10,000
SKUs, next to the ceiling: bare conditional ``UPDATE ... WHERE qty >= n`` statements.

A reservation is the whole use case through ``ReservationService.reserve_in_own_transaction``
inside a ``session_scope``, the entry point the API's ``POST /v1/reservations`` calls: the
idempotency check, the catalog and the channel's locations, the expired holds on the touched
balances, the plan, the reservation and its lines, the ledger entry, the
``stock.availability_changed`` job, and the conditional UPDATE whose row count decides, then
the commit (on PostgreSQL all of it is one statement when every line is a plain variant in
stock at the channel's first location, as here, run alone and autocommitted: ADR 0011, 0018).
The ceiling is what the server gives the deciding statement alone, ``UPDATE stock_balance SET
reserved = reserved + 1 WHERE id = %s AND on_hand - reserved - committed - damaged - safety >=
1``, autocommitted, with the same driver, from the same processes and threads, on the same
rows (one hot row; random rows of 10,000). For reference, not as a target, the last round times
transactions that only ``SELECT 1``: the session scope, pool pre-ping, BEGIN and COMMIT that a
use case run in the session pays (the reservation run alone pays none of them).

Targets (issue 5): hot SKU at least 300 reservations/s with p99 under 50 ms; spread SKUs at
least half the ceiling.

The hot SKU is run twice. Back to back (closed loop: each thread sends its next request when
the last one returns) gives the most it sustains, and a p99 that is mostly time queued behind
the other 15 clients on one row lock (Little's law). At a given rate (open loop: requests
arrive as a Poisson process at ``--hot-rate``, 300/s by default, spread over the same threads,
each timed from when it arrived, so a request held up behind a slow one counts its wait) gives
the latency a shop sees at that rate: the target's pairing of a rate with a p99.

``python -m bench.bench_stock [--processes 4] [--threads 4] [--seconds 8] [--skus 10000]
[--hot-rate 300]``;
``python -m bench`` calls ``main()``. Needs PostgreSQL: TESSERA_BENCH_DATABASE_URL, default a
local ``tessera_bench``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench._database import bench_database_url, server_settings
from tessera.catalog.schemas import ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.inventory.errors import InsufficientStock
from tessera.inventory.schemas import (
    ChannelLocationsIn,
    LocationIn,
    ReservationIn,
    ReservationLineIn,
)
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow
from tessera.models.inventory import LedgerReason, LocationKind, StockBalance, StockLedgerEntry
from tessera.workspace.service import WorkspaceService

console = Console(width=140)
HOT_UNITS = 10_000_000
SPREAD_UNITS = 1_000_000
VARIANTS_PER_PRODUCT = 500
WARM_UP = 8  # untimed reservations per thread before the clock starts


@dataclass(frozen=True)
class Result:
    what: str
    shape: str
    operations: int
    refused: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.operations / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# Setup --------------------------------------------------------------------------------------


def _setup(url: str, skus: int) -> tuple[str, list[str], list[str]]:
    """A fresh workspace: HOT plus ``skus`` spread SKUs, one warehouse feeding web, stocked.

    Opening stock is written in bulk as receive entries with their balances (the ledger sums
    to the balances, as the service would leave it), so setting up 10,000 SKUs takes seconds.
    Returns (workspace id, spread SKUs, balance ids of the spread SKUs).
    """
    engine = make_engine(url)
    factory = make_session_factory(engine)
    stamp = new_id("bn")[-10:].lower()
    names = [f"SKU-{stamp}-{n:05d}" for n in range(skus)]
    with session_scope(factory) as session:
        workspace_id = WorkspaceService(session).create_workspace("Bench", f"bench-{stamp}").id
        catalog = CatalogService(session)
        catalog.create_product(
            workspace_id, ProductIn(handle="hot", title="Hot", variants=[VariantIn(sku="HOT")])
        )
        for start in range(0, skus, VARIANTS_PER_PRODUCT):
            chunk = names[start : start + VARIANTS_PER_PRODUCT]
            catalog.create_product(
                workspace_id,
                ProductIn(
                    handle=f"p-{start}", title="Spread", variants=[VariantIn(sku=s) for s in chunk]
                ),
            )
        locations = LocationService(session)
        location = locations.create_location(
            workspace_id, LocationIn(code="wh", name="Warehouse", kind=LocationKind.WAREHOUSE)
        )
        locations.set_channel_locations(workspace_id, "web", ChannelLocationsIn(locations=["wh"]))
        variants = catalog.variants_by_sku(workspace_id, ["HOT", *names])
    now = utcnow()
    balances, entries = [], []
    for sku, variant in variants.items():
        units = HOT_UNITS if sku == "HOT" else SPREAD_UNITS
        balances.append(
            {"id": new_id("stb"), "workspace_id": workspace_id, "variant_id": variant.id,
             "location_id": location.id, "on_hand": units, "reserved": 0, "committed": 0,
             "incoming": 0, "damaged": 0, "safety": 0, "updated_at": now}
        )  # fmt: skip
        entries.append(
            {"id": new_id("stl"), "workspace_id": workspace_id, "variant_id": variant.id,
             "location_id": location.id, "reason": LedgerReason.RECEIVE, "on_hand_delta": units,
             "reserved_delta": 0, "committed_delta": 0, "incoming_delta": 0, "damaged_delta": 0,
             "safety_delta": 0, "source_type": "bench", "source_id": None,
             "idempotency_key": f"bench-open:{variant.id}", "note": None, "created_at": now}
        )  # fmt: skip
    with engine.begin() as connection:
        connection.execute(StockBalance.__table__.insert(), balances)  # type: ignore[attr-defined]
        connection.execute(StockLedgerEntry.__table__.insert(), entries)  # type: ignore[attr-defined]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("DELETE FROM job WHERE kind = 'stock.availability_changed'"))
        connection.execute(text("VACUUM ANALYZE stock_balance"))
        connection.execute(text("VACUUM ANALYZE reservation_line"))
        ids = dict(
            connection.execute(
                text("SELECT variant_id, id FROM stock_balance WHERE workspace_id = :w"),
                {"w": workspace_id},
            ).all()
        )
    engine.dispose()
    return workspace_id, names, [ids[variants[s].id] for s in names]


# The two kinds of worker --------------------------------------------------------------------


@dataclass
class _Tally:
    """One thread's count: what succeeded (and how long each took), what was refused."""

    held: int = 0
    refused: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None


def _clocked(
    engine: Any,
    process: int,
    threads: int,
    seconds: float,
    ready: Any,
    start: Any,
    results: Any,
    run: Callable[[int, float, float, _Tally], None],
    warm: Callable[[int], None] | None = None,
) -> None:
    """The frame every round shares: connect, warm up (``warm(thread)`` for each thread, untimed:
    the first use case in a process configures the ORM's mappers and compiles its statements,
    and psycopg prepares a statement on a connection's fifth use), say ready, wait for the
    start, run ``run(thread, start_at, stop_at, tally)`` in each thread until the time is up,
    then report the sums."""
    _warm_connections(engine, threads)
    if warm is not None:
        for thread in range(threads):
            warm(thread)
    ready.put(process)
    start.wait()
    start_at = time.time()
    tallies = [_Tally() for _ in range(threads)]
    workers = [
        threading.Thread(target=run, args=(t, start_at, start_at + seconds, tallies[t]))
        for t in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.dispose()
    errors = [t.first_error for t in tallies if t.first_error]
    results.put(
        {
            "held": sum(t.held for t in tallies),
            "refused": sum(t.refused for t in tallies),
            "errors": sum(t.errors for t in tallies),
            "latencies": [x for t in tallies for x in t.latencies],
            "first_error": errors[:1],
        }
    )


def _reserve_loop(
    url: str,
    workspace_id: str,
    skus: list[str],
    per_thread: float,
    process: int,
    threads: int,
    seconds: float,
    ready: Any,
    start: Any,
    results: Any,
) -> None:
    """Reservations of one unit of a random SKU from ``skus`` until the time is up: back to
    back (closed loop) when ``per_thread`` is 0, else arriving at that rate per thread."""
    engine = make_engine(url, pool_size=threads + 1)
    factory = make_session_factory(engine)

    def one_unit(sku: str, key: str) -> ReservationIn:
        return ReservationIn(
            lines=[ReservationLineIn(sku=sku, quantity=1)], idempotency_key=key, ttl_seconds=900
        )

    def reserve(request: ReservationIn) -> None:
        """The use case as the API runs it: the entry point of POST /v1/reservations."""
        with session_scope(factory) as session:
            ReservationService(session).reserve_in_own_transaction(workspace_id, request)

    def run(thread: int, start_at: float, stop_at: float, tally: _Tally) -> None:
        rng = random.Random(process * 1000 + thread)
        n = 0
        # Open loop: this thread's share of the offered rate, as Poisson arrivals; a request
        # is timed from when it arrived, so time spent queued behind a slow one counts.
        due = time.time() + rng.expovariate(per_thread) if per_thread else None
        while (due if due is not None else time.time()) < stop_at:
            if due is not None:
                time.sleep(max(0.0, due - time.time()))
            request = one_unit(rng.choice(skus), f"{process}-{thread}-{n}-{start_at}")
            n += 1
            arrived = time.time() if due is None else due
            try:
                reserve(request)
                tally.held += 1
                tally.latencies.append((time.time() - arrived) * 1000)
            except InsufficientStock:
                tally.refused += 1
            except Exception as exc:  # counted and the first one shown: the bench must finish
                tally.errors += 1
                tally.first_error = tally.first_error or f"{type(exc).__name__}: {exc}"[:500]
            if due is not None:
                due += rng.expovariate(per_thread)

    def warm(thread: int) -> None:
        # Each thread's connection once the pool hands it out again; a key of its own, and
        # the SKUs the round uses, so the warm-up takes the same path as the timed requests.
        for n in range(WARM_UP):
            reserve(one_unit(skus[n % len(skus)], f"warm-{process}-{thread}-{n}-{time.time()}"))

    _clocked(engine, process, threads, seconds, ready, start, results, run, warm)


def _update_loop(
    url: str,
    balance_ids: list[str],
    process: int,
    threads: int,
    seconds: float,
    ready: Any,
    start: Any,
    results: Any,
) -> None:
    """Bare conditional UPDATEs on random rows of ``balance_ids`` until the time is up."""
    engine = make_engine(url, pool_size=threads + 1)
    statement = (
        "UPDATE stock_balance SET reserved = reserved + 1 WHERE id = %s "
        "AND on_hand - reserved - committed - damaged - safety >= 1"
    )

    def run(thread: int, start_at: float, stop_at: float, tally: _Tally) -> None:
        rng = random.Random(process * 1000 + thread)
        raw = engine.raw_connection()
        driver: Any = raw.driver_connection
        driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                while time.time() < stop_at:
                    began = time.perf_counter()
                    cursor.execute(statement, (rng.choice(balance_ids),))
                    if cursor.rowcount == 1:
                        tally.held += 1
                        tally.latencies.append((time.perf_counter() - began) * 1000)
                    else:
                        tally.refused += 1
        finally:
            raw.close()

    _clocked(engine, process, threads, seconds, ready, start, results, run)


def _empty_transaction_loop(
    url: str,
    process: int,
    threads: int,
    seconds: float,
    ready: Any,
    start: Any,
    results: Any,
) -> None:
    """Transactions that only ``SELECT 1``, opened and committed as a reservation's are (the
    session scope, the pool's pre-ping, BEGIN, COMMIT): what any use case pays before its work."""
    engine = make_engine(url, pool_size=threads + 1)
    factory = make_session_factory(engine)

    def run(thread: int, start_at: float, stop_at: float, tally: _Tally) -> None:
        while time.time() < stop_at:
            began = time.perf_counter()
            with session_scope(factory) as session:
                session.execute(text("SELECT 1"))
            tally.held += 1
            tally.latencies.append((time.perf_counter() - began) * 1000)

    _clocked(engine, process, threads, seconds, ready, start, results, run)


def _warm_connections(engine: Any, threads: int) -> None:
    """Open the pool's connections before the clock starts."""
    connections = [engine.connect() for _ in range(threads)]
    for connection in connections:
        connection.execute(text("SELECT 1"))
        connection.close()


def _run(what: str, target: Any, args: tuple[Any, ...], processes: int, threads: int,
         seconds: float) -> Result:  # fmt: skip
    """Spawn the processes, let each import and connect, then start them all at once."""
    context = multiprocessing.get_context("spawn")
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    children = [
        context.Process(target=target, args=(*args, p, threads, seconds, ready, start, results))
        for p in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=300)
    start.set()
    collected = [results.get(timeout=seconds + 300) for _ in children]
    for child in children:
        child.join()
    for error in {e for r in collected for e in r.get("first_error", [])}:
        console.print(f"[red]{what}: {error}[/red]", highlight=False)
    return Result(
        what,
        f"{processes} x {threads}",
        sum(r["held"] for r in collected),
        sum(r["refused"] for r in collected),
        sum(r["errors"] for r in collected),
        seconds,
        [x for r in collected for x in r["latencies"]],
    )


def report(results: list[Result], hot: Result, paced: Result, hot_ceiling: Result,
           spread: Result, spread_ceiling: Result, empty: Result) -> None:  # fmt: skip
    table = Table(title="Reservations on PostgreSQL")
    for column in ("what", "processes x threads", "done", "refused", "errors", "per second",
                   "p50 ms", "p99 ms"):  # fmt: skip
        table.add_column(column, justify="left" if column == "what" else "right")
    for r in results:
        table.add_row(
            r.what, r.shape, f"{r.operations:,}", str(r.refused), str(r.errors),
            f"{r.rate:,.0f}", f"{r.percentile(50):.1f}", f"{r.percentile(99):.1f}",
        )  # fmt: skip
    console.print(table)
    console.print(
        f"hot SKU: {hot.rate:,.0f} reservations/s at most (p99 {hot.percentile(99):.1f} ms with "
        f"{hot.shape} clients back to back), {hot.rate / hot_ceiling.rate:.1%} of the hot-row "
        f"ceiling; {paced.rate:,.0f}/s held of {paced.what.rsplit(', ', 1)[-1]}: p50 "
        f"{paced.percentile(50):.1f} ms, p99 {paced.percentile(99):.1f} ms from arrival "
        f"(target >= 300/s with p99 < 50 ms)"
    )
    console.print(
        f"spread: {spread.rate:,.0f} reservations/s = {spread.rate / spread_ceiling.rate:.1%} of "
        f"the ceiling's {spread_ceiling.rate:,.0f}/s (target >= 50%)"
    )
    console.print(
        f"for reference, a transaction doing nothing (SELECT 1) is {empty.rate:,.0f}/s = "
        f"{empty.rate / spread_ceiling.rate:.1%} of that ceiling; the spread reservations reach "
        f"{spread.rate / empty.rate:.1%} of it"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument(
        "--hot-rate", type=float, default=300.0, help="the open-loop round's offered rate"
    )
    options = parser.parse_args()
    url = bench_database_url(console)
    if url is None:
        return 0
    console.print(f"setting up {options.skus:,} SKUs and one hot SKU ...")
    workspace_id, skus, balance_ids = _setup(url, options.skus)
    engine = make_engine(url)
    with engine.connect() as connection:
        hot_id = connection.execute(
            text(
                "SELECT b.id FROM stock_balance b JOIN variant v ON v.id = b.variant_id "
                "WHERE v.workspace_id = :w AND v.sku = 'HOT'"
            ),
            {"w": workspace_id},
        ).scalar_one()
    engine.dispose()
    p, t, s = options.processes, options.threads, options.seconds
    # Each round spawns its processes and starts them together once all are connected.
    hot = _run("reserve, one hot SKU", _reserve_loop, (url, workspace_id, ["HOT"], 0.0), p, t, s)
    paced = _run(
        f"reserve, one hot SKU, {options.hot_rate:,.0f}/s offered",
        _reserve_loop,
        (url, workspace_id, ["HOT"], options.hot_rate / (p * t)),
        p,
        t,
        s,
    )
    hot_ceiling = _run(
        "bare UPDATE ... WHERE qty >= 1, one row", _update_loop, (url, [hot_id]), p, t, s
    )
    spread = _run(
        f"reserve, {len(skus):,} SKUs", _reserve_loop, (url, workspace_id, skus, 0.0), p, t, s
    )
    spread_ceiling = _run(
        f"bare UPDATE ... WHERE qty >= 1, {len(skus):,} rows",
        _update_loop,
        (url, balance_ids),
        p,
        t,
        s,
    )
    # Not a target: what the transaction around a reservation costs before any of its work.
    empty = _run("transaction with SELECT 1 only", _empty_transaction_loop, (url,), p, t, s)
    report(
        [hot, paced, hot_ceiling, spread, spread_ceiling, empty],
        hot, paced, hot_ceiling, spread, spread_ceiling, empty,
    )  # fmt: skip
    console.print(f"PostgreSQL: {server_settings(url)}")
    return 1 if any(r.errors for r in (hot, paced, spread)) else 0


if __name__ == "__main__":
    raise SystemExit(main())
