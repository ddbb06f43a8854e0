"""The PostgreSQL fast path of a reservation: the whole reservation in one statement (ADR 0011),
run in the caller's transaction (``FastPathRepository.reserve_at_first_location``) or alone,
autocommitted, on a companion engine's connection (``reserve_alone``, ADR 0018).

The statement reaches past the domain's own tables: it reads ``variant`` (the catalog's SKUs)
and inserts the ``stock.availability_changed`` row into ``job``. It is the whole reservation
in one round trip (a hot SKU is serialised on its balance row, and every statement of the
general path is client CPU on a CPU-bound server), so it cannot go through the catalog's and
the job system's services; it writes exactly the rows ``JobService.enqueue_many`` would and
reads only what ``CatalogService.variant_facts_by_sku`` would.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from tessera.db.engine import dumps_json
from tessera.inventory.repository.base import InventoryRepositoryBase
from tessera.kit.process import PROCESS


class Taken(NamedTuple):
    """What the one statement held: the location it chose, and each line's variant."""

    location_id: str
    variant_of_line: dict[str, str]


class _StatementRow(NamedTuple):
    """The statement's one row, in the order of its final SELECT."""

    claimed: int
    location_id: str | None
    line_ids: list[str] | None
    variant_ids: list[str] | None
    declined: None

    def taken(self) -> Taken | None:
        if not self.line_ids or self.location_id is None or self.variant_ids is None:
            return None
        return Taken(self.location_id, dict(zip(self.line_ids, self.variant_ids, strict=True)))


