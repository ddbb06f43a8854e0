"""The Measure scorecard (/measure) on a workspace of 1M orders and 10M events: read from its
metric snapshot, next to computing it live, on PostgreSQL (``--sqlite`` for a smaller run on a
SQLite file).

Rows are generated with NumPy and written with COPY (SQLite: executemany): profiles with a
user id, one ``order`` identifier per order, orders over two years on five channels, and
events of which 40 % belong to a known customer (campaign views, referrals, page views,
email clicks) and the rest to anonymous visitors. Then the live computation of the four
reports (what every request did before snapshots) is timed once, stored as the snapshot, and
the page and the API are asked ``--requests`` times each through the real app as a signed-in
owner. The goal issue 19 sets: the KPI page under 1 s on this data set.

    python -m bench.bench_kpis [--orders 1000000] [--events 10000000] [--requests 20]
                               [--reuse WORKSPACE_ID] [--sqlite PATH]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import secrets
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert, text

from bench._database import bench_database_url, server_settings
from bench.bench_pages import PASSWORD, _owner, _p, _times
from tessera.analytics.report.snapshots import SnapshotService
from tessera.app import create_app
from tessera.config import load_settings
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.db.migrate import upgrade
from tessera.models.collect import Event
from tessera.models.identity import Identifier, Profile
from tessera.models.order import Order

GOAL_MS = 1000.0
CHUNK = 200_000
DAYS = 730
CHANNELS = np.array(["web", "app", "store:soho", "amazon", "tiktok_shop"])
CHANNEL_SHARE = [0.45, 0.15, 0.15, 0.15, 0.10]
SOURCES = ("tiktok", "instagram", "google", "newsletter", "creator")
EVENT_KINDS = ("campaign", "referral", "page", "email", "plain")
EVENT_SHARE = [0.2, 0.1, 0.4, 0.05, 0.25]
COLUMNS = {
    "profile": ("id", "workspace_id", "status", "traits", "trait_stamps", "first_seen",
                "last_seen", "created_at", "updated_at"),
    "identifier": ("id", "workspace_id", "type", "value", "raw", "profile_id",
                   "origin_profile_id", "first_seen", "last_seen"),
    "sales_order": ("id", "workspace_id", "platform", "external_id", "order_number", "channel",
                    "status", "snapshot_status", "is_cancelled", "currency", "subtotal", "tax",
                    "shipping", "discount", "total", "refunded_total", "customer", "placed_at",
                    "version_key", "created_at", "updated_at"),
    "event": ("id", "workspace_id", "message_id", "type", "event", "user_id", "anonymous_id",
              "channel", "timestamp", "received_at", "payload"),
}  # fmt: skip
MODELS: dict[str, Any] = {
    "profile": Profile, "identifier": Identifier, "sales_order": Order, "event": Event,
}  # fmt: skip


class Data:
    """Generated rows, table by table, in chunks; values as COPY text (``\\N`` for null)."""

    def __init__(self, workspace_id: str, orders: int, events: int, now: datetime) -> None:
        self.workspace_id = workspace_id
        self.orders = orders
        self.events = events
        self.customers = max(orders // 3, 1)
        self.tag = secrets.token_hex(3)
        self.rng = np.random.default_rng(19)
        self.start = np.datetime64(now.replace(tzinfo=None), "s") - np.timedelta64(DAYS, "D")

    def _stamps(self, count: int) -> np.ndarray[Any, Any]:
        seconds = self.rng.integers(0, DAYS * 86400, count)
        return np.datetime_as_string(self.start + seconds.astype("timedelta64[s]"), unit="s")

    def _customer(self, index: int) -> str:
        return f"cus_k{self.tag}{index:09d}"

    def rows(self, table: str) -> Iterator[list[tuple[Any, ...]]]:
        maker = {"profile": self._profiles, "identifier": self._identifiers,
                 "sales_order": self._orders, "event": self._events}[table]  # fmt: skip
        return maker()

    def _profiles(self) -> Iterator[list[tuple[Any, ...]]]:
        first = str(self.start).replace("T", " ") + "+00"
        for begin in range(0, self.customers, CHUNK):
            yield [
                (self._customer(n), self.workspace_id, "active", "{}", "{}", first, first,
                 first, first)
                for n in range(begin, min(begin + CHUNK, self.customers))
            ]  # fmt: skip

    def _identifiers(self) -> Iterator[list[tuple[Any, ...]]]:
        first = str(self.start).replace("T", " ") + "+00"
        ws = self.workspace_id
        for begin in range(0, self.customers, CHUNK):
            yield [
                (f"idn_u{self.tag}{n:09d}", ws, "user_id", f"u{self.tag}{n}", f"u{self.tag}{n}",
                 self._customer(n), self._customer(n), first, first)
                for n in range(begin, min(begin + CHUNK, self.customers))
            ]  # fmt: skip
        buyers = np.random.default_rng(7).integers(0, self.customers, self.orders)
        for begin in range(0, self.orders, CHUNK):
            yield [
                (f"idn_o{self.tag}{n:09d}", ws, "order", f"ord_k{self.tag}{n:09d}",
                 f"ord_k{self.tag}{n:09d}", self._customer(int(buyers[n])),
                 self._customer(int(buyers[n])), first, first)
                for n in range(begin, min(begin + CHUNK, self.orders))
            ]  # fmt: skip

    def _orders(self) -> Iterator[list[tuple[Any, ...]]]:
        ws = self.workspace_id
        for begin in range(0, self.orders, CHUNK):
            count = min(CHUNK, self.orders - begin)
            placed = self._stamps(count)
            channels = self.rng.choice(CHANNELS, count, p=CHANNEL_SHARE)
            totals = self.rng.integers(1000, 30000, count)
            rows = []
            for i in range(count):
                n = begin + i
                at = f"{placed[i].replace('T', ' ')}+00"
                total = int(totals[i])
                oid = f"ord_k{self.tag}{n:09d}"
                rows.append((oid, ws, "shopify", oid, str(n), str(channels[i]), "placed",
                             "placed", False, "USD", total, 0, 0, 0, total, 0, "{}", at, "1",
                             at, at))  # fmt: skip
            yield rows

    def _events(self) -> Iterator[list[tuple[Any, ...]]]:
        ws = self.workspace_id
        payloads = {
            "campaign": [json.dumps({"context": {"campaign": {"source": s, "medium": "social",
                                                              "name": f"{s}-spring"}}})
                         for s in SOURCES],
            "referral": [json.dumps({"context": {"page": {"referrer": "https://www.google.com/"}}})],
            "page": ["{}"], "email": ["{}"], "plain": ["{}"],
        }  # fmt: skip
        for begin in range(0, self.events, CHUNK):
            count = min(CHUNK, self.events - begin)
            stamps = self._stamps(count)
            kinds = self.rng.choice(len(EVENT_KINDS), count, p=EVENT_SHARE)
            known = self.rng.random(count) < 0.4
            people = self.rng.integers(0, self.customers, count)
            picks = self.rng.integers(0, len(SOURCES), count)
            rows = []
            for i in range(count):
                n = begin + i
                kind = EVENT_KINDS[kinds[i]]
                at = f"{stamps[i].replace('T', ' ')}+00"
                options = payloads[kind]
                name = {"page": None, "email": "Email Link Clicked"}.get(kind, "Product Viewed")
                user = f"u{self.tag}{people[i]}" if known[i] else None
                rows.append((f"evt_k{self.tag}{n:010d}", ws, f"m{self.tag}{n}",
                             "page" if kind == "page" else "track", name, user,
                             None if known[i] else f"a{self.tag}{n}",
                             "email" if kind == "email" else "web", at, at,
                             options[int(picks[i]) % len(options)]))  # fmt: skip
            yield rows


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    for row in rows:
        out.write("\t".join("\\N" if v is None else ("t" if v is True else "f" if v is False
                                                     else str(v)) for v in row))  # fmt: skip
        out.write("\n")
    return out.getvalue()


def _sqlite_value(column: str, value: Any) -> Any:
    if isinstance(value, str) and value.endswith("+00") and column in DATETIMES:
        return datetime.fromisoformat(value[:-3]).replace(tzinfo=UTC)
    if column in DOCUMENTS and isinstance(value, str):
        return json.loads(value)
    return value


DATETIMES = {"first_seen", "last_seen", "created_at", "updated_at", "placed_at", "timestamp",
             "received_at"}  # fmt: skip
DOCUMENTS = {"traits", "trait_stamps", "customer", "payload"}


def load(engine: Engine, data: Data) -> float:
    """Write every table (COPY on PostgreSQL); the seconds it took."""
    started = time.perf_counter()
    for table, columns in COLUMNS.items():
        for rows in data.rows(table):
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    driver = connection.connection.driver_connection
                    assert driver is not None
                    with driver.cursor() as cursor:
                        names = ", ".join(f'"{c}"' for c in columns)
                        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                            copy.write(_copy_text(rows))
                else:
                    connection.execute(
                        insert(MODELS[table]),
                        [{c: _sqlite_value(c, v) for c, v in zip(columns, row, strict=True)}
                         for row in rows],
                    )  # fmt: skip
    with engine.begin() as connection:
        for table in COLUMNS:
            connection.execute(text(f"ANALYZE {table}"))
    return time.perf_counter() - started


def bench(url: str, orders: int, events: int, requests: int, reuse: str | None) -> Table:
    engine = make_engine(url)
    workspace_id, email, token = _owner(url, reuse)
    loaded = 0.0
    if reuse is None:
        loaded = load(engine, Data(workspace_id, orders, events, datetime.now(UTC)))
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with session_scope(factory) as session:
        took = SnapshotService(session).refresh(workspace_id)
    live_ms = (time.perf_counter() - started) * 1000
    app = create_app(
        load_settings(
            database_url=url,
            environment="production",
            log_level="WARNING",
            secret_key=secrets.token_hex(32),
        )
    )
    with TestClient(app, base_url="https://testserver") as client:
        form = client.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None, "no CSRF token on /login"
        signed = client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": csrf.group(1)},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text[:200]
        page = _times(client, "/measure", requests, {})
        assert "Snapshot as of" in client.get("/measure").text
        api = _times(
            client, "/v1/reports/attribution", requests, {"Authorization": f"Bearer {token}"}
        )
    engine.dispose()
    title = (
        f"Scorecard, {orders:,} orders and {events:,} events ({engine.dialect.name}, "
        f"workspace {workspace_id}{f', loaded in {loaded:.0f} s' if loaded else ''})"
    )
    table = Table(title=title)
    for column in ("what", "p50 ms", "p99 ms", "live / p50", "under 1 s"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for name, times in (("/measure, snapshot", page),
                        ("/v1/reports/attribution, snapshot", api)):  # fmt: skip
        p50, p99 = _p(times, 50), _p(times, 99)
        table.add_row(name, f"{p50:.1f}", f"{p99:.1f}", f"{live_ms / p50:,.0f}x",
                      "yes" if p99 < GOAL_MS else "[red]no[/red]")  # fmt: skip
    live_ok = "yes" if live_ms < GOAL_MS else "[red]no[/red]"
    table.add_row("live: four reports (was per request)", f"{live_ms:,.0f}", "", "", live_ok)
    for kind, ms in took.items():
        table.add_row(f"  live {kind}", f"{ms:,}", "", "", "")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_kpis")
    parser.add_argument("--orders", type=int, default=None, help="1M (SQLite: 100k)")
    parser.add_argument("--events", type=int, default=None, help="10M (SQLite: 1M)")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reuse", help="a workspace an earlier run loaded")
    parser.add_argument("--sqlite", help="a SQLite file to run on instead of PostgreSQL")
    args = parser.parse_args(argv)
    console = Console()
    if args.sqlite:
        url: str | None = f"sqlite:///{args.sqlite}"
        upgrade(url)
        orders, events = args.orders or 100_000, args.events or 1_000_000
    else:
        url = bench_database_url(console)
        if url is None:
            return 0
        console.print(f"PostgreSQL: {server_settings(url)}")
        orders, events = args.orders or 1_000_000, args.events or 10_000_000
    with console.status(f"loading {orders:,} orders and {events:,} events, then timing"):
        table = bench(url, orders, events, args.requests, args.reuse)
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
