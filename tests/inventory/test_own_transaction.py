"""A reservation that is its own unit of work (the API's POST /v1/reservations) runs the common
case's one statement alone, autocommitted, on PostgreSQL: it holds exactly what the statement in
a transaction would, it never leaves a reservation behind when it declines, one idempotency key
makes one reservation however many requests carry it at once, and a dropped connection is
replaced rather than answered with an error. Elsewhere (SQLite, a session bound to a
connection's transaction) it is ``reserve``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

import tessera.inventory.service.fast_path as fast_path
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.inventory.errors import IdempotencyKeyReused, InsufficientStock
from tessera.inventory.repository.fast_path import COMPANIONS
from tessera.inventory.schemas import ReservationIn, ReservationLineIn
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.models.inventory import Reservation, ReservationLine, StockLedgerEntry
from tests.inventory.stock import Shop, make_shop
from tests.inventory.test_fast_path import behind
from tests.inventory.test_service import counters, jobs, reserve


def request(key: str, *lines: tuple[str, int]) -> ReservationIn:
    return ReservationIn(
        lines=[ReservationLineIn(sku=s, quantity=q) for s, q in lines], idempotency_key=key
    )


@pytest.fixture
def alone(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each statement run alone took its reservation (False: it declined and the
    general path decided). Observed, not replaced."""
    taken: list[bool] = []
    real = fast_path.reserve_alone

    def observed(engine: Engine, values: Any) -> Any:
        result = real(engine, values)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(fast_path, "reserve_alone", observed)
    return taken


@pytest.fixture
def committed(postgres_url: str) -> Iterator[tuple[sessionmaker[Session], Engine]]:
    engine = make_engine(postgres_url)
    yield make_session_factory(engine), engine
    engine.dispose()


def _stocked(factory: sessionmaker[Session], slug: str, serum: int, cream: int) -> Shop:
    with session_scope(factory) as session:
        shop = make_shop(session, slug)
        stock = StockService(session)
        stock.receive(shop.workspace_id, "SERUM", "wh", serum)
        stock.receive(shop.workspace_id, "CREAM", "wh", cream)
    return shop


def _reserve_alone(
    factory: sessionmaker[Session], shop: Shop, key: str, *lines: tuple[str, int]
) -> tuple[str, list[tuple[str, str, int]]]:
    with session_scope(factory) as session:
        reservation, held = ReservationService(session).reserve_in_own_transaction(
            shop.workspace_id, request(key, *lines)
        )
    codes = {v: k for k, v in shop.locations.items()}
    skus = {v: k for k, v in shop.variants.items()}
    return reservation.id, sorted(
        (skus[h.variant_id], codes[h.location_id], h.quantity) for h in held
    )


def test_in_a_callers_transaction_it_is_reserve(
    session: Session, shop: Shop, alone: list[bool]
) -> None:
    """A session bound to a connection's transaction (as here, SQLite or PostgreSQL) joins it:
    nothing runs alone, and what is held is rolled back with the rest."""
    reservations = ReservationService(session)
    stock = StockService(session)
    stock.receive(shop.workspace_id, "SERUM", "wh", 3)

    made, held = reservations.reserve_in_own_transaction(
        shop.workspace_id, request("r-1", ("SERUM", 2))
    )

    assert alone == []
    assert [(line.quantity, line.location_id) for line in held] == [(2, shop.locations["wh"])]
    assert counters(session, shop, "SERUM", "wh") == (3, 2, 0, 0, 0, 0)
    assert reservations.get_reservation(shop.workspace_id, made.id)[0].id == made.id


def test_alone_it_holds_what_the_statement_in_a_transaction_holds(
    committed: Any, alone: list[bool]
) -> None:
    """SERUM, CREAM and SERUM again: one line per variant at the warehouse, one reserve entry
    each, one job naming both, committed without the session ever opening a transaction; the
    same key again returns that reservation through the general path."""
    factory, engine = committed
    shop = _stocked(factory, "alone", 5, 5)

    reservation_id, held = _reserve_alone(
        factory, shop, "r-1", ("SERUM", 1), ("CREAM", 1), ("SERUM", 1)
    )
    again_id, again = _reserve_alone(factory, shop, "r-1", ("SERUM", 1), ("CREAM", 1), ("SERUM", 1))

    assert alone == [True, False]
    assert held == again == [("CREAM", "wh", 1), ("SERUM", "wh", 2)]
    assert again_id == reservation_id
    with Session(engine) as session:
        reservations = ReservationService(session)
        verifier = VerifyService(session)
        stored, lines = reservations.get_reservation(shop.workspace_id, reservation_id)
        entries = session.scalars(
            select(StockLedgerEntry.idempotency_key).where(
                StockLedgerEntry.source_id == reservation_id
            )
        ).all()
        assert stored.request == [
            {"sku": "SERUM", "quantity": 1}, {"sku": "CREAM", "quantity": 1},
            {"sku": "SERUM", "quantity": 1},
        ]  # fmt: skip
        assert sorted(entries) == sorted(f"{line.id}:reserve" for line in lines)
        assert counters(session, shop, "SERUM", "wh") == (5, 2, 0, 0, 0, 0)
        assert counters(session, shop, "CREAM", "wh") == (5, 1, 0, 0, 0, 0)
        assert jobs(session, shop)[-1]["variant_ids"] == sorted(
            [shop.variants["SERUM"], shop.variants["CREAM"]]
        )
        assert verifier.verify(shop.workspace_id).drift == []


