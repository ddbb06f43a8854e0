"""Recommendations (issue 17, item 5): scoring one person from a workspace's purchases with
``recommend.Purchases`` (two ``numpy.bincount`` passes) next to the plain item-item
co-occurrence matrix (dicts), and, on PostgreSQL, the one statement that reads a workspace's
(person, SKU) pairs and the one that reads a person's own.

Purchases are drawn, seeded: ``--orders`` orders by ``--people`` people, 1 to 4 lines each,
SKUs from ``--skus`` with a Zipf-like popularity (weight 1 / rank^0.8), as a catalog's best
sellers dominate its orders.

Printed: seconds to build each structure from the pairs, and the per-person time (mean over
``--trials`` people) of each; the two must agree on every person's scores. The PostgreSQL
part writes the orders, lines and ``order`` identifiers into a workspace of its own in
``TESSERA_BENCH_DATABASE_URL`` and deletes them after.

``python -m bench.bench_recommend [--orders 100000] [--people 40000] [--skus 2000]
[--trials 200] [--seed 7] [--no-database]``; ``python -m bench`` calls ``main()``.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, insert, text
from sqlalchemy.orm import Session

from bench._database import bench_database_url, server_settings
from tessera.customer.repository.purchases import PurchaseReadRepository
from tessera.db.engine import make_engine
from tessera.message import recommend
from tessera.models.identity import Identifier
from tessera.models.order import Order, OrderLine, OrderStatus
from tessera.workspace.service import WorkspaceService

console = Console(width=140)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def draw(orders: int, people: int, skus: int, seed: int) -> list[tuple[str, str, list[str]]]:
    """(order number, person, SKUs) for each order."""
    rng = random.Random(seed)
    names = [f"SKU-{n:05d}" for n in range(skus)]
    weights = [1 / (n + 1) ** 0.8 for n in range(skus)]
    return [
        (f"B{n:07d}", f"cus_bench{rng.randrange(people):07d}",
         sorted(set(rng.choices(names, weights, k=rng.randint(1, 4)))))
        for n in range(orders)
    ]  # fmt: skip


def in_memory(pairs: list[tuple[str, str]], trials: int, seed: int) -> Table:
    start = time.perf_counter()
    purchases = recommend.Purchases.from_pairs(pairs)
    arrays_built = time.perf_counter() - start
    start = time.perf_counter()
    matrix = recommend.co_occurrence(recommend.baskets_of(pairs))
    matrix_built = time.perf_counter() - start
    people = random.Random(seed).sample(
        sorted(purchases.people), min(trials, len(purchases.people))
    )
    arrays_seconds = matrix_seconds = 0.0
    for person in people:
        owned = purchases.owned_by(person)
        start = time.perf_counter()
        ours = purchases.scores(owned)
        arrays_seconds += time.perf_counter() - start
        start = time.perf_counter()
        peer = recommend.scores_from_matrix(matrix, owned)
        matrix_seconds += time.perf_counter() - start
        assert ours == dict(peer), person
    entries = sum(len(row) for row in matrix.values())
    table = Table("structure", "build (s)", "per person (ms)", "size")
    table.add_row(
        "Purchases (bincount)",
        f"{arrays_built:.2f}",
        f"{1000 * arrays_seconds / len(people):.2f}",
        f"{len(purchases):,} pairs",
    )
    table.add_row("co-occurrence matrix (dicts, peer)", f"{matrix_built:.2f}",
                  f"{1000 * matrix_seconds / len(people):.2f}", f"{entries:,} entries")  # fmt: skip
    return table


def on_postgres(url: str, drawn: list[tuple[str, str, list[str]]], trials: int) -> Table | None:
    engine = make_engine(url)
    with Session(engine) as session:
        workspace = WorkspaceService(session).create_workspace(
            "Bench recommendations", f"bench-rec-{int(time.time())}"
        )
        session.commit()
        workspace_id = workspace.id
    try:
        with Session(engine) as session:
            orders, lines, identifiers = [], [], []
            for number, person, skus in drawn:
                order_id = f"ord_{number}"
                orders.append({
                    "id": order_id, "workspace_id": workspace_id, "platform": "bench",
                    "external_id": number, "order_number": number, "channel": "web",
                    "status": OrderStatus.PLACED, "snapshot_status": OrderStatus.PLACED,
                    "currency": "USD", "customer": {}, "placed_at": AT, "version_key": "1",
                })  # fmt: skip
                lines.extend(
                    {"order_id": order_id, "line_key": str(n), "sku": sku, "title": sku,
                     "quantity": 1, "unit_price": 100, "total": 100}
                    for n, sku in enumerate(skus)
                )  # fmt: skip
                identifiers.append({
                    "workspace_id": workspace_id, "type": "order", "value": order_id,
                    "raw": order_id, "profile_id": person, "origin_profile_id": person,
                    "first_seen": AT, "last_seen": AT,
                })  # fmt: skip
            start = time.perf_counter()
            for model, rows in ((Order, orders), (OrderLine, lines), (Identifier, identifiers)):
                for at in range(0, len(rows), 20_000):
                    session.execute(insert(model), rows[at : at + 20_000])
            session.commit()
            loaded = time.perf_counter() - start
            session.execute(text("ANALYZE"))
            repository = PurchaseReadRepository(session)
            start = time.perf_counter()
            pairs = repository.skus_bought(workspace_id)
            workspace_read = time.perf_counter() - start
            people = sorted({person for _, person, _ in drawn})[:trials]
            start = time.perf_counter()
            for person in people:
                repository.skus_bought(workspace_id, person)
            person_read = (time.perf_counter() - start) / len(people)
    finally:
        with Session(engine) as session:
            session.execute(delete(Identifier).where(Identifier.workspace_id == workspace_id))
            session.execute(text("DELETE FROM workspace WHERE id = :id"), {"id": workspace_id})
            session.commit()
        engine.dispose()
    table = Table("statement", "seconds", "rows")
    table.add_row(
        "write (bulk insert, not Tessera's path)", f"{loaded:.2f}", f"{len(lines):,} lines"
    )
    table.add_row("skus_bought(workspace)", f"{workspace_read:.3f}", f"{len(pairs):,}")
    table.add_row("skus_bought(workspace, person), mean", f"{person_read:.4f}", "")
    return table


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_recommend")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=40_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-database", action="store_true")
    options = parser.parse_args()
    drawn = draw(options.orders, options.people, options.skus, options.seed)
    pairs = [(person, sku) for _, person, skus in drawn for sku in skus]
    console.print(f"{options.orders:,} orders, {len(pairs):,} lines, "
                  f"{len({p for p, _ in pairs}):,} people, {options.skus:,} SKUs")  # fmt: skip
    console.print(in_memory(pairs, options.trials, options.seed))
    if options.no_database:
        return 0
    url = bench_database_url(console)
    if url is None:
        return 0
    console.print(server_settings(url))
    table = on_postgres(url, drawn, options.trials)
    if table is not None:
        console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
