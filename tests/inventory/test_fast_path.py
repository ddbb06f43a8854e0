"""The common reservation is one statement on PostgreSQL: every line a plain variant with enough
at the channel's first location. It holds, writes its lines, ledger entries and job exactly as
the general path would, and when it cannot take everything it leaves nothing behind and the
general path decides (on SQLite, the only path). Each test says which path PostgreSQL took."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.inventory.domain import RoutingRuleName
from tessera.inventory.errors import InsufficientStock
from tessera.inventory.repository.fast_path import FastPathRepository
from tessera.inventory.repository.stock import StockRepository
from tessera.inventory.schemas import (
    ChannelLocationsIn,
    DestinationIn,
    ReservationIn,
    ReservationLineIn,
)
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.kit.time import utcnow
from tessera.models.inventory import (
    Reservation,
    ReservationStatus,
    StockBalance,
    StockLedgerEntry,
)
from tests.inventory.stock import Shop, make_shop
from tests.inventory.test_service import counters, jobs, ledger_count, reserve


@pytest.fixture
def one_statement(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each reservation's one statement took it (False: it passed to the general
    path). Observed, not replaced: the real statement runs. Stays empty on SQLite."""
    taken: list[bool] = []
    real = FastPathRepository.reserve_at_first_location

    def observed(self: FastPathRepository, values: Any) -> Any:
        result = real(self, values)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(FastPathRepository, "reserve_at_first_location", observed)
    return taken


def on_postgres(session: Session, *taken: bool) -> list[bool]:
    """What ``one_statement`` records: ``taken`` on PostgreSQL, nothing on SQLite."""
    return list(taken) if session.get_bind().dialect.name == "postgresql" else []


def reservation_count(session: Session, shop: Shop) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Reservation)
            .where(Reservation.workspace_id == shop.workspace_id)
        )
        or 0
    )