# The PostgreSQL fast path of a reservation, in one statement (ADR 0011). ``lines`` reads, from
# the statement's snapshot, each requested SKU's plain variant and its balance at the channel's
# first eligible location, with enough available and no expired hold still counted there; only
# when every SKU has such a row is the reservation inserted (ON CONFLICT: a used key inserts
# nothing). Then the balances are locked (FOR NO KEY UPDATE, the lock an UPDATE takes) in
# (variant, location) code-point order, the order of every writer, and the guard is checked
# again on the locked rows, as they are after any writer ahead; only when every row passes
# are they updated, and only the UPDATE's RETURNING rows insert the lines, the ledger entries
# and the job. So the statement either takes everything or changes no counter: the one thing
# it can leave behind is the reservation row and the locks it took, when a concurrent take beat
# the snapshot: in a transaction the caller runs it in a savepoint and rolls that back, so the
# general path that follows locks every balance in the one order. That row comes before the
# lock, as in the general path, so two requests with one key, one on each path, wait for each
# other in one order and never deadlock.
# Sub-statements of a WITH all run, whatever reads them: each INSERT and the UPDATE are gated on
# the rows of the step before, never on the outer SELECT. Run autocommitted (``alone``), the
# statement is its own transaction and the reservation row would be committed with nothing
# held: there it raises instead (``tessera_decline_statement``, migration 0014, SQLSTATE
# ``DECLINED_SQLSTATE``), which rolls back everything it wrote, and the caller falls back.
_RESERVE_AT_FIRST_LOCATION = """
WITH want AS (
    {want}
), target AS (
    SELECT l.id AS location_id
    FROM channel_location cl
    JOIN location l ON l.id = cl.location_id
    LEFT JOIN routing_rule r ON r.workspace_id = cl.workspace_id AND r.channel = cl.channel
    WHERE cl.workspace_id = %(w)s AND cl.channel = %(channel)s
      AND l.kind NOT IN ('fba', 'retail') AND l.is_active AND l.is_ship_enabled
      AND NOT (%(market)s AND coalesce(r.rules @> '["keep_within_market"]', false))
      AND NOT (%(coordinates)s AND coalesce(r.rules @> '["closest"]', false))
    ORDER BY l.kind = 'store' AND NOT coalesce(r.is_ship_from_store, false),
             cl.rank, l.id COLLATE "C"
    LIMIT 1
), lines AS (
    SELECT want.quantity, want.line_id, want.ledger_id, b.variant_id, b.id AS balance_id
    FROM want
    CROSS JOIN target
    CROSS JOIN LATERAL (
        SELECT b.id, b.variant_id
        FROM variant v
        JOIN stock_balance b ON b.variant_id = v.id AND b.location_id = target.location_id
        WHERE v.workspace_id = %(w)s AND v.sku = want.sku AND NOT v.is_bundle
          AND b.on_hand - b.reserved - b.committed - b.damaged - b.safety >= want.quantity
          AND NOT EXISTS (
              SELECT 1 FROM reservation_line x
              WHERE x.variant_id = b.variant_id AND x.location_id = b.location_id
                AND x.status = 'held' AND x.expires_at <= %(now)s)
        LIMIT 1
    ) b
), claimed AS (
    INSERT INTO reservation (id, workspace_id, channel, status, idempotency_key, order_ref,
                             request, expires_at, created_at, updated_at)
    SELECT %(id)s, %(w)s, %(channel)s, 'held', %(key)s, %(order_ref)s, %(request)s::jsonb,
           %(expires_at)s, %(now)s, %(now)s
    WHERE (SELECT count(*) FROM lines) = %(n)s
    ON CONFLICT (workspace_id, idempotency_key) DO NOTHING
    RETURNING id
), locked AS (
    SELECT b.id, lines.variant_id, lines.quantity, lines.line_id, lines.ledger_id
    FROM stock_balance b
    JOIN lines ON b.id = lines.balance_id
    WHERE EXISTS (SELECT 1 FROM claimed)
      AND b.on_hand - b.reserved - b.committed - b.damaged - b.safety >= lines.quantity
    ORDER BY b.variant_id COLLATE "C", b.location_id COLLATE "C"
    FOR NO KEY UPDATE OF b
), taken AS (
    UPDATE stock_balance b
    SET reserved = b.reserved + locked.quantity, updated_at = %(now)s
    FROM locked
    WHERE b.id = locked.id AND (SELECT count(*) FROM locked) = %(n)s
    RETURNING locked.variant_id, locked.quantity, locked.line_id, locked.ledger_id
), held AS (
    INSERT INTO reservation_line (id, workspace_id, reservation_id, variant_id, location_id,
                                  quantity, is_backorder, status, expires_at)
    SELECT line_id, %(w)s, %(id)s, variant_id, (SELECT location_id FROM target), quantity,
           false, 'held', %(expires_at)s
    FROM taken
), entered AS (
    INSERT INTO stock_ledger_entry (id, workspace_id, variant_id, location_id, reason,
                                    on_hand_delta, reserved_delta, committed_delta,
                                    incoming_delta, damaged_delta, safety_delta, source_type,
                                    source_id, idempotency_key, note, created_at)
    SELECT ledger_id, %(w)s, variant_id, (SELECT location_id FROM target), 'reserve',
           0, quantity, 0, 0, 0, 0, 'reservation', %(id)s, line_id || ':reserve', NULL, %(now)s
    FROM taken
), queued AS (
    INSERT INTO job (id, workspace_id, kind, payload, status, priority, run_at, attempts,
                     max_attempts, created_at)
    SELECT %(job_id)s, %(w)s, %(job_kind)s,
           jsonb_build_object(
               'variant_ids', jsonb_agg(variant_id ORDER BY variant_id COLLATE "C"),
               'changed_at', %(changed_at)s::text),
           'queued', %(job_priority)s, %(now)s, 0, %(job_max_attempts)s, %(now)s
    FROM taken
    HAVING count(*) > 0
)
SELECT (SELECT count(*) FROM claimed),
       (SELECT location_id FROM target),
       (SELECT array_agg(line_id ORDER BY line_id) FROM taken),
       (SELECT array_agg(variant_id ORDER BY line_id) FROM taken),
       (SELECT tessera_decline_statement('a concurrent take beat the snapshot')
        WHERE %(alone)s AND EXISTS (SELECT 1 FROM claimed) AND NOT EXISTS (SELECT 1 FROM taken))
"""
# One line, without the indentation: psycopg caches its parse of statements up to 4 KiB only.
_RESERVE_TEMPLATE = " ".join(_RESERVE_AT_FIRST_LOCATION.split())


@lru_cache(maxsize=64)
def _reserve_statement(lines: int) -> str:
    """The fast path for ``lines`` SKUs. The arrays are read at the positions of a VALUES list
    of that length, so the plan PostgreSQL caches for the prepared statement knows how many
    rows there are and costs no more than one made for the values: it is planned once per
    connection and line count. (``unnest`` would be estimated at 10 rows in a cached plan, so
    each execution would be planned again, about a millisecond of the server's CPU.)"""
    positions = ", ".join(f"({n})" for n in range(1, lines + 1))  # integers only
    want = (
        "SELECT a.skus[k.n] AS sku, a.quantities[k.n] AS quantity, a.line_ids[k.n] AS line_id,"  # noqa: S608
        " a.ledger_ids[k.n] AS ledger_id FROM (SELECT %(skus)s::text[] AS skus,"
        " %(quantities)s::int[] AS quantities, %(line_ids)s::text[] AS line_ids,"
        f" %(ledger_ids)s::text[] AS ledger_ids) a CROSS JOIN (VALUES {positions}) AS k(n)"
    )
    return _RESERVE_TEMPLATE.replace("{want}", want)


