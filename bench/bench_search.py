"""The clerk's search: p50/p99 per query shape on 1M profiles, next to a plain ILIKE scan.

A store clerk types a surname, "Last First", "First Last", the start of a first name, part of
an email or its domain, a whole email, a phone the way the customer says it, or an order
number; the box answers as they type (``GET /v1/profiles?q=``, the dashboard, ``tessera
profiles search``: all ``ProfileService.search``). Target: under 100 ms at p99 on 1M profiles.

On PostgreSQL (``TESSERA_BENCH_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/tessera_bench``; skipped with a reason when none
answers), in a database of its own next to it (``<name>_search``, made afresh): ``--profiles``
customers of a British brand (``eval_matching.synthetic_people``: Zipf-distributed first
names and surnames, ``first.surname123@domain`` emails, UK mobile numbers), each a profile
with the search keys the stitch writes (``identifiers.search_keys``) and its email and phone
identifiers, and one in ten with an order. Then the same at the size of a demo brand on
SQLite (``--demo-profiles``, the large demo has 3,000 shoppers).

Each query is a random customer's, typed in that shape; a query counts as found when that
customer is among the 20 answers ("answers": how many came back, on average). A common surname,
three letters of a first name or an email domain are shared by hundreds: their 20 answers are
right without being that customer. The peer is what a first version would do: one ``ILIKE
'%typed%'`` over the name, email and phone traits (PostgreSQL), LIMIT 20; it cannot find
"Last First" nor a phone written another way, and it reads the workspace's profiles.

``python -m bench.bench_search [--profiles 1000000] [--queries 200] [--peer-queries 5]
[--demo-profiles 3000] [--quick] [--reuse-workspace ws_...]`` (the last queries the profiles
an earlier run loaded, named in its table's title, and skips SQLite).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert, make_url, text
from sqlalchemy.orm import Session

from bench._database import bench_database_url, server_settings
from bench.eval_matching import synthetic_people
from tessera.customer.profiles import ProfileService
from tessera.db.admin import recreate_database
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.db.migrate import upgrade
from tessera.identity.graph import identifiers as ids
from tessera.models.identity import Identifier, Profile, ProfileStatus
from tessera.models.order import Order, OrderStatus
from tessera.workspace.service import WorkspaceService

console = Console(width=None if sys.stdout.isatty() else 180)
REGION = "GB"
CHUNK = 50_000
ORDER_EVERY = 10
LIMIT = 20
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PROFILE_COLUMNS = (
    "id", "workspace_id", "status", "traits", "trait_stamps", *ids.SEARCH_COLUMNS,
    "created_at", "updated_at",
)  # fmt: skip
IDENTIFIER_COLUMNS = (
    "id", "workspace_id", "type", "value", "raw", "profile_id", "origin_profile_id",
    "first_seen", "last_seen",
)  # fmt: skip
ORDER_COLUMNS = (
    "id", "workspace_id", "platform", "external_id", "order_number", "channel", "status",
    "snapshot_status", "is_cancelled", "currency", "subtotal", "tax", "shipping", "discount",
    "total", "refunded_total", "customer", "placed_at", "version_key", "created_at",
    "updated_at",
)  # fmt: skip
# The peer: the query a first version of the search box would run.
PEER = text(
    "SELECT id FROM profile WHERE workspace_id = :ws AND status = 'active' AND ("
    "(traits->>'first_name') || ' ' || (traits->>'last_name') ILIKE :pattern "
    "OR traits->>'email' ILIKE :pattern OR traits->>'phone' ILIKE :pattern) LIMIT 20"
)


@dataclass(frozen=True)
class Shape:
    """One way a clerk types a customer: its name, and the text for customer ``row``."""

    name: str
    typed: Callable[[dict[str, Any]], str]


def _national(phone: str) -> str:
    """+447911123456 as a Briton says it: 07911 123456."""
    digits = "0" + phone.removeprefix("+44")
    return f"{digits[:5]} {digits[5:]}"


SHAPES = (
    Shape("surname", lambda p: p["last_name"].title()),
    Shape("Last First", lambda p: f"{p['last_name'].title()} {p['first_name'].title()}"),
    Shape("First Last", lambda p: f"{p['first_name'].title()} {p['last_name'].title()}"),
    Shape("first name, typing", lambda p: p["first_name"][:3]),
    Shape("email, local part", lambda p: p["email"].partition("@")[0][:9]),
    Shape("email domain", lambda p: "@" + p["email"].partition("@")[2]),
    Shape("whole email", lambda p: p["email"].upper()),
    Shape("phone +44 20 ...", lambda p: f"+44 {p['phone'][3:7]} {p['phone'][7:]}"),
    Shape("phone 07911 ...", lambda p: _national(p["phone"])),
    Shape("phone 0791-1...", lambda p: _national(p["phone"]).replace(" ", "-")),
    Shape("order number", lambda p: f"#{p['order']}"),
)


@dataclass
class Timing:
    """Milliseconds per query, how many found their customer, how many answers on average."""

    latencies: list[float]
    found: int
    answers: int

    def cells(self) -> list[str]:
        if not self.latencies:
            return ["-", "-", "-", "-"]
        p50, p99 = np.percentile(self.latencies, [50, 99])
        count = len(self.latencies)
        return [f"{p50:.1f}", f"{p99:.1f}", f"{self.found}/{count}", f"{self.answers / count:.1f}"]


def _people(count: int) -> list[dict[str, Any]]:
    columns = synthetic_people(count, seed=3)
    people = []
    for n in range(count):
        person = {name: values[n] for name, values in columns.items()}
        person["id"] = f"cus_bench{n:010d}"
        person["order"] = 100_000 + n if n % ORDER_EVERY == 0 else None
        people.append(person)
    return people


def _rows(
    workspace_id: str, people: Sequence[dict[str, Any]], held: set[tuple[str, str]]
) -> Iterator[tuple[str, list[Any]]]:
    """(table, row) for each profile, its identifiers and its order, in the tables' orders.
    A generated email or phone may recur: the first to have it holds it (``held``)."""
    active = ProfileStatus.ACTIVE.value
    placed = OrderStatus.PLACED.value
    for person in people:
        traits = {
            k: person[k] for k in ("first_name", "last_name", "email", "phone", "postcode", "city")
        }
        keys = ids.search_keys(traits, REGION)
        pid = person["id"]
        yield "profile", [pid, workspace_id, active, traits, {},
                          *(keys[c] for c in ids.SEARCH_COLUMNS), NOW, NOW]  # fmt: skip
        for kind, value in (("email", person["email"].lower()), ("phone", person["phone"])):
            if (kind, value) in held:
                continue
            held.add((kind, value))
            yield "identifier", [f"idn_{kind[0]}{pid[4:]}", workspace_id, kind, value, value,
                                 pid, pid, NOW, NOW]  # fmt: skip
        if person["order"] is not None:
            order_id = f"ord_bench{person['order']:010d}"
            yield "sales_order", [order_id, workspace_id, "shopify", str(person["order"]),
                                  f"#{person['order']}", "web", placed, placed, False, "GBP",
                                  4200, 0, 0, 0, 4200, 0, {"email": person["email"]}, NOW,
                                  "1", NOW, NOW]  # fmt: skip
            yield "identifier", [f"idn_o{pid[4:]}", workspace_id, "order", order_id, order_id,
                                 pid, pid, NOW, NOW]  # fmt: skip


COLUMNS = {"profile": PROFILE_COLUMNS, "identifier": IDENTIFIER_COLUMNS,
           "sales_order": ORDER_COLUMNS}  # fmt: skip


def _load(engine: Engine, workspace_id: str, people: Sequence[dict[str, Any]]) -> float:
    """Insert every row (binary COPY on PostgreSQL); returns the seconds it took."""
    started = time.perf_counter()
    held: set[tuple[str, str]] = set()
    for start in range(0, len(people), CHUNK):
        batch: dict[str, list[list[Any]]] = {name: [] for name in COLUMNS}
        for table, row in _rows(workspace_id, people[start : start + CHUNK], held):
            batch[table].append(row)
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                driver = connection.connection.driver_connection
                assert driver is not None
                with driver.cursor() as cursor:
                    for table, rows in batch.items():
                        names = ", ".join(COLUMNS[table])
                        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(
                                    [Jsonb(v) if isinstance(v, dict) else v for v in row]
                                )
            else:
                models = {"profile": Profile, "identifier": Identifier, "sales_order": Order}
                for table, rows in batch.items():
                    connection.execute(
                        insert(models[table]),
                        [dict(zip(COLUMNS[table], r, strict=True)) for r in rows],
                    )
    with engine.begin() as connection:
        connection.execute(
            text("ANALYZE" if engine.dialect.name == "sqlite" else "ANALYZE profile")
        )
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE identifier"))
            connection.execute(text("ANALYZE sales_order"))
    return time.perf_counter() - started


def _workspace(engine: Engine) -> str:
    with session_scope(make_session_factory(engine)) as session:
        workspace = WorkspaceService(session).create_workspace(
            "Search Bench", f"search-{secrets.token_hex(4)}", default_region=REGION
        )
        return workspace.id


def _measure(
    engine: Engine, workspace_id: str, samples: Sequence[dict[str, Any]], shape: Shape,
    run: Callable[[Session, str], list[str]],
) -> Timing:  # fmt: skip
    factory = make_session_factory(engine)
    timing = Timing([], 0, 0)
    for person in samples:
        typed = shape.typed(person)
        started = time.perf_counter()
        with session_scope(factory) as session:
            found = run(session, typed)
        timing.latencies.append((time.perf_counter() - started) * 1000)
        timing.found += person["id"] in found
        timing.answers += len(found)
    return timing


def _tessera(workspace_id: str) -> Callable[[Session, str], list[str]]:
    def run(session: Session, typed: str) -> list[str]:
        return [hit.id for hit in ProfileService(session).search(workspace_id, typed, LIMIT)]

    return run


def _peer(workspace_id: str) -> Callable[[Session, str], list[str]]:
    def run(session: Session, typed: str) -> list[str]:
        escaped = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = session.execute(PEER, {"ws": workspace_id, "pattern": f"%{escaped}%"})
        return [str(row.id) for row in rows]

    return run


def bench(
    url: str, profiles: int, queries: int, peer_queries: int, reuse: str | None = None
) -> tuple[Table, float]:
    """Load ``profiles`` customers into ``url`` (or take workspace ``reuse``, loaded by an
    earlier run with as many) and time each shape; the table and the load's seconds."""
    engine = make_engine(url)
    try:
        people = _people(profiles)
        if reuse is None:
            workspace_id = _workspace(engine)
            loaded = _load(engine, workspace_id, people)
        else:
            workspace_id, loaded = reuse, 0.0
        rng = np.random.default_rng(5)
        with_orders = [p for p in people if p["order"] is not None]
        backend = engine.dialect.name
        table = Table(
            title=f"Customer search, {profiles:,} profiles on {backend} (workspace "
            f"{workspace_id}), ms per query"
        )
        for column in ("shape", "example", "p50", "p99", "found", "answers"):
            table.add_column(column, justify="left" if column in ("shape", "example") else "right")
        if backend == "postgresql":
            for column in ("ILIKE p50", "ILIKE p99", "ILIKE found", "ILIKE answers"):
                table.add_column(column, justify="right")
        for shape in SHAPES:
            pool = with_orders if shape.name == "order number" else people
            picks = [pool[int(i)] for i in rng.integers(0, len(pool), queries)]
            ours = _measure(engine, workspace_id, picks, shape, _tessera(workspace_id))
            cells = [shape.name, shape.typed(picks[0]), *ours.cells()]
            if backend == "postgresql":
                peer = _measure(
                    engine, workspace_id, picks[:peer_queries], shape, _peer(workspace_id)
                )
                cells += peer.cells()
            table.add_row(*cells)
        return table, loaded
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the search benchmark on PostgreSQL and at demo size on SQLite; print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_search")
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="per shape")
    parser.add_argument("--peer-queries", type=int, default=5, help="per shape, ILIKE")
    parser.add_argument("--demo-profiles", type=int, default=3_000)
    parser.add_argument("--quick", action="store_true", help="100k profiles")
    parser.add_argument(
        "--reuse-workspace", default=None, help="query an earlier run's PostgreSQL profiles"
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.profiles, options.queries = 100_000, 100
    if options.reuse_workspace is None:
        with tempfile.TemporaryDirectory() as folder:
            demo = f"sqlite:///{Path(folder) / 'demo.db'}"
            upgrade(demo)
            table, loaded = bench(demo, options.demo_profiles, options.queries, 0)
            console.print(table)
            console.print(f"loaded in {loaded:.1f} s")
    shared = bench_database_url(console)
    if shared is None:
        return 0
    own = f"{make_url(shared).database}_search"
    if options.reuse_workspace is None:
        url = recreate_database(shared, own)
    else:
        url = make_url(shared).set(database=own).render_as_string(hide_password=False)
    upgrade(url)
    console.print(server_settings(url))
    table, loaded = bench(
        url, options.profiles, options.queries, options.peer_queries, options.reuse_workspace
    )
    console.print(table)
    if loaded:
        console.print(f"loaded {options.profiles:,} profiles in {loaded:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
