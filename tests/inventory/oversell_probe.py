"""The worker side of the oversell proof: one process, several threads, each making
reservation attempts in their own transactions. Lives in its own module so ``spawn`` can
import it."""

from __future__ import annotations

import threading
import time
from typing import Any

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.inventory.errors import InsufficientStock
from tessera.inventory.schemas import ReservationIn, ReservationLineIn
from tessera.inventory.service import InventoryService

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
                    reservation, _ = InventoryService(session).reserve(workspace_id, request)
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
