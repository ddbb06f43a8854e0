"""Every SQL statement of the inventory domain.

Counters change only in ``apply_delta``: one UPDATE whose WHERE carries the guards (no counter
below zero, enough available for what is taken) and whose row count decides. Rows that must be
read before they are changed (counts, receipts) are locked with ``locked_balances`` first,
always in (variant_id, location_id) order, the same order every writer uses, so two writers
never wait on each other in a cycle.

One statement reaches past the domain's own tables: ``reserve_at_first_location``, the
PostgreSQL fast path of a reservation, reads ``variant`` (the catalog's SKUs) and inserts the
``stock.availability_changed`` row into ``job``. It is the whole reservation in one round trip
(a hot SKU is serialised on its balance row, and every statement of the general path is client
CPU on a CPU-bound server), so it cannot go through the catalog's and the job system's
services; it writes exactly the rows ``JobService.enqueue_many`` would and reads only what
``CatalogService.variant_facts_by_sku`` would. See ADR 0011.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from sqlalchemy import (
    Engine,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import QueuePool

from tessera.db.base import RepositoryBase
from tessera.db.engine import dumps_json
from tessera.db.statements import insert_ignoring_conflicts
from tessera.kit.ids import new_id
from tessera.models.inventory import (
    ChannelLocation,
    Location,
    OrderAllocation,
    Reservation,
    ReservationLine,
    ReservationStatus,
    RoutingDecision,
    RoutingRule,
    StockBalance,
    StockLedgerEntry,
)

COUNTERS = ("on_hand", "reserved", "committed", "incoming", "damaged", "safety")
Pair = tuple[str, str]  # (variant_id, location_id)

# Statements of the reservation path, built once: building a statement costs more CPU than
# running it, and a hot SKU is only as fast as the Python around its one UPDATE.
_B = StockBalance.__table__.c
_EXPIRED_UNITS = (
    select(func.coalesce(func.sum(ReservationLine.quantity), 0))
    .where(
        ReservationLine.variant_id == _B.variant_id,
        ReservationLine.location_id == _B.location_id,
        ReservationLine.status == ReservationStatus.HELD,
        ReservationLine.expires_at <= bindparam("now"),
    )
    .correlate(StockBalance.__table__)
    .scalar_subquery()
)
_AVAILABILITY = select(
    _B.variant_id,
    _B.location_id,
    _B.on_hand - _B.reserved - _B.committed - _B.damaged - _B.safety,
    _EXPIRED_UNITS,
).where(
    _B.workspace_id == bindparam("w"),
    _B.variant_id.in_(bindparam("variants", expanding=True)),
    _B.location_id.in_(bindparam("locations", expanding=True)),
)
_CANDIDATES = (
    select(
        ChannelLocation.rank,
        Location.id,
        Location.kind,
        Location.is_active,
        Location.is_ship_enabled,
        Location.latitude,
        Location.longitude,
        Location.country,
        RoutingRule.rules,
        RoutingRule.is_ship_from_store,
    )
    .join(Location, Location.id == ChannelLocation.location_id)
    .outerjoin(
        RoutingRule,
        and_(
            RoutingRule.workspace_id == ChannelLocation.workspace_id,
            RoutingRule.channel == ChannelLocation.channel,
        ),
    )
    .where(
        ChannelLocation.workspace_id == bindparam("w"), ChannelLocation.channel == bindparam("c")
    )
    .order_by(ChannelLocation.rank, Location.code)
)
_INSERT_LINES = ReservationLine.__table__.insert()  # type: ignore[attr-defined]

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
# Companions of the application's engines for statements that are their own transaction.
_ALONE_ENGINES: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
_ALONE_ENGINES_LOCK = threading.Lock()


def _alone_engine(engine: Engine) -> Engine:
    """The companion of ``engine`` for statements run alone: the same server and pool size,
    connections in autocommit, prepared statements from their first use, and no pre-ping (a
    round trip per checkout, the price of a whole statement here): a connection found dropped
    is replaced and the statement sent again once (``reserve_alone``). Disposed with
    ``engine``. Its connections are held only while one statement runs and never while
    waiting for another connection, so a request holding one of ``engine``'s connections
    cannot starve it."""
    alone = _ALONE_ENGINES.get(engine)
    if alone is not None:
        return alone
    with _ALONE_ENGINES_LOCK:
        alone = _ALONE_ENGINES.get(engine)
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
            _ALONE_ENGINES[engine] = alone
            event.listen(engine, "engine_disposed", lambda _: alone.dispose())
    return alone


def reserve_alone(engine: Engine, values: Mapping[str, Any]) -> tuple[str, dict[str, str]] | None:
    """PostgreSQL only: ``InventoryRepository.reserve_at_first_location`` as its own
    transaction, on an autocommitting connection of ``engine``'s companion: one round trip,
    and the balance rows are locked only while the statement runs. Same result; when it
    declines nothing at all was written (the statement raises rather than leave its
    reservation row). A connection found dropped is replaced and the statement sent again,
    once: it carries its ids and idempotency key, so if the first one did commit, the second
    finds the key used and declines, and the general path answers with that reservation."""
    statement = _reserve_statement(len(values["skus"]))
    params = {**values, "request": dumps_json(values["request"]), "alone": True}
    alone = _alone_engine(engine)
    for attempt in (1, 2):
        connection = alone.raw_connection()
        driver: Any = connection.driver_connection
        try:
            with driver.cursor() as cursor:
                cursor.execute(statement, params)
                _claimed, location_id, line_ids, variant_ids, _ = cursor.fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate == DECLINED_SQLSTATE:
                return None
            if attempt == 1 and (driver.closed or driver.broken):
                connection.invalidate()
                continue
            raise
        finally:
            connection.close()
        if line_ids:
            return location_id, dict(zip(line_ids, variant_ids, strict=True))
        return None
    raise AssertionError("unreachable")  # pragma: no cover


_DELTA_STATEMENTS: dict[tuple[tuple[str, bool], ...], Any] = {}
_INSERT_STATEMENTS: dict[tuple[str, str, str | None], Any] = {}


def _delta_statement(signs: tuple[tuple[str, bool], ...]) -> Any:
    """``UPDATE stock_balance SET c = c + :d_c ... WHERE <guards>`` for these counters (name,
    is negative), cached. Guards: each decreased counter stays >= 0, and available >= :need."""
    statement = _DELTA_STATEMENTS.get(signs)
    if statement is None:
        table: Any = StockBalance.__table__
        c = table.c
        values: dict[str, Any] = {"updated_at": bindparam("now")}
        conditions = [
            c.workspace_id == bindparam("w"),
            c.variant_id == bindparam("v"),
            c.location_id == bindparam("l"),
            c.on_hand - c.reserved - c.committed - c.damaged - c.safety >= bindparam("need"),
        ]
        for name, negative in signs:
            values[name] = c[name] + bindparam(f"d_{name}")
            if negative:
                conditions.append(c[name] >= bindparam(f"g_{name}"))
        statement = update(table).where(*conditions).values(values)
        _DELTA_STATEMENTS[signs] = statement
    return statement


def _pairs_clause(pairs: Collection[Pair], variant: Any, location: Any) -> Any:
    variants = {v for v, _ in pairs}
    locations = {loc for _, loc in pairs}
    if len(variants) == 1 or len(locations) == 1:  # the common case: one index range
        return and_(variant.in_(variants), location.in_(locations))
    return or_(*(and_(variant == v, location == loc) for v, loc in sorted(pairs)))


class InventoryRepository(RepositoryBase):
    # Locations ----------------------------------------------------------------------------

    def location(self, workspace_id: str, location_id: str) -> Location | None:
        return self.session.scalar(
            select(Location).where(
                Location.workspace_id == workspace_id, Location.id == location_id
            )
        )

    def location_by_code(self, workspace_id: str, code: str) -> Location | None:
        return self.session.scalar(
            select(Location).where(Location.workspace_id == workspace_id, Location.code == code)
        )

    def locations(self, workspace_id: str) -> Sequence[Location]:
        return self.session.scalars(
            select(Location).where(Location.workspace_id == workspace_id).order_by(Location.code)
        ).all()

    def channel_locations(
        self, workspace_id: str, channel: str | None = None
    ) -> Sequence[tuple[ChannelLocation, Location]]:
        query = (
            select(ChannelLocation, Location)
            .join(Location, Location.id == ChannelLocation.location_id)
            .where(ChannelLocation.workspace_id == workspace_id)
        )
        if channel is not None:
            query = query.where(ChannelLocation.channel == channel)
        rows = self.session.execute(
            query.order_by(ChannelLocation.channel, ChannelLocation.rank, Location.code)
        ).all()
        return [(row[0], row[1]) for row in rows]

    def replace_channel_locations(
        self, workspace_id: str, channel: str, ranked: Sequence[str]
    ) -> None:
        self.session.execute(
            ChannelLocation.__table__.delete().where(  # type: ignore[attr-defined]
                ChannelLocation.workspace_id == workspace_id, ChannelLocation.channel == channel
            )
        )
        for rank, location_id in enumerate(ranked, start=1):
            self.session.add(
                ChannelLocation(
                    workspace_id=workspace_id, channel=channel, location_id=location_id, rank=rank
                )
            )
        self.session.flush()

    def channel_locations_and_rule(
        self, workspace_id: str, channel: str
    ) -> tuple[list[tuple[int, Location]], RoutingRule | None]:
        """The channel's ranked locations and its routing rule, in one query."""
        rows = self.session.execute(
            select(ChannelLocation.rank, Location, RoutingRule)
            .join(Location, Location.id == ChannelLocation.location_id)
            .outerjoin(
                RoutingRule,
                and_(
                    RoutingRule.workspace_id == ChannelLocation.workspace_id,
                    RoutingRule.channel == ChannelLocation.channel,
                ),
            )
            .where(ChannelLocation.workspace_id == workspace_id, ChannelLocation.channel == channel)
            .order_by(ChannelLocation.rank, Location.code)
        ).all()
        rule = rows[0][2] if rows else self.routing_rule(workspace_id, channel)
        return [(int(r[0]), r[1]) for r in rows], rule

    def routing_rule(self, workspace_id: str, channel: str) -> RoutingRule | None:
        return self.session.scalar(
            select(RoutingRule).where(
                RoutingRule.workspace_id == workspace_id, RoutingRule.channel == channel
            )
        )

    # Balances and the ledger --------------------------------------------------------------

    def ensure_balances(self, workspace_id: str, pairs: Iterable[Pair], now: datetime) -> None:
        rows = [
            {
                "id": _balance_id(),
                "workspace_id": workspace_id,
                "variant_id": v,
                "location_id": loc,
                **dict.fromkeys(COUNTERS, 0),
                "updated_at": now,
            }
            for v, loc in sorted(set(pairs))
        ]
        insert_ignoring_conflicts(self.session, StockBalance, rows, ("variant_id", "location_id"))

    def balances(self, workspace_id: str, pairs: Collection[Pair]) -> Sequence[StockBalance]:
        if not pairs:
            return []
        return self.session.scalars(
            select(StockBalance)
            .where(
                StockBalance.workspace_id == workspace_id,
                _pairs_clause(pairs, StockBalance.variant_id, StockBalance.location_id),
            )
            .execution_options(populate_existing=True)
        ).all()

    def availability(
        self,
        workspace_id: str,
        variant_ids: Collection[str],
        location_ids: Collection[str],
        now: datetime,
    ) -> dict[Pair, tuple[int, int]]:
        """(available, units of holds that ran out but still count in reserved) for every
        balance of these variants at these locations, in one statement."""
        if not variant_ids or not location_ids:
            return {}
        rows = self.session.execute(
            _AVAILABILITY,
            {"w": workspace_id, "variants": list(variant_ids), "locations": list(location_ids),
             "now": now},
        ).all()  # fmt: skip
        return {(str(r[0]), str(r[1])): (int(r[2]), int(r[3])) for r in rows}

    def channel_candidates(self, workspace_id: str, channel: str) -> Sequence[Any]:
        """(rank, location id, kind, is_active, is_ship_enabled, latitude, longitude, country,
        rule's rules, rule's is_ship_from_store) per location feeding the channel."""
        return self.session.execute(_CANDIDATES, {"w": workspace_id, "c": channel}).all()

    def _insert_ignoring(
        self, model: Any, rows: Sequence[dict[str, Any]], conflict: tuple[str, ...], returning: str
    ) -> list[Any]:
        """``insert_ignoring_conflicts`` with the statement built once per dialect."""
        if not rows:
            return []
        key = (self.dialect, model.__tablename__, returning)
        statement = _INSERT_STATEMENTS.get(key)
        if statement is None:
            module: Any = postgresql if self.dialect == "postgresql" else sqlite
            table = model.__table__
            statement = (
                module.insert(table)
                .on_conflict_do_nothing(index_elements=list(conflict))
                .returning(table.c[returning])
            )
            _INSERT_STATEMENTS[key] = statement
        return [row[0] for row in self.session.execute(statement, list(rows))]

    def locked_balances(self, workspace_id: str, pairs: Collection[Pair]) -> Sequence[StockBalance]:
        """The balances, locked until the transaction ends, in (variant, location) order."""
        if not pairs:
            return []
        query = (
            select(StockBalance)
            .where(
                StockBalance.workspace_id == workspace_id,
                _pairs_clause(pairs, StockBalance.variant_id, StockBalance.location_id),
            )
            .order_by(*self._lock_order())
            .execution_options(populate_existing=True)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query).all()

    def _lock_order(self) -> tuple[Any, Any]:
        """(variant, location) in code-point order, the order Python sorts changes in, whatever
        the database's collation (en_US would order some ids differently)."""
        if self.dialect == "postgresql":
            return (
                StockBalance.variant_id.collate("C"),
                StockBalance.location_id.collate("C"),
            )
        return (StockBalance.variant_id, StockBalance.location_id)

    def balances_where(
        self,
        workspace_id: str,
        variant_ids: Collection[str] | None = None,
        location_ids: Collection[str] | None = None,
        locked: bool = False,
    ) -> Sequence[StockBalance]:
        query = select(StockBalance).where(StockBalance.workspace_id == workspace_id)
        if variant_ids is not None:
            query = query.where(StockBalance.variant_id.in_(variant_ids))
        if location_ids is not None:
            query = query.where(StockBalance.location_id.in_(location_ids))
        query = query.order_by(*self._lock_order())
        if locked and self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query.execution_options(populate_existing=True)).all()

    def workspaces_with_stock(self) -> list[str]:
        rows = self.session.scalars(
            select(StockLedgerEntry.workspace_id).distinct().order_by(StockLedgerEntry.workspace_id)
        )
        return [str(r) for r in rows]

    def insert_ledger(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert ledger entries whose keys are new; returns the keys inserted."""
        return set(
            self._insert_ignoring(
                StockLedgerEntry, rows, ("workspace_id", "idempotency_key"), "idempotency_key"
            )
        )

    def apply_delta(
        self,
        workspace_id: str,
        variant_id: str,
        location_id: str,
        deltas: Mapping[str, int],
        need_available: int,
        now: datetime,
    ) -> bool:
        """One conditional UPDATE: add ``deltas`` if no counter would go below zero and at
        least ``need_available`` units are available first. True if the row changed."""
        changed = {name: delta for name, delta in deltas.items() if delta}
        signs = tuple(sorted((name, delta < 0) for name, delta in changed.items()))
        params: dict[str, Any] = {
            "w": workspace_id,
            "v": variant_id,
            "l": location_id,
            "now": now,
            # no requirement: a bound no row can fail (available is never below this)
            "need": need_available if need_available > 0 else -(2**31),
        }
        for name, delta in changed.items():
            params[f"d_{name}"] = delta
            if delta < 0:
                params[f"g_{name}"] = -delta
        result = self.session.execute(_delta_statement(signs), params)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def set_counters(self, balance_id: str, values: Mapping[str, int], now: datetime) -> None:
        self.session.execute(
            update(StockBalance)
            .where(StockBalance.id == balance_id)
            .values({**values, "updated_at": now})
        )

    def ledger_sums(
        self, workspace_id: str, variant_ids: Collection[str] | None = None
    ) -> dict[Pair, dict[str, int]]:
        e = StockLedgerEntry
        query = select(
            e.variant_id,
            e.location_id,
            *(func.coalesce(func.sum(getattr(e, f"{n}_delta")), 0) for n in COUNTERS),
        ).where(e.workspace_id == workspace_id)
        if variant_ids is not None:
            query = query.where(e.variant_id.in_(variant_ids))
        rows = self.session.execute(query.group_by(e.variant_id, e.location_id)).all()
        return {
            (str(row[0]), str(row[1])): {n: int(row[i + 2]) for i, n in enumerate(COUNTERS)}
            for row in rows
        }

    def ledger(
        self,
        workspace_id: str,
        variant_id: str | None,
        location_id: str | None,
        before_id: str | None,
        limit: int,
    ) -> Sequence[StockLedgerEntry]:
        query = select(StockLedgerEntry).where(StockLedgerEntry.workspace_id == workspace_id)
        if variant_id:
            query = query.where(StockLedgerEntry.variant_id == variant_id)
        if location_id:
            query = query.where(StockLedgerEntry.location_id == location_id)
        if before_id:
            query = query.where(StockLedgerEntry.id < before_id)
        return self.session.scalars(query.order_by(StockLedgerEntry.id.desc()).limit(limit)).all()

    # Reservations -------------------------------------------------------------------------

    def reserve_at_first_location(
        self, values: Mapping[str, Any]
    ) -> tuple[str, dict[str, str]] | None:
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
            _claimed, location_id, line_ids, variant_ids, _ = cursor.fetchone()
        if line_ids:
            return location_id, dict(zip(line_ids, variant_ids, strict=True))
        return None

    def claim_reservation(self, values: dict[str, Any]) -> bool:
        return bool(
            self._insert_ignoring(Reservation, [values], ("workspace_id", "idempotency_key"), "id")
        )

    def reservation(self, workspace_id: str, reservation_id: str) -> Reservation | None:
        return self.session.scalar(
            select(Reservation)
            .where(Reservation.workspace_id == workspace_id, Reservation.id == reservation_id)
            .execution_options(populate_existing=True)
        )

    def reservation_by_key(self, workspace_id: str, key: str) -> Reservation | None:
        return self.session.scalar(
            select(Reservation).where(
                Reservation.workspace_id == workspace_id, Reservation.idempotency_key == key
            )
        )

    def held_reservation_for_order(self, workspace_id: str, order_ref: str) -> Reservation | None:
        return self.session.scalar(
            select(Reservation)
            .where(
                Reservation.workspace_id == workspace_id,
                Reservation.order_ref == order_ref,
                Reservation.status == ReservationStatus.HELD,
            )
            .order_by(Reservation.id)
            .limit(1)
        )

    def reservations(
        self,
        workspace_id: str,
        before_id: str | None,
        limit: int,
        status: ReservationStatus | None,
    ) -> Sequence[Reservation]:
        query = select(Reservation).where(Reservation.workspace_id == workspace_id)
        if before_id:
            query = query.where(Reservation.id < before_id)
        if status is not None:
            query = query.where(Reservation.status == status)
        return self.session.scalars(query.order_by(Reservation.id.desc()).limit(limit)).all()

    def reservation_lines(self, reservation_ids: Collection[str]) -> Sequence[ReservationLine]:
        if not reservation_ids:
            return []
        return self.session.scalars(
            select(ReservationLine)
            .where(ReservationLine.reservation_id.in_(reservation_ids))
            .order_by(ReservationLine.variant_id, ReservationLine.location_id)
            .execution_options(populate_existing=True)
        ).all()

    def insert_reservation_lines(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(_INSERT_LINES, list(rows))

    def move_lines(
        self,
        reservation_id: str,
        from_status: ReservationStatus,
        to_status: ReservationStatus,
        unexpired_at: datetime | None = None,
    ) -> list[tuple[str, str, str, int]]:
        """Move the reservation's lines in ``from_status`` (and, with ``unexpired_at``, not
        expired then) to ``to_status``, locking them; returns (id, variant, location, qty)."""
        t = ReservationLine
        conditions = [t.reservation_id == reservation_id, t.status == from_status]
        if unexpired_at is not None:
            conditions.append(t.expires_at > unexpired_at)
        rows = self.session.execute(
            update(t)
            .where(*conditions)
            .values(status=to_status)
            .returning(t.id, t.variant_id, t.location_id, t.quantity)
            .execution_options(synchronize_session=False)
        ).all()
        return sorted((str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows)

    def set_reservation_status(
        self,
        reservation_id: str,
        from_status: ReservationStatus,
        to_status: ReservationStatus,
        now: datetime,
        order_ref: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": to_status, "updated_at": now}
        if order_ref is not None:
            values["order_ref"] = order_ref
        result = self.session.execute(
            update(Reservation)
            .where(Reservation.id == reservation_id, Reservation.status == from_status)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def lock_expired_lines(
        self,
        now: datetime,
        workspace_id: str | None = None,
        pairs: Collection[Pair] | None = None,
        limit: int = 500,
    ) -> list[str]:
        """Ids of held lines whose hold ran out, locked. Lines another transaction holds are
        skipped (SKIP LOCKED): whoever holds them is releasing or expiring them already."""
        t = ReservationLine
        query = select(t.id).where(t.status == ReservationStatus.HELD, t.expires_at <= now)
        if workspace_id is not None:
            query = query.where(t.workspace_id == workspace_id)
        if pairs is not None:
            if not pairs:
                return []
            query = query.where(_pairs_clause(pairs, t.variant_id, t.location_id))
        query = query.order_by(t.id).limit(limit)
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [str(i) for i in self.session.scalars(query)]

    def mark_expired(self, ids: Collection[str]) -> list[tuple[str, str, str, str, str, int]]:
        """Mark these held lines expired; returns (id, workspace, reservation, variant,
        location, quantity) of those that were still held."""
        if not ids:
            return []
        t = ReservationLine
        rows = self.session.execute(
            update(t)
            .where(t.id.in_(ids), t.status == ReservationStatus.HELD)
            .values(status=ReservationStatus.EXPIRED)
            .returning(
                t.id, t.workspace_id, t.reservation_id, t.variant_id, t.location_id, t.quantity
            )
            .execution_options(synchronize_session=False)
        ).all()
        return sorted(
            (str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5])) for r in rows
        )

    def expire_reservations(self, reservation_ids: Collection[str], now: datetime) -> None:
        """Reservations whose lines are all expired become expired."""
        if not reservation_ids:
            return
        still_held = select(ReservationLine.id).where(
            ReservationLine.reservation_id == Reservation.id,
            ReservationLine.status == ReservationStatus.HELD,
        )
        self.session.execute(
            update(Reservation)
            .where(
                Reservation.id.in_(reservation_ids),
                Reservation.status == ReservationStatus.HELD,
                ~still_held.exists(),
            )
            .values(status=ReservationStatus.EXPIRED, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    def expired_held_units(
        self, workspace_id: str, pairs: Collection[Pair] | None, now: datetime
    ) -> dict[Pair, int]:
        """Units still counted in reserved whose hold has run out (not swept yet)."""
        t = ReservationLine
        query = select(t.variant_id, t.location_id, func.sum(t.quantity)).where(
            t.workspace_id == workspace_id,
            t.status == ReservationStatus.HELD,
            t.expires_at <= now,
        )
        if pairs is not None:
            if not pairs:
                return {}
            query = query.where(_pairs_clause(pairs, t.variant_id, t.location_id))
        rows = self.session.execute(query.group_by(t.variant_id, t.location_id)).all()
        return {(str(v), str(loc)): int(q) for v, loc, q in rows}

    def line_sums(self, workspace_id: str, status: ReservationStatus) -> dict[Pair, int]:
        t = ReservationLine
        rows = self.session.execute(
            select(t.variant_id, t.location_id, func.sum(t.quantity))
            .where(t.workspace_id == workspace_id, t.status == status)
            .group_by(t.variant_id, t.location_id)
        ).all()
        return {(str(v), str(loc)): int(q) for v, loc, q in rows}

    # Orders -------------------------------------------------------------------------------

    def allocations(self, order_id: str) -> Sequence[OrderAllocation]:
        return self.session.scalars(
            select(OrderAllocation)
            .where(OrderAllocation.order_id == order_id)
            .order_by(
                OrderAllocation.line_key, OrderAllocation.variant_id, OrderAllocation.location_id
            )
            .execution_options(populate_existing=True)
        ).all()

    def open_allocation_units(self, workspace_id: str) -> dict[Pair, int]:
        a = OrderAllocation
        rows = self.session.execute(
            select(a.variant_id, a.location_id, func.sum(a.quantity - a.fulfilled - a.cancelled))
            .where(a.workspace_id == workspace_id)
            .group_by(a.variant_id, a.location_id)
        ).all()
        return {(str(v), str(loc)): int(q) for v, loc, q in rows}

    def routing_decision(self, workspace_id: str, order_id: str) -> RoutingDecision | None:
        return self.session.scalar(
            select(RoutingDecision).where(
                RoutingDecision.workspace_id == workspace_id, RoutingDecision.order_id == order_id
            )
        )

    def extend_routing_decision(
        self, order_id: str, allocations: list[dict[str, Any]], reasons: Sequence[str]
    ) -> None:
        """An edited order's decision: its allocations as they are now, and why they changed."""
        decision = self.session.scalar(
            select(RoutingDecision).where(RoutingDecision.order_id == order_id)
        )
        if decision is not None:
            decision.allocations = allocations
            decision.reasons = [*decision.reasons, *reasons]

    def claim_routing_decision(self, values: dict[str, Any]) -> bool:
        inserted = insert_ignoring_conflicts(
            self.session, RoutingDecision, [values], ("order_id",), "id"
        )
        return bool(inserted)


def _balance_id() -> str:
    return new_id("stb")