# What ``tessera_decline_statement`` raises: the one statement changed nothing.
DECLINED_SQLSTATE = "TS001"


class CompanionEngines:
    """The companion of each application engine for statements that are their own transaction:
    the same server and pool size, connections in autocommit, prepared statements from their
    first use, and no pre-ping (a round trip per checkout, the price of a whole statement
    here): a connection found dropped is replaced and the statement sent again once
    (``reserve_alone``). Its connections are held only while one statement runs and never
    while waiting for another connection, so a request holding one of the engine's
    connections cannot starve it.

    One per process (``COMPANIONS``), kept in ``tessera.kit.process.PROCESS``: a companion is
    disposed with its engine, when the process closes, and between tests.
    """

    def __init__(self) -> None:
        self._by_engine: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
        self._lock = threading.Lock()

    def of(self, engine: Engine) -> Engine:
        """``engine``'s companion, made on first use."""
        alone = self._by_engine.get(engine)
        if alone is not None:
            return alone
        with self._lock:
            alone = self._by_engine.get(engine)
            if alone is None:
                size = engine.pool.size() if isinstance(engine.pool, QueuePool) else 5
                alone = create_engine(
                    engine.url,
                    isolation_level="AUTOCOMMIT",
                    pool_size=size,
                    max_overflow=2 * size,
                    pool_pre_ping=False,
                    pool_reset_on_return=None,
                    connect_args={"prepare_threshold": 0},
                )
                self._by_engine[engine] = alone
                event.listen(engine, "engine_disposed", lambda _: alone.dispose())
        return alone

    def clear(self) -> None:
        """Close every companion's connections; the next statement alone makes a new one."""
        with self._lock:
            companions = list(self._by_engine.values())
            self._by_engine.clear()
        for alone in companions:
            alone.dispose()

    def __len__(self) -> int:
        return len(self._by_engine)


COMPANIONS = CompanionEngines()
PROCESS.keep("inventory.companion_engines", COMPANIONS, "one per application engine")
PROCESS.on_close("inventory.companion_engines", COMPANIONS.clear)


def reserve_alone(engine: Engine, values: Mapping[str, Any]) -> Taken | None:
    """PostgreSQL only: ``FastPathRepository.reserve_at_first_location`` as its own
    transaction, on an autocommitting connection of ``engine``'s companion: one round trip,
    and the balance rows are locked only while the statement runs. Same result; when it
    declines nothing at all was written (the statement raises rather than leave its
    reservation row). A connection found dropped is replaced and the statement sent again,
    once: it carries its ids and idempotency key, so if the first one did commit, the second
    finds the key used and declines, and the general path answers with that reservation."""
    statement = _reserve_statement(len(values["skus"]))
    params = {**values, "request": dumps_json(values["request"]), "alone": True}
    alone = COMPANIONS.of(engine)
    for attempt in (1, 2):
        connection = alone.raw_connection()
        driver: Any = connection.driver_connection
        try:
            with driver.cursor() as cursor:
                cursor.execute(statement, params)
                row = _StatementRow._make(cursor.fetchone())
        except psycopg.Error as exc:
            if exc.sqlstate == DECLINED_SQLSTATE:
                return None
            if attempt == 1 and (driver.closed or driver.broken):
                connection.invalidate()
                continue
            raise
        finally:
            connection.close()
        return row.taken()
    raise AssertionError("unreachable")  # pragma: no cover


class FastPathRepository(InventoryRepositoryBase):
    def reserve_at_first_location(self, values: Mapping[str, Any]) -> Taken | None:
        """PostgreSQL only: the whole reservation in one statement, when every line is a plain
        variant with enough available and no expired hold at the channel's first eligible
        location (``_RESERVE_AT_FIRST_LOCATION``). Returns that location and {line id: variant
        id} of the lines held there, or None when nothing was taken (an unknown SKU, a bundle,
        too little, an expired hold to release first, a used key, routing that needs the
        destination). When a concurrent take beat its snapshot, it has written its reservation
        row and locked the balances before declining: the caller runs it in a savepoint and
        rolls that back, then takes the general path."""
        self.session.flush()  # the driver's cursor does not autoflush as a query would
        driver: Any = self.session.connection().connection.driver_connection
        with driver.cursor() as cursor:
            cursor.execute(
                _reserve_statement(len(values["skus"])),
                {**values, "request": dumps_json(values["request"]), "alone": False},
            )
            row = _StatementRow._make(cursor.fetchone())
        return row.taken()
