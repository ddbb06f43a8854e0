"""Collect ingestion: ``/v1/batch`` events per second next to the raw-insert ceiling.

For PostgreSQL (``TESSERA_BENCH_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/tessera_bench``, created and migrated if missing; skipped
with a reason when none answers) and SQLite (a temporary file), in one run:

- **ceilings**: the same event rows the API stores, inserted with the same engine and driver
  (``make_engine``), 100 rows per statement and per transaction, by 1 and by 2 processes, two
  ways: SQLAlchemy Core ``executemany`` of a plain INSERT into ``event`` (the ceiling the issue
  names), and the API's own statement (``CollectRepository.insert_events``: dedupe, RETURNING)
  without HTTP in front;
- **/v1/batch**: ``tessera serve --workers N`` (N = 1 and 2: this machine has 2 cores) and 16
  concurrent keep-alive clients, each posting batches of 100 new events, for a fixed time after
  a warm-up (30 s on PostgreSQL: sustained, about 200k events); every answer must be 200 with
  100 accepted, and the database must hold every accepted event;
- **/v1/track**: single events, one request at a time, for p50/p99 latency.

``python -m bench.bench_collect [--seconds 30] [--sqlite-seconds 10] [--quick] [--only sqlite]``;
``python -m bench`` calls ``main()``. All traffic is to 127.0.0.1 and every loop is bounded by a
deadline and a request count. The load average is printed with the table: on a shared 2-core
machine the figures move with whatever else runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select, text

import tessera
from bench._database import bench_database_url
from tessera.collect import domain
from tessera.collect.repository import CollectRepository
from tessera.collect.service import CollectService
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.db.migrate import upgrade
from tessera.models.collect import Event
from tessera.models.workspace import ApiKeyKind
from tessera.workspace.service import WorkspaceService

BATCH = 100  # events per request and per ceiling transaction (the Python SDK's upload size)
CLIENTS = 16
WARMUP_SECONDS = 3.0
LATENCY_REQUESTS = 1_000
ROOT = Path(__file__).resolve().parent.parent
console = Console()


# The events ----------------------------------------------------------------------------------


def _events(tag: str) -> list[dict[str, Any]]:
    """100 realistic messages (page views, product views, carts, orders, identifies) whose
    message ids contain ``tag``; ``@@R@@`` in ``tag`` is replaced per request."""
    context = {
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "locale": "en-US",
        "ip": "203.0.113.7",
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15",
        "page": {"path": "/products/night-serum", "url": "https://shop.example/products/night-serum",
                 "referrer": "https://www.tiktok.com/", "title": "Night Serum"},
        "campaign": {"source": "tiktok", "medium": "creator", "name": "spring-glow"},
    }  # fmt: skip
    product = {
        "product_id": "sku-serum-30",
        "sku": "SERUM-30",
        "name": "Night Serum",
        "brand": "Saltwater",
        "category": "Skin care",
        "price": 38.0,
        "quantity": 1,
    }
    messages: list[dict[str, Any]] = []
    for i in range(BATCH):
        message: dict[str, Any] = {
            "messageId": f"{tag}-{i}",
            "anonymousId": f"anon-{tag}-{i % 17}",
            "timestamp": f"2026-11-25T10:{i % 60:02d}:{i % 59:02d}.000Z",
            "context": context,
        }
        kind = i % 10
        if kind < 3:
            page = {"path": "/products/night-serum", "title": "Night Serum"}
            message.update(type="page", name="Night Serum", properties=page)
        elif kind < 6:
            message.update(type="track", event="Product Viewed", properties=product)
        elif kind < 8:
            cart = {**product, "cart_id": f"cart-{i}"}
            message.update(type="track", event="Product Added", properties=cart)
        elif kind == 8:
            traits = {"email": f"shopper{i}@example.com", "first_name": "Ava"}
            message.update(type="identify", userId=f"cus-{i}", traits=traits)
        else:
            order = {
                "order_id": f"{tag}-order-{i}",
                "total": 76.0,
                "revenue": 70.0,
                "currency": "USD",
                "products": [{**product, "quantity": 2}],
            }
            message.update(
                type="track", event="Order Completed", userId=f"cus-{i}", properties=order
            )
        messages.append(message)
    return messages


def _batch_template(tag: str) -> bytes:
    return orjson.dumps({"batch": _events(tag), "sentAt": "2026-11-25T11:00:05.000Z"})


# Databases -----------------------------------------------------------------------------------


def _empty_events(url: str) -> None:
    """Start every measurement from an empty ``event`` table (the bench database is ours)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("TRUNCATE event"))
        else:
            connection.execute(text("DELETE FROM event"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE event"))
    engine.dispose()
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split(":///", 1)[1]) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@dataclass(frozen=True)
class Tenant:
    workspace_id: str
    source_id: str
    write_key: str


def _tenant(url: str) -> Tenant:
    """A fresh workspace and write key, made through the services like any brand's."""
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        service = WorkspaceService(session)
        slug = f"bench-{secrets.token_hex(4)}"
        workspace = service.create_workspace("Bench Brand", slug)
        _key, token = service.create_api_key(workspace.id, ApiKeyKind.PUBLIC, "bench")
        sender = CollectService(session).sender_for_write_key(token)
        assert sender.source_id is not None
        tenant = Tenant(workspace.id, sender.source_id, token)
    engine.dispose()
    return tenant


def _stored(url: str, workspace_id: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(
            select(func.count()).select_from(Event).where(Event.workspace_id == workspace_id)
        )
    engine.dispose()
    return int(count or 0)


# The ceiling ---------------------------------------------------------------------------------


def _ceiling_rows(tenant: Tenant, tag: str, batches: int) -> list[list[dict[str, Any]]]:
    """The rows ``CollectService.ingest`` writes for the same messages (ids included)."""
    received_at = datetime.now(UTC)
    sent_at = datetime(2026, 11, 25, 11, 0, 5, tzinfo=UTC)
    template = _events(f"{tag}-r@@R@@")
    out = []
    for request in range(batches):
        rows = []
        for message in template:
            message = {**message, "messageId": message["messageId"].replace("@@R@@", str(request))}
            clean = domain.clean_message(message, received_at, batch_sent_at=sent_at)
            assert isinstance(clean, domain.CleanMessage)
            rows.append(
                {
                    "id": f"evt_{tag}{request:07d}{len(rows):03d}",
                    "workspace_id": tenant.workspace_id,
                    "message_id": clean.message_id,
                    "type": clean.type,
                    "event": clean.event,
                    "user_id": clean.user_id,
                    "anonymous_id": clean.anonymous_id,
                    "channel": "web",
                    "source_id": tenant.source_id,
                    "timestamp": clean.timestamp,
                    "original_timestamp": clean.original_timestamp,
                    "sent_at": clean.sent_at,
                    "received_at": received_at,
                    "payload": clean.payload,
                }
            )
        out.append(rows)
    return out


def _ceiling_process(
    url: str, tenant: Tenant, tag: str, batches: int, way: str, budget: float, start: Any,
    ready: Any,
) -> tuple[int, float, float]:  # fmt: skip
    """Insert ``batches`` x 100 rows, one transaction each, for at most ``budget`` seconds;
    (rows inserted, started, finished).

    ``core``: SQLAlchemy Core ``executemany`` of a plain INSERT. ``api``: the statement the
    API runs (``CollectRepository.insert_events``: dedupe on conflict, ids and RETURNING).
    """
    rows = _ceiling_rows(tenant, tag, batches)
    engine = make_engine(url)
    statement = insert(Event.__table__)  # type: ignore[arg-type]
    factory = make_session_factory(engine)
    with engine.connect() as connection:  # warm the connection and the statement cache
        connection.execute(text("SELECT 1"))
    if way == "api":
        rows = [[{k: v for k, v in row.items() if k != "id"} for row in b] for b in rows]
    ready.wait()
    start.wait()
    started = time.time()
    inserted = 0
    for batch in rows:
        if time.time() - started > budget:
            break
        inserted += len(batch)
        if way == "core":
            with engine.begin() as connection:
                connection.execute(statement, batch)
        else:
            with session_scope(factory) as session:
                assert len(CollectRepository(session).insert_events(batch)) == len(batch)
    finished = time.time()
    engine.dispose()
    return inserted, started, finished


def _ceiling(
    url: str, tenant: Tenant, processes: int, events: int, way: str, budget: float
) -> Result:
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    ready = manager.Barrier(processes + 1)
    start = manager.Event()
    batches = max(1, events // BATCH // processes)
    with context.Pool(processes) as pool:
        tags = [f"{way}{processes}p{n}{secrets.token_hex(3)}" for n in range(processes)]
        arguments = [(url, tenant, tag, batches, way, budget, start, ready) for tag in tags]
        jobs = [pool.apply_async(_ceiling_process, args) for args in arguments]
        ready.wait()
        start.set()
        done = [job.get(timeout=600) for job in jobs]
    manager.shutdown()
    rows = sum(d[0] for d in done)
    seconds = max(d[2] for d in done) - min(d[1] for d in done)
    what = "ceiling: Core executemany" if way == "core" else "ceiling: API's INSERT, no HTTP"
    return Result(what, f"{processes} proc", rows, seconds)


# The API ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``tessera serve --workers N`` on a free local port, as an operator would run it."""

    def __init__(self, url: str, workers: int, log_path: Path) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "TESSERA_DATABASE_URL": url,
            "TESSERA_ENVIRONMENT": "development",
            "TESSERA_LOG_JSON": "true",
            "TESSERA_LOG_LEVEL": "INFO",
            # The server imports the same tessera as this process.
            "PYTHONPATH": os.pathsep.join([str(Path(tessera.__file__).parent.parent), *sys.path]),
        }
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tessera", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(workers)],
            env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"the server exited with {code}; see {log_path}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not start; see {log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@dataclass
class Load:
    requests: int = 0
    accepted: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


class Connection:
    """One keep-alive HTTP/1.1 connection that posts and reads ``Content-Length`` answers.

    The load generator shares the 2 cores with the server and the database, so it has to be
    lean: httpx spent about 50 us of client CPU per event (a fifth of the machine at these
    rates); this costs a small fraction of that. It understands only what Tessera answers.
    """

    def __init__(self, base_url: str, write_key: str) -> None:
        self.host, _, port = base_url.removeprefix("http://").partition(":")
        self.port = int(port)
        self.headers = (
            f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {write_key}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        start = f"POST {path} HTTP/1.1\r\n".encode()
        length = f"Content-Length: {len(body)}\r\n\r\n".encode()
        self.writer.write(start + self.headers + length + body)
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 60)
        status = int(head[9:12])
        size = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                size = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked answers are not expected from /v1")
        return status, await asyncio.wait_for(self.reader.readexactly(size), 60)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def _client(
    connection: Connection, template: bytes, until: float, load: Load | None,
    first_request: int, max_requests: int,
) -> int:  # fmt: skip
    """Post batches until ``until``; returns the next request number. ``load`` None: warm-up."""
    request = first_request
    while time.monotonic() < until and request < first_request + max_requests:
        body = template.replace(b"@@R@@", str(request).encode())
        request += 1
        sent = time.perf_counter()
        status, content = await connection.post("/v1/batch", body)
        elapsed = time.perf_counter() - sent
        if load is None:
            continue
        load.requests += 1
        load.latencies.append(elapsed)
        if status != 200:
            load.failures.append(f"{status}: {content[:200]!r}")
            continue
        accepted = orjson.loads(content)["accepted"]
        load.accepted += accepted
        if accepted != BATCH:
            load.failures.append(f"accepted {accepted} of {BATCH}")
    return request


async def _drive(base_url: str, write_key: str, tag: str, seconds: float) -> tuple[Load, float]:
    templates = [_batch_template(f"{tag}-c{c}-r@@R@@") for c in range(CLIENTS)]
    connections = [Connection(base_url, write_key) for _ in range(CLIENTS)]
    try:
        warm_until = time.monotonic() + WARMUP_SECONDS
        next_request = await asyncio.gather(
            *(_client(c, t, warm_until, None, 0, 10_000)
              for c, t in zip(connections, templates, strict=True))
        )  # fmt: skip
        load = Load()
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            *(_client(c, t, until, load, n, 100_000)
              for c, t, n in zip(connections, templates, next_request, strict=True))
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        for connection in connections:
            await connection.close()
    return load, elapsed


async def _latency(base_url: str, write_key: str, tag: str) -> list[float]:
    """Single events through /v1/track, one at a time."""
    message = _events(tag)[4]  # a Product Viewed
    template = orjson.dumps({**message, "messageId": "@@R@@"})
    latencies = []
    connection = Connection(base_url, write_key)
    try:
        for n in range(LATENCY_REQUESTS + 100):
            body = template.replace(b"@@R@@", f"{tag}-t{n}".encode())
            sent = time.perf_counter()
            status, content = await connection.post("/v1/track", body)
            elapsed = time.perf_counter() - sent
            if status != 200:
                raise RuntimeError(f"/v1/track answered {status}: {content!r}")
            if n >= 100:  # the first hundred warm up
                latencies.append(elapsed)
    finally:
        await connection.close()
    return latencies


# The run ---------------------------------------------------------------------------------------


@dataclass
class Result:
    what: str
    processes: str
    events: int
    seconds: float
    latencies: Sequence[float] = ()
    ceiling: float | None = None  # the Core executemany ceiling, as many processes
    best_ceiling: float | None = None  # the faster of the two ceilings
    note: str = ""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> str:
        if not self.latencies:
            return ""
        ordered = sorted(self.latencies)
        return f"{ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000:.1f}"


def _bench_backend(
    name: str, url: str, seconds: float, ceiling_events: int, log_path: Path, budget: float
) -> list[Result]:
    results: list[Result] = []
    ceilings: dict[tuple[str, int], float] = {}
    for way in ("core", "api"):
        for processes in (1, 2):
            _empty_events(url)
            tenant = _tenant(url)
            console.log(
                f"{name}: ceiling ({way}), {processes} process(es), {ceiling_events:,} rows"
            )
            result = _ceiling(url, tenant, processes, ceiling_events, way, budget)
            stored = _stored(url, tenant.workspace_id)
            result.note = "ok" if stored == result.events else f"stored {stored}"
            ceilings[way, processes] = result.rate
            results.append(result)
    for workers in (1, 2):
        _empty_events(url)
        tenant = _tenant(url)
        console.log(f"{name}: /v1/batch, {workers} worker(s), {CLIENTS} clients, {seconds:.0f} s")
        server = Server(url, workers, log_path)
        try:
            tag = f"w{workers}{secrets.token_hex(3)}"
            load, elapsed = uvloop.run(_drive(server.base_url, tenant.write_key, tag, seconds))
            latencies: list[float] = []
            if workers == 1:
                console.log(f"{name}: /v1/track latency, {LATENCY_REQUESTS} requests")
                latencies = uvloop.run(_latency(server.base_url, tenant.write_key, tag))
        finally:
            server.stop()
        stored = _stored(url, tenant.workspace_id)
        warmed = stored - load.accepted - (len(latencies) + 100 if latencies else 0)
        note = "ok" if not load.failures and warmed >= 0 else f"stored {stored}, short"
        if load.failures:
            note = f"{len(load.failures)} failed: {load.failures[0][:60]}"
        results.append(
            Result(f"POST /v1/batch x{BATCH}", f"{workers} worker", load.accepted, elapsed,
                   load.latencies, ceilings["core", workers],
                   max(ceilings["core", workers], ceilings["api", workers]), note)
        )  # fmt: skip
        if latencies:
            results.append(
                Result("POST /v1/track x1", "1 worker", len(latencies), sum(latencies),
                       latencies, note="one at a time")
            )  # fmt: skip
    _empty_events(url)
    return results


def _table(backends: dict[str, list[Result]], loads: tuple[float, float]) -> Table:
    table = Table(
        title=f"Collect ingestion: {os.cpu_count()} cores, {CLIENTS} concurrent clients, "
        f"{BATCH} events per batch request",
        caption="Each ratio compares with the ceiling run by as many processes as the server has "
        "workers: vs Core is the Core executemany ceiling, vs best the faster of the two.\n"
        f"Load average {loads[0]:.1f} at the start, {loads[1]:.1f} at the end.",
    )
    for column in ("backend", "what", "procs", "events", "seconds", "events/s", "vs Core",
                   "vs best", "p50 ms", "p99 ms", "check"):  # fmt: skip
        left = column in ("backend", "what", "check")
        table.add_column(column, justify="left" if left else "right")
    for backend, results in backends.items():
        for result in results:
            ratio = f"{result.rate / result.ceiling:.0%}" if result.ceiling else ""
            best = f"{result.rate / result.best_ceiling:.0%}" if result.best_ceiling else ""
            table.add_row(
                backend, result.what, result.processes, f"{result.events:,}",
                f"{result.seconds:.1f}", f"{result.rate:,.0f}", ratio, best,
                result.percentile(0.50), result.percentile(0.99), result.note,
            )  # fmt: skip
        table.add_section()
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark and print one table (``python -m bench`` calls this); 1 when a
    request failed or the database does not hold what was accepted."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_collect", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="per PostgreSQL API run")
    parser.add_argument("--sqlite-seconds", type=float, default=10.0, help="per SQLite API run")
    parser.add_argument("--ceiling-seconds", type=float, default=12.0, help="at most, per ceiling")
    parser.add_argument("--ceiling-events", type=int, default=60_000, help="rows per ceiling")
    parser.add_argument("--quick", action="store_true", help="a few seconds each (smoke test)")
    parser.add_argument("--only", choices=("postgresql", "sqlite"), help="one backend only")
    args = parser.parse_args(list(argv) if argv is not None else [])
    if args.quick:
        args.seconds, args.sqlite_seconds, args.ceiling_events = 4.0, 3.0, 10_000
        args.ceiling_seconds = 3.0
    backends: dict[str, list[Result]] = {}
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        log_path = Path(tmp) / "server.log"
        runs = {"PostgreSQL": args.seconds, "SQLite": args.sqlite_seconds}
        for name, seconds in runs.items():
            if args.only not in (None, name.lower()):
                continue
            if name == "PostgreSQL":
                found = bench_database_url(console)  # created and migrated, or None: skipped
                if found is None:
                    continue
                url = found
            else:
                url = f"sqlite:///{tmp}/bench.db"
                upgrade(url)
            backends[name] = _bench_backend(
                name, url, seconds, args.ceiling_events, log_path, args.ceiling_seconds
            )
        if backends:
            Console(width=150).print(_table(backends, (load_at_start, os.getloadavg()[0])))
        errors = (
            log_path.read_text(errors="replace").count('"level": "error"')
            if log_path.exists()
            else 0
        )
        if errors:
            console.print(f"[red]the server logged {errors} errors[/red]")
    failed = [r for rs in backends.values() for r in rs if r.note not in ("ok", "one at a time")]
    return 1 if failed or errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
