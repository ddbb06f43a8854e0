"""Identify: stitching, incremental matching and identify-to-merged-profile, each next to a peer.

On PostgreSQL (``TESSERA_BENCH_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/tessera_bench``; skipped with a reason when none
answers), in a database of its own next to it (``tessera_bench_identity``, dropped and made
afresh at each run), in one run:

1. **Stitching** 1M events carrying 3M identifier links (each event: one of its person's three
   devices plus three of six other identifiers, so profiles form apart and later merge):
   ``IdentityService.stitch`` in batches of 50,000 records (what a stitch job takes at once from
   a backlog: 500 SDK batches of 100), one transaction each, next to
   networkx connected components over the same 3M edges, and the in-memory planning step alone
   (``graph.plan_batch`` over all records, no database). The stitch runs three times, as the
   graph memory (``identity.graph.memory``) can stand: one worker stitching a new workspace
   (the target's row: its memory holds every identifier, so no key is looked up), a workspace
   another writer came to first (keys the worker has not met are looked up), and a new process
   for every batch (no memory at all). The number of active profiles must equal networkx's
   number of components in each. The stitch pauses Python's cyclic garbage collector
   while it works (``kit.memory``), so networkx runs with it paused too: the same footing.
2. **Incremental matching** of one new record (a POS guest, a marketplace order, a loyalty
   sign-up, 80% of them an existing customer) against 1M profiles, p50/p99:
   ``MatchService.score`` (candidates by the four indexed blocking keys in one SQL statement,
   scored with the workspace's trained model), next to ``MatchIndex`` in memory on the same
   profiles and model. Splink's ``predict_between`` figure is quoted from
   ``bench.eval_matching`` (ADR 0009) unless ``--splink-queries N`` runs it here.
3. **Identify to merged profile**: ``tessera serve`` and ``tessera worker`` as subprocesses;
   per trial, two identify calls make two profiles (a user id; a device with an email), then
   one identify call links the user id and the email; the time from sending it until
   ``GET /v1/profiles?q=<email>`` and ``GET /v1/profiles/{id}`` show the user id and the
   device in one profile, p50/p99.

``python -m bench.bench_identity [--events 1000000] [--profiles 1000000] [--queries 1000]
[--trials 100] [--only stitch,match,live] [--quick]``. Targets (issue 4): the 1M-event stitch
under 60 s, one incremental match under 50 ms p99, identify-to-merged-profile under 1 s p99.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, make_url, select, text
from sqlalchemy.exc import OperationalError

import tessera
from bench._database import bench_database_url, server_settings
from bench.bench_collect import Server
from bench.eval_matching import _Queries, _row, _Tally, as_channel_record, synthetic_people
from tessera.db.admin import recreate_database
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.db.migrate import upgrade
from tessera.identity.graph import memory as graph_memory
from tessera.identity.graph.identifiers import Ident, IdentityRecord, Rules
from tessera.identity.graph.planner import plan_batch
from tessera.identity.graph.service import IdentityService
from tessera.identity.match.domain import MATCH_FIELDS, blocking_keys
from tessera.identity.match.engine import MatchIndex, Record, RecordTable
from tessera.identity.match.service import MatchService
from tessera.kit.memory import collector_paused
from tessera.models.identity import MatchRecord, Profile, ProfileStatus
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService

console = Console(width=None if sys.stdout.isatty() else 180)
ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 10, 1, tzinfo=UTC)
STITCH_BATCH = 50_000  # what a stitch job drains at once from a backlog (tasks.COALESCE_JOBS)
INSERT_CHUNK = 10_000
SPLINK_P99_MS = 1_100.0  # bench.eval_matching, 1M profiles (docs/adr/0009)


@dataclass
class Row:
    bench: str
    system: str
    figure: str
    target: str
    note: str = ""


def _identity_url(url: str) -> str:
    base = make_url(url)
    return base.set(database=f"{base.database}_identity").render_as_string(hide_password=False)


def _holding(urls: Sequence[str], workspace_id: str) -> str | None:
    """The first of these databases that holds the workspace."""
    for url in urls:
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                found = connection.execute(
                    text("SELECT 1 FROM workspace WHERE id = :id"), {"id": workspace_id}
                ).first()
        except OperationalError:  # a database that does not exist holds nothing
            found = None
        finally:
            engine.dispose()
        if found is not None:
            return url
    return None


def own_database(url: str) -> str:
    """A database of its own next to the bench database (``<name>_identity``), made afresh.

    The identity benchmarks leave match jobs for hundreds of thousands of profiles and run a
    worker; in the shared bench database that worker would also run everyone else's backlog,
    and their workers this one's.
    """
    own = recreate_database(url, f"{make_url(url).database}_identity")
    upgrade(own)
    return own


def _workspace(url: str, slug: str) -> str:
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        workspace_id = (
            WorkspaceService(session)
            .create_workspace("Bench Brand", f"{slug}-{secrets.token_hex(4)}")
            .id
        )
    engine.dispose()
    return workspace_id


# --------------------------------------------------------------------------- 1. stitching


def stitch_records(events: int, seed: int = 11) -> list[IdentityRecord]:
    """``events`` records of ``events // 4`` people; each carries 4 identifiers (3 links)."""
    rng = random.Random(seed)
    people = max(1, events // 4)
    kinds = ("user_id", "email", "email", "phone", "push_token", "loyalty_id")
    pools: list[tuple[list[Ident], list[Ident]]] = []
    for p in range(people):
        devices = [Ident("anonymous_id", f"dev-{p}-{d}", f"dev-{p}-{d}") for d in range(3)]
        others = [
            Ident("user_id", f"user-{p}", f"user-{p}"),
            Ident("email", f"person{p}@example.com", f"person{p}@example.com"),
            Ident("email", f"p{p}.alt@example.net", f"p{p}.alt@example.net"),
            Ident("phone", f"+1212{p:07d}", f"+1212{p:07d}"),
            Ident("push_token", f"push-{p}", f"push-{p}"),
            Ident("loyalty_id", f"L{p:08d}", f"L{p:08d}"),
        ]
        assert len(others) == len(kinds)
        pools.append((devices, others))
    records = []
    for n in range(events):
        devices, others = pools[rng.randrange(people)]
        chosen = rng.sample(others, 3)
        records.append(
            IdentityRecord(
                ref=f"evt-{n}",
                occurred_at=T0 + timedelta(seconds=n),
                idents=(rng.choice(devices), *chosen),
            )
        )
    return records


def _edges(records: Sequence[IdentityRecord]) -> Iterator[tuple[str, str]]:
    for record in records:
        keys = [f"{i.type}:{i.value}" for i in record.idents]
        yield from itertools.pairwise(keys)


def _components(records: Sequence[IdentityRecord]) -> tuple[int, float]:
    import networkx as nx

    started = time.perf_counter()
    with collector_paused():  # as the stitch runs: kit/memory.py
        graph = nx.Graph()
        graph.add_edges_from(_edges(records))
        components = nx.number_connected_components(graph)
    return components, time.perf_counter() - started


def bench_stitch(url: str, events: int, batch: int, db_events: int) -> list[Row]:
    console.print(f"[dim]stitching: generating {events:,} events...[/dim]")
    records = stitch_records(events)
    links = sum(len(r.idents) - 1 for r in records)
    components, networkx_seconds = _components(records)

    counter = iter(range(10**9))
    started = time.perf_counter()
    plan = plan_batch(records, Rules(), {}, {}, lambda: f"cus_{next(counter)}")
    planned = len({plan.resolve(p) for p in plan.new_profiles})
    plan_seconds = time.perf_counter() - started
    merges_planned = len(plan.merges)
    del plan

    db_records = records[: min(db_events, events)]
    db_components = components if len(db_records) == events else _components(db_records)[0]
    runs = {mode: _stitch_in_database(url, db_records, batch, mode) for mode in STITCH_MODES}
    db_seconds, profiles, merges, _ = runs["new"]
    same = "same" if profiles == db_components else "DIFFERENT"
    shape = f"{events:,} events, {links:,} links"
    db_links = sum(len(r.idents) - 1 for r in db_records)
    rate = len(db_records) / db_seconds
    partial = (
        ""
        if len(db_records) == events
        else f"; only the first {len(db_records):,} events ({db_links:,} links) were stitched "
        f"in the database: {events:,} at this rate would take {events / rate:,.0f} s"
    )
    others = [
        Row(
            "stitch",
            f"IdentityService.stitch (PostgreSQL), {STITCH_MODES[mode]}",
            f"{seconds:.1f} s ({len(db_records) / seconds:,.0f} events/s)",
            "",
            f"{count:,} profiles ({'same' if count == db_components else 'DIFFERENT'} as "
            f"networkx); {looked:,} keys looked up in the database",
        )
        for mode, (seconds, count, _, looked) in runs.items()
        if mode != "new"
    ]
    return [
        Row(
            "stitch",
            f"IdentityService.stitch (PostgreSQL), {STITCH_MODES['new']}",
            f"{db_seconds:.1f} s ({rate:,.0f} events/s)",
            "< 60 s for 1M",
            f"batches of {batch:,}; {profiles:,} profiles ({same} as networkx on those events), "
            f"{merges:,} merges; {runs['new'][3]:,} keys looked up in the database{partial}",
        ),
        *others,
        Row(
            "stitch",
            "graph.plan_batch (in memory, no database)",
            f"{plan_seconds:.1f} s",
            "",
            f"{shape}; {planned:,} profiles "
            f"({'same' if planned == components else 'DIFFERENT'} as networkx), "
            f"{merges_planned:,} merges planned; the decision step alone",
        ),
        Row(
            "stitch",
            "networkx connected components",
            f"{networkx_seconds:.1f} s",
            "",
            f"{shape}; {components:,} components; no guard-rails, nothing stored",
        ),
    ]


# How the graph memory (identity.graph.memory) stands as each run starts.
STITCH_MODES = {
    "new": "one worker, a new workspace",
    "history": "one worker, a workspace written before (memory not complete)",
    "forgotten": "a new process for every batch (no graph memory)",
}


def _stitch_in_database(
    url: str, records: Sequence[IdentityRecord], batch: int, mode: str
) -> tuple[float, int, int, int]:
    """Stitch ``records`` in batches into a workspace of their own; returns the seconds, the
    active profiles, the merges and the keys looked up in the database."""
    workspace_id = _workspace(url, f"stitch-{mode}")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    if mode != "new":  # another writer came first: the clock is past its first value
        with session_scope(factory) as session:
            IdentityService(session).repository.lock_workspace(workspace_id)
    console.print(
        f"[dim]stitching: {len(records):,} events through IdentityService.stitch, "
        f"{STITCH_MODES[mode]}...[/dim]"
    )
    merges = looked_up = 0
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        if mode == "forgotten":
            graph_memory.MEMORIES.forget(workspace_id)
        with session_scope(factory) as session:
            result = IdentityService(session).stitch(workspace_id, records[start : start + batch])
            merges += len(result.merges)
            looked_up += result.looked_up
    seconds = time.perf_counter() - started
    graph_memory.MEMORIES.forget(workspace_id)
    with session_scope(factory) as session:
        profiles = session.scalar(
            select(func.count())
            .select_from(Profile)
            .where(Profile.workspace_id == workspace_id, Profile.status == ProfileStatus.ACTIVE)
        )
    engine.dispose()
    return seconds, int(profiles or 0), merges, looked_up


# --------------------------------------------------------------------------- 2. matching


def _profile_ids(workspace_id: str, count: int) -> list[str]:
    return [f"cus_bench{workspace_id[-8:]}{n:09d}" for n in range(count)]


def _insert_profiles(url: str, workspace_id: str, people: dict[str, list[str | None]]) -> list[str]:
    """Profiles with these traits and their match records, inserted in bulk."""
    count = len(people["first_name"])
    ids = _profile_ids(workspace_id, count)
    engine = make_engine(url)
    now = datetime.now(UTC)
    for start in range(0, count, INSERT_CHUNK):
        end = min(count, start + INSERT_CHUNK)
        profiles = []
        records = []
        for n in range(start, end):
            fields = {name: people[name][n] for name in MATCH_FIELDS}
            profiles.append(
                {
                    "id": ids[n],
                    "workspace_id": workspace_id,
                    "status": ProfileStatus.ACTIVE,
                    "traits": {k: v for k, v in fields.items() if v},
                    "trait_stamps": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            records.append(
                {
                    "profile_id": ids[n],
                    "workspace_id": workspace_id,
                    "fields": fields,
                    "updated_at": now,
                    **blocking_keys(fields).as_values(),
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(Profile), profiles)
            connection.execute(insert(MatchRecord), records)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE profile"))
        connection.execute(text("ANALYZE identity_match_record"))
    engine.dispose()
    return ids


def _with_duplicates(
    people: dict[str, list[str | None]], share: float, rng: np.random.Generator
) -> tuple[dict[str, list[str | None]], list[int]]:
    """The people plus ``share`` of them again as another channel saw them (guests not yet
    matched, as a brand's profiles hold them), shuffled; and each original's position."""
    count = len(people["first_name"])
    copies = [
        as_channel_record(_row(people, int(r)), rng)
        for r in rng.integers(0, count, int(count * share))
    ]
    order = rng.permutation(count + len(copies))
    columns: dict[str, list[str | None]] = {name: [None] * len(order) for name in people}
    for source, target in enumerate(order.tolist()):
        row = _row(people, source) if source < count else copies[source - count]
        for name in columns:
            columns[name][target] = row[name]
    return columns, order[:count].tolist()


def bench_match(
    url: str, profiles: int, queries: int, splink_queries: int, reuse: str | None
) -> list[Row]:
    console.print(f"[dim]matching: {profiles:,} synthetic profiles into PostgreSQL...[/dim]")
    rng = np.random.default_rng(7)
    originals = int(profiles / 1.05)
    people = synthetic_people(originals, seed=1)
    stored, position = _with_duplicates(people, 0.05, rng)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    if reuse:  # the same profiles, loaded and trained by an earlier run (same seeds and size)
        workspace_id = reuse
        stored_ids = _profile_ids(workspace_id, len(stored["first_name"]))
        with session_scope(factory) as session:
            summary = MatchService(session).model_summary(workspace_id)
        loaded = f"reused from an earlier run in {workspace_id}; model trained on "
        loaded += f"{summary.records or 0:,}"
    else:
        workspace_id = _workspace(url, "match")
        started = time.perf_counter()
        stored_ids = _insert_profiles(url, workspace_id, stored)
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with session_scope(factory) as session:
            summary = MatchService(session).train(workspace_id)
        train_seconds = time.perf_counter() - started
        loaded = f"loaded in {load_seconds:.0f} s in {workspace_id}; model trained on "
        loaded += f"{summary.records or 0:,} in {train_seconds:.0f} s"
    ids = [stored_ids[p] for p in position]  # the profile of each original person

    strangers = synthetic_people(queries, seed=2)
    targets = rng.integers(0, originals, queries)
    is_new = rng.random(queries) < 0.2
    asked = _Queries(
        [
            as_channel_record(
                _row(strangers, q) if is_new[q] else _row(people, int(targets[q])), rng
            )
            for q in range(queries)
        ],
        [None if is_new[q] else ids[int(targets[q])] for q in range(queries)],
    )

    sql_latencies: list[float] = []
    compared: list[int] = []
    with session_scope(factory) as session:
        service = MatchService(session)
        model = service.model(workspace_id)
        merge_threshold = model.settings.thresholds.merge
        sql_tally = _Tally(merge_threshold)
        for q, values in enumerate(asked.rows):
            began = time.perf_counter_ns()
            candidates, seen = service.score(workspace_id, f"cus_query{q}", values, model)
            sql_latencies.append((time.perf_counter_ns() - began) / 1e6)
            compared.append(seen)
            best = candidates[0] if candidates else None
            sql_tally.add(
                asked.truths[q],
                best.profile_id if best else None,
                best.probability if best else 0.0,
            )
        session.rollback()
    engine.dispose()

    started = time.perf_counter()
    count = len(stored_ids)
    index = MatchIndex(model, RecordTable([f"r{n}" for n in range(count)], stored), stored_ids)
    build_seconds = time.perf_counter() - started
    memory_latencies: list[float] = []
    memory_tally = _Tally(merge_threshold)
    for q, values in enumerate(asked.rows):
        began = time.perf_counter_ns()
        result = index.match(Record(f"new_{q}", values))
        memory_latencies.append((time.perf_counter_ns() - began) / 1e6)
        best = result.best
        memory_tally.add(
            asked.truths[q], best.profile_id if best else None, best.probability if best else 0.0
        )

    def figure(latencies: list[float]) -> str:
        return (
            f"p50 {np.percentile(latencies, 50):.2f} ms, p99 {np.percentile(latencies, 99):.2f} ms"
        )

    def outcome(tally: _Tally) -> str:
        return (
            f"true profile first {tally.found}/{tally.known}, merged {tally.merged}/{tally.known}, "
            f"false merges {tally.false_merges}/{tally.asked}"
        )

    rows = [
        Row(
            "match",
            "MatchService.score (SQL-blocked, PostgreSQL)",
            figure(sql_latencies),
            "< 50 ms p99",
            f"{queries:,} queries, {count:,} profiles, 5% of them unmatched channel duplicates "
            f"({loaded}); "
            f"{np.mean(compared):.1f} candidates on average; {outcome(sql_tally)}",
        ),
        Row(
            "match",
            "MatchIndex (in memory)",
            figure(memory_latencies),
            "",
            f"same model and queries; index built in {build_seconds:.0f} s; "
            f"{outcome(memory_tally)}",
        ),
    ]
    if splink_queries:
        from bench.eval_matching import _splink_incremental

        sample = min(count, 50_000)
        train_columns = {name: values[:sample] for name, values in stored.items()}
        splink = _splink_incremental(
            stored,
            [f"r{n}" for n in range(count)],
            stored_ids,
            train_columns,
            asked,
            splink_queries,
            merge_threshold,
        )
        rows.append(
            Row(
                "match",
                "Splink predict_between (DuckDB)",
                f"p50 {splink.p50_ms:.0f} ms, p99 {splink.p99_ms:.0f} ms",
                "",
                f"{splink.queries} queries, run here; true profile first {splink.found}",
            )
        )
    else:
        rows.append(
            Row(
                "match",
                "Splink predict_between (DuckDB)",
                f"p99 {SPLINK_P99_MS:,.0f} ms",
                "",
                "quoted from bench.eval_matching (ADR 0009), 1M profiles; not re-run "
                "(--splink-queries N runs it)",
            )
        )
    return rows


# --------------------------------------------------------------------------- 3. live


def _tenant(url: str) -> tuple[str, str, str]:
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        service = WorkspaceService(session)
        workspace = service.create_workspace("Bench Brand", f"live-{secrets.token_hex(4)}")
        _key, write_key = service.create_api_key(workspace.id, ApiKeyKind.PUBLIC, "bench")
        _key, secret = service.create_api_key(workspace.id, ApiKeyKind.SECRET, "bench", Role.VIEWER)
        workspace_id = workspace.id
    engine.dispose()
    return workspace_id, write_key, secret


class WorkerProcess:
    """``tessera worker`` with a short idle poll, as a subprocess."""

    def __init__(self, url: str, log_path: Path, poll_seconds: float) -> None:
        env = {
            **os.environ,
            "TESSERA_DATABASE_URL": url,
            "TESSERA_ENVIRONMENT": "development",
            "TESSERA_WORKER_POLL_SECONDS": str(poll_seconds),
            "PYTHONPATH": os.pathsep.join([str(Path(tessera.__file__).parent.parent), *sys.path]),
        }
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tessera", "worker", "--concurrency", "4"],
            env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def _one_profile_holds(client: httpx.Client, email: str, wanted: set[tuple[str, str]]) -> bool:
    found = client.get("/v1/profiles", params={"q": email})
    if found.status_code != 200:
        return False
    for item in found.json()["items"]:
        profile = client.get(f"/v1/profiles/{item['id']}")
        if profile.status_code != 200:
            continue
        held = {(i["type"], i["value"]) for i in profile.json().get("identifiers", [])}
        if wanted <= held:
            return True
    return False


def bench_live(url: str, trials: int, poll_seconds: float) -> list[Row]:
    workspace_id, write_key, secret = _tenant(url)
    logs = Path(tempfile.mkdtemp(prefix="bench-identity-"))
    server = Server(url, 1, logs / "server.log")
    worker = WorkerProcess(url, logs / "worker.log", poll_seconds)
    latencies: list[float] = []
    failures = 0
    try:
        track = httpx.Client(base_url=server.base_url, auth=(write_key, ""), timeout=10)
        api = httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=10
        )
        for n in range(trials):
            tag = secrets.token_hex(4)
            user, device, email = f"user-{tag}", f"device-{tag}", f"shopper-{tag}@example.com"
            track.post("/v1/identify", json={"userId": user, "traits": {"plan": "gold"}})
            track.post("/v1/identify", json={"anonymousId": device, "traits": {"email": email}})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not _one_profile_holds(
                api, email, {("anonymous_id", device)}
            ):
                time.sleep(0.02)
            began = time.perf_counter()
            answer = track.post("/v1/identify", json={"userId": user, "traits": {"email": email}})
            assert answer.status_code == 200, answer.text
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if _one_profile_holds(api, email, {("user_id", user), ("anonymous_id", device)}):
                    latencies.append((time.perf_counter() - began) * 1000)
                    break
                time.sleep(0.005)
            else:
                failures += 1
            if n == 0:
                console.print("[dim]live: first trial done[/dim]")
        track.close()
        api.close()
    finally:
        worker.stop()
        server.stop()
    if not latencies:
        return [Row("live", "identify -> merged profile", "no trial finished", "< 1 s p99",
                    f"see {logs}")]  # fmt: skip
    return [
        Row(
            "live",
            "identify -> merged profile in GET /v1/profiles",
            f"p50 {np.percentile(latencies, 50):.0f} ms, p99 {np.percentile(latencies, 99):.0f} ms",
            "< 1 s p99",
            f"{len(latencies)} trials ({failures} over 10 s); tessera serve + tessera worker "
            f"(idle poll {poll_seconds:g} s); polled every 5 ms; workspace {workspace_id}",
        )
    ]


# --------------------------------------------------------------------------- main


def _table(rows: list[Row]) -> Table:
    table = Table(title="Identify: stitching, incremental matching, identify to merged profile")
    for name in ("bench", "system", "figure", "target", "note"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(row.bench, row.system, f"[bold]{row.figure}[/bold]", row.target, row.note)
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Run the identity benchmarks and print one table; 0 unless something failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_identity")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=STITCH_BATCH)
    parser.add_argument(
        "--db-events", type=int, default=None, help="stitch only this many in the database"
    )
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--splink-queries", type=int, default=0)
    parser.add_argument(
        "--reuse-workspace", default=None, help="match against an earlier run's profiles"
    )
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument(
        "--poll", type=float, default=0.1, help="the worker's idle poll (0.1 s is the default)"
    )
    parser.add_argument("--only", default="stitch,match,live")
    parser.add_argument("--quick", action="store_true", help="100k events and profiles")
    options = parser.parse_args(argv)
    if options.quick:
        options.events, options.profiles, options.queries, options.trials = (
            100_000,
            100_000,
            300,
            30,
        )
    shared = bench_database_url(console)
    if shared is None:
        return 0
    if options.reuse_workspace:
        found = _holding([_identity_url(shared), shared], options.reuse_workspace)
        if found is None:
            console.print(f"[red]no database holds {options.reuse_workspace}[/red]")
            return 1
        url = found
    else:
        url = own_database(shared)
    chosen = set(options.only.split(","))
    rows: list[Row] = []
    if "stitch" in chosen:
        db_events = options.db_events or options.events
        rows.extend(bench_stitch(url, options.events, options.batch, db_events))
        console.print(_table(rows))
    if "match" in chosen:
        rows.extend(
            bench_match(
                url,
                options.profiles,
                options.queries,
                options.splink_queries,
                options.reuse_workspace,
            )
        )
        console.print(_table(rows[-3:]))
    if "live" in chosen:
        rows.extend(bench_live(url, options.trials, options.poll))
    console.print(f"load average: {os.getloadavg()[0]:.2f}; PostgreSQL: {server_settings(url)}")
    console.print(_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
