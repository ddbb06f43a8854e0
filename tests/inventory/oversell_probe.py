"""The worker side of the oversell proof: one process, several threads, each making
reservation attempts in their own transactions, half of them through the API's entry point
(``reserve_in_own_transaction``: on PostgreSQL the one statement alone, autocommitted). Lives
in its own module so ``spawn`` can import it."""

from __future__ import annotations

import threading
import time
from typing import Any

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.inventory.errors import InsufficientStock
from tessera.inventory.schemas import ReservationIn, ReservationLineIn
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService

# Every attempt needs exactly one SERUM: alone, in a KIT (1 SERUM + 2 CREAM), or a KIT with a
# CREAM beside it (demand summed per component: 1 SERUM + 3 CREAM).
BASKETS: tuple[tuple[tuple[str, int], ...], ...] = (
    (("SERUM", 1),),
    (("KIT", 1),),
    (("KIT", 1), ("CREAM", 1)),
)


def attempt_reservations(
    url: str, workspace_id: str, process: int, threads: int, attempts: int, start_at: float
) -> dict[str, Any]:
    """Run ``attempts`` reservations spread over ``threads`` threads from ``start_at``;
    returns the ids held, how many were refused, and any unexpected error."""
    engine = make_engine(url, pool_size=threads + 1)
    factory = make_session_factory(engine)
    held: list[str] = []
    refused = [0]
    errors: list[str] = []
    lock = threading.Lock()

    def run(thread: int) -> None:
        for n in range(thread, attempts, threads):
            basket = BASKETS[(process + n) % len(BASKETS)]
            request = ReservationIn(
                lines=[ReservationLineIn(sku=sku, quantity=q) for sku, q in basket],
                idempotency_key=f"p{process}-a{n}",
                ttl_seconds=600,
            )
            try:
                with session_scope(factory) as session:
                    # Half as the API makes them (the one statement alone, autocommitted, on
                    # PostgreSQL), half inside the caller's transaction: both at once.
                    reservations = ReservationService(session)
                    reserve = (
                        reservations.reserve_in_own_transaction if n % 2 else reservations.reserve
                    )
                    reservation, _ = reserve(workspace_id, request)
                    reservation_id = reservation.id
                with lock:
                    held.append(reservation_id)
            except InsufficientStock:
                with lock:
                    refused[0] += 1
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])

    while time.time() < start_at:
        time.sleep(0.005)
    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.dispose()
    return {"held": held, "refused": refused[0], "errors": errors}


def mixed_operations(
    url: str, workspace_id: str, process: int, threads: int, operations: int, start_at: float
) -> list[str]:
    """Reserve, confirm, release, transfer, receive, count and orders placed, shipped and
    cancelled (each sent twice), all at once on two SKUs at two locations; returns every
    failure other than the refusals the API answers with 409."""
    import random
    from dataclasses import replace
    from datetime import UTC, datetime

    from tessera.inventory.errors import ReservationNotHeld
    from tessera.models.order import OrderStatus
    from tessera.order.domain import CanonicalLine, CanonicalOrder
    from tessera.order.service import OrderService

    engine = make_engine(url, pool_size=threads + 1)
    factory = make_session_factory(engine)
    errors: list[str] = []
    lock = threading.Lock()

    def order(
        n: int, sku: str, status: OrderStatus, version: str, cancelled: bool = False
    ) -> CanonicalOrder:
        return CanonicalOrder(
            platform="shopify", external_id=f"o-{process}-{n}", order_number=f"#{n}",
            channel="web", status=status, currency="USD",
            placed_at=datetime(2026, 11, 20, tzinfo=UTC), version=version,
            lines=(CanonicalLine("l1", 1, 100, 100, sku=sku),), is_cancelled=cancelled,
        )  # fmt: skip

    def run(thread: int) -> None:
        rng = random.Random(process * 100 + thread)
        held: list[str] = []
        for n in range(operations):
            kind = rng.choice(
                [
                    "reserve",
                    "reserve",
                    "confirm",
                    "release",
                    "transfer",
                    "receive",
                    "count",
                    "order",
                ]
            )
            sku = rng.choice(["SERUM", "CREAM"])
            try:
                with session_scope(factory) as session:
                    reservations = ReservationService(session)
                    stock = StockService(session)
                    if kind == "reserve":
                        basket = BASKETS[rng.randrange(len(BASKETS))]
                        reserve = (
                            reservations.reserve_in_own_transaction
                            if n % 2
                            else reservations.reserve
                        )
                        reservation, _ = reserve(
                            workspace_id,
                            ReservationIn(
                                lines=[ReservationLineIn(sku=s, quantity=q) for s, q in basket],
                                idempotency_key=f"m{process}-{thread}-{n}",
                                ttl_seconds=rng.choice([1, 600]),
                            ),
                        )
                        held.append(reservation.id)
                    elif kind in ("confirm", "release") and held:
                        target = held.pop(rng.randrange(len(held)))
                        if kind == "confirm":
                            reservations.confirm(workspace_id, target)
                        else:
                            reservations.release(workspace_id, target)
                    elif kind == "transfer":
                        source, target = rng.sample(["wh", "paris"], 2)
                        stock.transfer(workspace_id, sku, source, target, rng.randint(1, 3))
                    elif kind == "receive":
                        stock.receive(workspace_id, sku, rng.choice(["wh", "paris"]), 2)
                    elif kind == "count":
                        stock.count(workspace_id, sku, rng.choice(["wh", "paris"]), 6)
                    elif kind == "order":
                        placed = order(n, sku, OrderStatus.PLACED, "2026-11-20T10:00:00")
                        later = "2026-11-21T10:00:00"
                        final = rng.choice([
                            replace(placed, status=OrderStatus.FULFILLED, version=later),
                            replace(placed, is_cancelled=True, version=later),
                            placed,
                        ])  # fmt: skip
                        OrderService(session).apply(workspace_id, placed)
                if kind == "order":  # each delivery is its own transaction, as webhooks are
                    for snapshot in (final, placed, final):
                        with session_scope(factory) as session:
                            OrderService(session).apply(workspace_id, snapshot)
            except (InsufficientStock, ReservationNotHeld):
                pass
            except Exception as exc:
                with lock:
                    errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:400])

    while time.time() < start_at:
        time.sleep(0.005)
    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.dispose()
    return errors