def test_a_plain_reservation_holds_at_the_first_location_with_its_ledger_and_job(
    session: Session,
    shop: Shop,
    reservations: ReservationService,
    stock: StockService,
    verifier: VerifyService,
    one_statement: list[bool],
) -> None:
    """SERUM, CREAM and SERUM again, all at the warehouse: one line per variant there, one
    reserve entry each, one job naming both, and the ledger still sums to the balances."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    stock.receive(shop.workspace_id, "CREAM", "wh", 5)
    jobs_before = len(jobs(session, shop))

    reservation_id, held = reserve(
        reservations, shop, "r-1", ("SERUM", 1), ("CREAM", 1), ("SERUM", 1), order_ref="shopify:1"
    )

    assert one_statement == on_postgres(session, True)
    assert held == [("CREAM", "wh", 1), ("SERUM", "wh", 2)]
    assert counters(session, shop, "SERUM", "wh") == (5, 2, 0, 0, 0, 0)
    assert counters(session, shop, "CREAM", "wh") == (5, 1, 0, 0, 0, 0)
    stored, lines = reservations.get_reservation(shop.workspace_id, reservation_id)
    assert (stored.status, stored.order_ref, stored.request) == (
        ReservationStatus.HELD,
        "shopify:1",
        [{"sku": "SERUM", "quantity": 1}, {"sku": "CREAM", "quantity": 1},
         {"sku": "SERUM", "quantity": 1}],
    )  # fmt: skip
    assert sorted((line.variant_id, line.quantity, line.status) for line in lines) == sorted(
        [(shop.variants["SERUM"], 2, ReservationStatus.HELD),
         (shop.variants["CREAM"], 1, ReservationStatus.HELD)]
    )  # fmt: skip
    entries = session.execute(
        select(
            StockLedgerEntry.variant_id,
            StockLedgerEntry.reason,
            StockLedgerEntry.reserved_delta,
            StockLedgerEntry.idempotency_key,
        ).where(StockLedgerEntry.source_id == reservation_id)
    ).all()
    by_line = {line.variant_id: line.id for line in lines}
    assert sorted(tuple(e) for e in entries) == sorted(
        (v, "reserve", q, f"{by_line[v]}:reserve")
        for v, q in ((shop.variants["SERUM"], 2), (shop.variants["CREAM"], 1))
    )
    payloads = jobs(session, shop)[jobs_before:]
    assert [p["variant_ids"] for p in payloads] == [
        sorted([shop.variants["SERUM"], shop.variants["CREAM"]])
    ]
    assert verifier.verify(shop.workspace_id).drift == []


def test_a_request_the_first_location_cannot_hold_is_routed_or_refused_as_before(
    session: Session,
    shop: Shop,
    reservations: ReservationService,
    stock: StockService,
    one_statement: list[bool],
) -> None:
    """Two SERUM at the warehouse and one in Paris: three are split across both by the general
    path; four are refused with the same 409 as ever, and the refusal changes nothing."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 2)
    stock.receive(shop.workspace_id, "SERUM", "paris", 1)
    _, split = reserve(reservations, shop, "r-1", ("SERUM", 3))
    stock.receive(shop.workspace_id, "SERUM", "wh", 1)
    before = (
        counters(session, shop, "SERUM", "wh"),
        counters(session, shop, "SERUM", "paris"),
        ledger_count(session, shop),
        reservation_count(session, shop),
        len(jobs(session, shop)),
    )

    with pytest.raises(InsufficientStock) as refused:
        reserve(reservations, shop, "r-2", ("SERUM", 2))

    assert split == [("SERUM", "paris", 1), ("SERUM", "wh", 2)]
    assert one_statement == on_postgres(session, False, False)
    assert refused.value.status == 409
    assert refused.value.extensions["shortages"] == [{"sku": "SERUM", "missing": 1, "available": 1}]
    assert (
        counters(session, shop, "SERUM", "wh"),
        counters(session, shop, "SERUM", "paris"),
        ledger_count(session, shop),
        reservation_count(session, shop),
        len(jobs(session, shop)),
    ) == before


