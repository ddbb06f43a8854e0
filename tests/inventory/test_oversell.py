"""Zero oversell, proven: 4 processes x 4 threads make 1,000 concurrent reservation attempts on
one SKU holding N units (N = 1, 10, 100), with bundles in the mix, against PostgreSQL. Exactly
N succeed, no quantity goes negative, nothing deadlocks, and the ledger sums equal the
balances afterwards."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.models.inventory import Reservation, ReservationStatus, StockBalance, StockLedgerEntry
from tests.inventory.oversell_probe import attempt_reservations, mixed_operations
from tests.inventory.stock import Shop, make_shop

PROCESSES = 4
THREADS = 4
ATTEMPTS = 1000


@pytest.fixture(scope="module")
def pool() -> Iterator[Any]:
    """Four spawned processes, started once for every round (spawning is the slow part)."""
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        yield pool


def test_a_thousand_concurrent_reservations_hold_exactly_the_units_there_are(
    postgres_url: str, pool: Any
) -> None:
    """N SERUM (and plenty of CREAM), N = 1, 10, 100: of 1,000 attempts from 16 threads in 4
    processes, exactly N hold, the rest are refused with insufficient-stock, none fails
    otherwise, nothing is negative and the ledger sums equal the balances."""
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    outcomes = []
    for units in (1, 10, 100):
        with session_scope(factory) as session:
            shop = make_shop(session, f"oversell-{units}")
            stock = StockService(session)
            stock.receive(shop.workspace_id, "SERUM", "wh", units)
            stock.receive(shop.workspace_id, "CREAM", "wh", 3 * units)
        start_at = time.time() + 0.5
        jobs = [
            (postgres_url, shop.workspace_id, p, THREADS, ATTEMPTS // PROCESSES, start_at)
            for p in range(PROCESSES)
        ]

        results = pool.starmap(attempt_reservations, jobs)

        outcomes.append((units, *_check(engine, shop, units, results)))
    engine.dispose()
    assert outcomes == [
        (units, units, ATTEMPTS - units, [], (units, units, 0), True, units, [])
        for units in (1, 10, 100)
    ]


def _check(
    engine: Engine, shop: Shop, units: int, results: list[dict[str, Any]]
) -> tuple[int, int, list[str], tuple[int, int, int], bool, int, list[Any]]:
    """(held, refused, errors, SERUM counters, nothing negative, held rows, drift)."""
    held = [r for result in results for r in result["held"]]
    refused = sum(result["refused"] for result in results)
    errors = [e for result in results for e in result["errors"]]
    with Session(engine) as session:
        balances = session.scalars(
            select(StockBalance).where(StockBalance.workspace_id == shop.workspace_id)
        ).all()
        serum = next(b for b in balances if b.variant_id == shop.variants["SERUM"])
        never_negative = all(
            min(b.on_hand, b.reserved, b.committed, b.incoming, b.damaged, b.safety) >= 0
            and b.on_hand - b.reserved - b.committed - b.damaged - b.safety >= 0
            for b in balances
        )
        held_rows = session.scalar(
            select(func.count())
            .select_from(Reservation)
            .where(
                Reservation.workspace_id == shop.workspace_id,
                Reservation.status == ReservationStatus.HELD,
            )
        )
        drift = VerifyService(session).verify(shop.workspace_id).drift
    return (
        len(held),
        refused,
        errors,
        (serum.on_hand, serum.reserved, serum.committed),
        never_negative,
        int(held_rows or 0),
        drift,
    )


def test_everything_at_once_never_deadlocks_nor_drifts(postgres_url: str, pool: Any) -> None:
    """Reservations, confirmations, releases, transfers, receipts, counts and orders (placed,
    shipped, cancelled, each snapshot twice) from 4 processes x 3 threads on two SKUs at two
    locations: no failure but refusals, no deadlock, nothing negative, no drift."""
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        shop = make_shop(session, "mixed")
        locations = LocationService(session)
        stock = StockService(session)
        from tessera.inventory.schemas import ChannelLocationsIn

        locations.set_channel_locations(
            shop.workspace_id, "web", ChannelLocationsIn(locations=["wh", "paris"])
        )
        for sku in ("SERUM", "CREAM"):
            for code in ("wh", "paris"):
                stock.receive(shop.workspace_id, sku, code, 20)
    start_at = time.time() + 0.5

    errors = pool.starmap(
        mixed_operations,
        [(postgres_url, shop.workspace_id, p, 3, 30, start_at) for p in range(PROCESSES)],
    )

    with Session(engine) as session:
        balances = session.scalars(
            select(StockBalance).where(StockBalance.workspace_id == shop.workspace_id)
        ).all()
        drift = VerifyService(session).verify(shop.workspace_id).drift
        reasons = set(
            session.scalars(
                select(StockLedgerEntry.reason)
                .where(StockLedgerEntry.workspace_id == shop.workspace_id)
                .distinct()
            )
        )
    engine.dispose()
    assert [e for found in errors for e in found] == []
    assert all(
        min(b.on_hand, b.reserved, b.committed, b.incoming, b.damaged, b.safety) >= 0
        for b in balances
    )
    assert drift == []
    assert {"reserve", "confirm", "release", "transfer_out", "receive", "count", "commit",
            "fulfil", "cancel"} <= {str(r) for r in reasons}  # fmt: skip
