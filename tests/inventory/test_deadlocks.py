"""When PostgreSQL breaks a deadlock, the transaction it stops leaves nothing behind and its
caller is told to try again, or tries again itself: the API answers 503 problem+json with
Retry-After (never a 500), and a bulk import applies the stopped chunk again.

Each test builds a real deadlock: another connection holds the second balance a request needs,
waits until the request holds the first one and waits, then asks for the first one. The other
connection's ``deadlock_timeout`` is raised, so the request's server process, waiting longer,
is the one that finds the cycle and stops its own transaction.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tessera.cli_support import CliContext
from tessera.connector.importer import FileImporter
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.models.inventory import Reservation, StockBalance
from tessera.models.order import Order
from tests.inventory.stock import make_shop_in
from tests.support.factories import make_tenant
from tests.support.live import live_server

pytestmark = pytest.mark.postgres_only
FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(postgres_url)
    yield make_session_factory(engine)
    engine.dispose()


def _stocked(factory: sessionmaker[Session], slug: str) -> tuple[Any, dict[str, str]]:
    """A tenant whose web channel sells SERUM and CREAM from its warehouse; its balance ids."""
    with session_scope(factory) as session:
        tenant = make_tenant(session, slug)
        shop = make_shop_in(session, tenant.workspace_id)
        stock = StockService(session)
        for sku in ("SERUM", "CREAM"):
            stock.receive(tenant.workspace_id, sku, "wh", 10)
        session.flush()
        balances = {
            sku: session.scalar(
                select(StockBalance.id).where(
                    StockBalance.variant_id == shop.variants[sku],
                    StockBalance.location_id == shop.locations["wh"],
                )
            )
            for sku in ("SERUM", "CREAM")
        }
    return tenant, balances


@contextmanager
def other_connection(url: str) -> Iterator[psycopg.Connection[Any]]:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as connection:
        connection.execute("SET deadlock_timeout = '30s'")  # the request finds the cycle
        yield connection
        connection.rollback()


def _lock(connection: psycopg.Connection[Any], balance_id: str) -> None:
    connection.execute("SELECT 1 FROM stock_balance WHERE id = %s FOR UPDATE", (balance_id,))


def _wait_for_a_lock_wait(url: str, timeout: float = 20.0) -> None:
    """Until some other server process of this database waits on a lock."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    deadline = time.monotonic() + timeout
    with psycopg.connect(plain, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchone()
            if waiting and waiting[0]:
                return
            time.sleep(0.02)
    raise AssertionError("nothing started waiting on a lock")


def _deadlocked(url: str, first: str, second: str, run: Callable[[], Any]) -> Any:
    """Hold ``second``, run ``run`` in a thread until it waits, then take ``first``: a cycle."""
    outcome: dict[str, Any] = {}
    with other_connection(url) as other:
        _lock(other, second)
        thread = threading.Thread(target=lambda: outcome.setdefault("value", run()))
        thread.start()
        _wait_for_a_lock_wait(url)
        _lock(other, first)  # returns once PostgreSQL stopped the other side of the cycle
        other.rollback()
    thread.join(timeout=60)
    return outcome["value"]


def test_a_reservation_stopped_by_a_deadlock_gets_503_and_holds_nothing(
    postgres_url: str, factory: sessionmaker[Session]
) -> None:
    """Through a real server: 503 problem+json with Retry-After and nothing held; sent again,
    it is held (201)."""
    tenant, balances = _stocked(factory, "deadlock-api")
    body = {
        "lines": [{"sku": "SERUM", "quantity": 1}, {"sku": "CREAM", "quantity": 1}],
        "idempotency_key": "checkout-1",
    }
    first, second = sorted(balances.values())  # the order every writer locks them in

    with live_server(postgres_url) as base_url, httpx.Client(base_url=base_url) as client:
        stopped = _deadlocked(
            postgres_url,
            first,
            second,
            lambda: client.post("/v1/reservations", headers=tenant.auth, json=body),
        )
        with session_scope(factory) as session:
            held = session.scalar(select(func.count()).select_from(Reservation))
        again = client.post("/v1/reservations", headers=tenant.auth, json=body)

    assert stopped.status_code == 503
    assert stopped.headers["content-type"] == "application/problem+json"
    assert stopped.headers["retry-after"] == "1"
    assert stopped.json()["type"].endswith("/database-busy")
    assert "a deadlock" in stopped.json()["detail"]
    assert held == 0
    assert again.status_code == 201


def test_an_import_chunk_stopped_by_a_deadlock_is_applied_again_once(
    postgres_url: str, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Two web orders in one chunk (SERUM, then CREAM): the chunk deadlocks with a checkout's
    locks, is applied again, and each order commits its unit once."""
    tenant, balances = _stocked(factory, "deadlock-import")
    template = json.loads((FIXTURES / "shopify" / "orders_create.json").read_text())
    path = tmp_path / "orders.jsonl"
    with path.open("w") as file:
        for n, sku in enumerate(("SERUM", "CREAM")):
            line = {**template["line_items"][0], "id": 700 + n, "sku": sku, "quantity": 1}
            order = {**template, "id": 9000 + n, "name": f"#90{n}", "order_number": 90 + n,
                     "line_items": [line], "refunds": [], "fulfillments": []}  # fmt: skip
            file.write(json.dumps(order) + "\n")
    context = CliContext(session_factory=factory)
    # SERUM's order locks SERUM's balance; CREAM's then waits on the one held here.
    held_second = balances["CREAM"]

    report = _deadlocked(
        postgres_url,
        balances["SERUM"],
        held_second,
        lambda: FileImporter(context.session, tenant.workspace_id, path, "shopify").run(),
    )

    assert (report.received, report.accepted, report.rejected) == (2, 2, 0)
    with session_scope(factory) as session:
        orders = session.scalar(
            select(func.count()).where(Order.workspace_id == tenant.workspace_id)
        )
        committed = {
            sku: session.scalar(select(StockBalance.committed).where(StockBalance.id == b))
            for sku, b in balances.items()
        }
        drift = VerifyService(session).verify(tenant.workspace_id).drift
    assert (orders, committed, drift) == (2, {"SERUM": 1, "CREAM": 1}, [])