def test_bundles_used_keys_and_expired_holds_take_the_general_path(
    session: Session,
    shop: Shop,
    reservations: ReservationService,
    stock: StockService,
    verifier: VerifyService,
    one_statement: list[bool],
) -> None:
    """A KIT is its components; a key already used returns its reservation; a hold that ran out
    on the balance is released first: the general path does each, with the same outcome."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    stock.receive(shop.workspace_id, "CREAM", "wh", 5)
    first, _ = reserve(reservations, shop, "r-1", ("SERUM", 1), ttl_seconds=60)

    _, kit = reserve(reservations, shop, "r-2", ("KIT", 1))
    again, _ = reserve(reservations, shop, "r-1", ("SERUM", 1), ttl_seconds=60)
    later = utcnow() + timedelta(seconds=61)
    _, after_expiry = reservations.reserve(
        shop.workspace_id,
        ReservationIn(lines=[ReservationLineIn(sku="SERUM", quantity=1)], idempotency_key="r-3"),
        now=later,
    )

    assert one_statement == on_postgres(session, True, False, False, False)
    assert kit == [("CREAM", "wh", 2), ("SERUM", "wh", 1)]
    assert again == first
    assert [line.quantity for line in after_expiry] == [1]
    assert (
        reservations.get_reservation(shop.workspace_id, first)[0].status
        is ReservationStatus.EXPIRED
    )
    assert counters(session, shop, "SERUM", "wh") == (5, 2, 0, 0, 0, 0)
    assert verifier.verify(shop.workspace_id, now=later).drift == []


@pytest.fixture
def committed(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url)
    yield make_session_factory(engine), engine
    engine.dispose()


@pytest.mark.parametrize(
    ("first", "second"),
    [((("SERUM", 1),), (("SERUM", 1),)), ((("CREAM", 1),), (("SERUM", 1), ("CREAM", 1)))],
    ids=["one line", "two lines, the second gone"],
)
def test_a_take_that_beats_the_snapshot_leaves_nothing_behind(
    committed: Any,
    one_statement: list[bool],
    first: tuple[tuple[str, int], ...],
    second: tuple[tuple[str, int], ...],
) -> None:
    """One SERUM and one CREAM. A holds the last unit of its SKU, uncommitted; B's statement
    reads the old snapshot, claims its reservation and waits for A's row. When A commits, B
    finds the unit gone, changes no counter (not even SERUM's, beside it), takes its
    reservation row back (its savepoint) and is refused by the general path. PostgreSQL only:
    it is about locks."""
    factory, engine = committed
    with session_scope(factory) as session:
        shop = make_shop(session, "race")
        stock = StockService(session)
        stock.receive(shop.workspace_id, "SERUM", "wh", 1)
        stock.receive(shop.workspace_id, "CREAM", "wh", 1)
    a = factory()
    reserve(ReservationService(a), shop, "a", *first)
    outcome: list[str] = []

    def b() -> None:
        try:
            with session_scope(factory) as session:
                reserve(ReservationService(session), shop, "b", *second)
            outcome.append("held")
        except InsufficientStock:
            outcome.append("refused")

    behind(a, b, engine)

    with Session(engine) as session:
        verifier = VerifyService(session)
        keys = session.scalars(
            select(Reservation.idempotency_key).where(Reservation.workspace_id == shop.workspace_id)
        ).all()
        serum = counters(session, shop, "SERUM", "wh")
        cream = counters(session, shop, "CREAM", "wh")
        drift = verifier.verify(shop.workspace_id).drift
        job_count = len(jobs(session, shop))
    assert one_statement == [True, False]
    assert outcome == ["refused"]
    assert keys == ["a"]
    assert (serum, cream) == (
        ((1, 1, 0, 0, 0, 0), (1, 0, 0, 0, 0, 0))
        if first == (("SERUM", 1),)
        else ((1, 0, 0, 0, 0, 0), (1, 1, 0, 0, 0, 0))
    )
    assert drift == []
    assert job_count == 3  # two receipts and A's reservation


def behind(a: Session, b: Callable[[], None], engine: Any) -> None:
    """Run ``b`` in a thread until it waits for a row lock of ``a``'s transaction, then commit
    ``a`` and let ``b`` finish."""
    thread = threading.Thread(target=b)
    thread.start()
    _wait_for_a_lock_wait(engine)
    a.commit()
    a.close()
    thread.join(timeout=30)


def _wait_for_a_lock_wait(engine: Any) -> None:
    """Until some session of this database waits for a row lock (B, on A's balance)."""
    deadline = time.monotonic() + 20
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            connection.rollback()
            time.sleep(0.01)
    raise AssertionError("B never waited for A's lock")


def test_a_declined_statement_releases_its_locks_before_the_general_path(
    committed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One SERUM at the first location (wh) and one at Paris. A holds wh's, uncommitted; B's
    statement reads the old snapshot, locks wh's balance, finds the unit gone when A commits and
    declines. B's general path then holds Paris's unit; by then B must hold no lock on wh's
    balance, or it would lock Paris after wh, out of the one order in which an order's
    allocation locks both, and the two could deadlock. PostgreSQL only: it is about locks."""
    factory, engine = committed
    with session_scope(factory) as session:
        shop = make_shop(session, "declined")
        stock = StockService(session)
        stock.receive(shop.workspace_id, "SERUM", "wh", 1)
        stock.receive(shop.workspace_id, "SERUM", "paris", 1)
        wh_balance = _balance_id(session, shop, "SERUM", "wh")
    free_when_planning: list[bool] = []
    real = ReservationService.reserve_by_plan

    def observed(self: ReservationService, *args: Any, **kwargs: Any) -> Any:
        free_when_planning.append(_lockable(engine, wh_balance))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ReservationService, "reserve_by_plan", observed)
    a = factory()
    assert reserve(ReservationService(a), shop, "a", ("SERUM", 1))[1] == [("SERUM", "wh", 1)]
    held: list[list[tuple[str, str, int]]] = []

    def b() -> None:
        with session_scope(factory) as session:
            held.append(reserve(ReservationService(session), shop, "b", ("SERUM", 1))[1])

    behind(a, b, engine)

    with Session(engine) as session:
        drift = VerifyService(session).verify(shop.workspace_id).drift
        keys = session.scalars(
            select(Reservation.idempotency_key)
            .where(Reservation.workspace_id == shop.workspace_id)
            .order_by(Reservation.idempotency_key)
        ).all()
    assert held == [[("SERUM", "paris", 1)]]
    assert free_when_planning == [True]
    assert keys == ["a", "b"]
    assert drift == []


def test_a_refused_attempt_releases_its_locks_before_the_next(
    committed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The general path's retry. Web routes to the closest location, so B's request with a
    destination near the warehouse takes the general path at once. One SERUM at wh, one at
    Paris; A holds wh's, uncommitted. B plans wh from its snapshot, its UPDATE waits for A's
    row, finds the unit gone when A commits and is refused; PostgreSQL keeps that newer row
    version locked by B. B's second attempt takes Paris, and by then B must hold no lock on
    wh's balance, or it would lock Paris after wh, out of the one order. PostgreSQL only."""
    factory, engine = committed
    with session_scope(factory) as session:
        shop = make_shop(session, "retried")
        locations = LocationService(session)
        stock = StockService(session)
        locations.set_channel_locations(
            shop.workspace_id,
            "web",
            ChannelLocationsIn(locations=["wh", "paris"], rules=[RoutingRuleName.CLOSEST]),
        )
        stock.receive(shop.workspace_id, "SERUM", "wh", 1)
        stock.receive(shop.workspace_id, "SERUM", "paris", 1)
        wh_balance = _balance_id(session, shop, "SERUM", "wh")
    free_at_each_attempt: list[bool] = []
    real = StockRepository.availability

    def observed(self: StockRepository, *args: Any, **kwargs: Any) -> Any:
        free_at_each_attempt.append(_lockable(engine, wh_balance))
        return real(self, *args, **kwargs)

    a = factory()
    assert reserve(ReservationService(a), shop, "a", ("SERUM", 1))[1] == [("SERUM", "wh", 1)]
    monkeypatch.setattr(StockRepository, "availability", observed)
    held: list[list[tuple[str, str, int]]] = []

    def b() -> None:
        near_wh = DestinationIn(country="GB", latitude=52.4, longitude=-1.9)
        with session_scope(factory) as session:
            held.append(
                reserve(ReservationService(session), shop, "b", ("SERUM", 1), destination=near_wh)[
                    1
                ]
            )

    behind(a, b, engine)

    with Session(engine) as session:
        drift = VerifyService(session).verify(shop.workspace_id).drift
    assert held == [[("SERUM", "paris", 1)]]
    assert free_at_each_attempt == [False, True]  # A's lock at first; none of B's after
    assert drift == []


def _balance_id(session: Session, shop: Shop, sku: str, code: str) -> str | None:
    return session.scalar(
        select(StockBalance.id).where(
            StockBalance.workspace_id == shop.workspace_id,
            StockBalance.variant_id == shop.variants[sku],
            StockBalance.location_id == shop.locations[code],
        )
    )


def _lockable(engine: Any, balance_id: str | None) -> bool:
    """Whether another connection can lock this balance at once (no one holds it)."""
    with engine.connect() as probe:
        try:
            probe.execute(
                text("SELECT id FROM stock_balance WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": balance_id},
            )
            return True
        except OperationalError:  # LockNotAvailable
            return False
        finally:
            probe.rollback()