def test_a_used_key_with_another_request_is_refused_and_changes_nothing(
    committed: Any, alone: list[bool]
) -> None:
    """The key made a reservation of one SERUM; two SERUM under it is 409 and nothing moves."""
    factory, engine = committed
    shop = _stocked(factory, "alone-reused", 5, 5)
    _reserve_alone(factory, shop, "r-1", ("SERUM", 1))

    with pytest.raises(IdempotencyKeyReused):
        _reserve_alone(factory, shop, "r-1", ("SERUM", 2))

    assert alone == [True, False]
    with Session(engine) as session:
        assert counters(session, shop, "SERUM", "wh") == (5, 1, 0, 0, 0, 0)
        assert len(jobs(session, shop)) == 3  # two receipts and the one reservation


@pytest.mark.parametrize(
    ("first", "second"),
    [((("SERUM", 1),), (("SERUM", 1),)), ((("CREAM", 1),), (("SERUM", 1), ("CREAM", 1)))],
    ids=["one line", "two lines, the second gone"],
)
def test_a_take_that_beats_the_snapshot_leaves_no_reservation_behind(
    committed: Any,
    alone: list[bool],
    first: tuple[tuple[str, int], ...],
    second: tuple[tuple[str, int], ...],
) -> None:
    """One SERUM and one CREAM. A holds the last unit of its SKU, uncommitted; B's statement,
    alone, reads the old snapshot, claims its reservation and waits for A's row. When A
    commits, B finds the unit gone and raises rather than commit its reservation row: nothing
    of B is ever visible, and the general path refuses it."""
    factory, engine = committed
    shop = _stocked(factory, "alone-race", 1, 1)
    a = factory()
    reserve(ReservationService(a), shop, "a", *first)
    outcome: list[str] = []

    def b() -> None:
        try:
            _reserve_alone(factory, shop, "b", *second)
            outcome.append("held")
        except InsufficientStock:
            outcome.append("refused")

    behind(a, b, engine)

    with Session(engine) as session:
        keys = session.scalars(
            select(Reservation.idempotency_key).where(Reservation.workspace_id == shop.workspace_id)
        ).all()
        lines = session.scalar(
            select(func.count())
            .select_from(ReservationLine)
            .where(ReservationLine.workspace_id == shop.workspace_id)
        )
        drift = VerifyService(session).verify(shop.workspace_id).drift
        job_count = len(jobs(session, shop))
    assert alone == [False]
    assert outcome == ["refused"]
    assert (keys, lines) == (["a"], len(first))
    assert drift == []
    assert job_count == 3  # two receipts and A's reservation


def test_one_key_sent_by_many_requests_at_once_makes_one_reservation(
    committed: Any, alone: list[bool]
) -> None:
    """Twelve threads send the same checkout at once: every one is answered with the same
    reservation, and one unit is held, once in the ledger."""
    factory, engine = committed
    shop = _stocked(factory, "alone-same-key", 5, 5)
    barrier = threading.Barrier(12)

    def send(_: int) -> str:
        barrier.wait()
        reservation_id, _held = _reserve_alone(factory, shop, "checkout-1", ("SERUM", 1))
        return reservation_id

    with ThreadPoolExecutor(12) as threads:
        answers = list(threads.map(send, range(12)))

    assert len(set(answers)) == 1
    assert alone.count(True) == 1
    with Session(engine) as session:
        reservations = session.scalar(
            select(func.count())
            .select_from(Reservation)
            .where(Reservation.workspace_id == shop.workspace_id)
        )
        assert reservations == 1
        assert counters(session, shop, "SERUM", "wh") == (5, 1, 0, 0, 0, 0)
        assert VerifyService(session).verify(shop.workspace_id).drift == []


def test_a_dropped_connection_is_replaced_and_the_reservation_made(
    committed: Any, alone: list[bool]
) -> None:
    """The server ends every connection the statement may be sent on (a restart, a proxy's
    idle timeout): the next reservation is made on a new one, not answered with an error."""
    factory, engine = committed
    shop = _stocked(factory, "alone-dropped", 5, 5)
    _reserve_alone(factory, shop, "r-1", ("SERUM", 1))
    companion = COMPANIONS.of(engine)
    with engine.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            )
        ).scalar_one()

    _, held = _reserve_alone(factory, shop, "r-2", ("SERUM", 1))

    assert ended >= 1
    assert companion.pool.checkedout() == 0
    assert alone == [True, True]
    assert held == [("SERUM", "wh", 1)]
    with Session(engine) as session:
        assert counters(session, shop, "SERUM", "wh") == (5, 2, 0, 0, 0, 0)
