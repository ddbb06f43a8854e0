"""Balances and the append-only ledger.

Counters change only in ``apply_delta``: one UPDATE whose WHERE carries the guards (no counter
below zero, enough available for what is taken) and whose row count decides. Rows that must be
read before they are changed (counts, receipts) are locked with ``locked_balances`` first, in
the one lock order (``InventoryRepositoryBase.lock_order``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select, update

from tessera.db.statements import insert_ignoring_conflicts
from tessera.inventory.repository.base import (
    COUNTERS,
    InventoryRepositoryBase,
    Pair,
    pairs_clause,
)
from tessera.kit.ids import new_id
from tessera.models.inventory import (
    ReservationLine,
    ReservationStatus,
    StockBalance,
    StockLedgerEntry,
)


class Availability(NamedTuple):
    """What a balance has available, and how many units of holds that ran out (free,
    logically) still count in its reserved."""

    available: int
    expired: int


# Built once: building a statement costs more CPU than running it, and a hot SKU is only as
# fast as the Python around its one UPDATE.
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
    (_B.on_hand - _B.reserved - _B.committed - _B.damaged - _B.safety).label("available"),
    _EXPIRED_UNITS.label("expired"),
).where(
    _B.workspace_id == bindparam("w"),
    _B.variant_id.in_(bindparam("variants", expanding=True)),
    _B.location_id.in_(bindparam("locations", expanding=True)),
)

_DELTA_STATEMENTS: dict[tuple[tuple[str, bool], ...], Any] = {}


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


class StockRepository(InventoryRepositoryBase):
    # Balances -----------------------------------------------------------------------------

    def ensure_balances(self, workspace_id: str, pairs: Iterable[Pair], now: datetime) -> None:
        rows = [
            {
                "id": new_id("stb"),
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
                pairs_clause(pairs, StockBalance.variant_id, StockBalance.location_id),
            )
            .execution_options(populate_existing=True)
        ).all()

    def availability(
        self,
        workspace_id: str,
        variant_ids: Collection[str],
        location_ids: Collection[str],
        now: datetime,
    ) -> dict[Pair, Availability]:
        """What every balance of these variants at these locations has available, with its
        units of holds that ran out, in one statement."""
        if not variant_ids or not location_ids:
            return {}
        rows = self.session.execute(
            _AVAILABILITY,
            {"w": workspace_id, "variants": list(variant_ids), "locations": list(location_ids),
             "now": now},
        ).all()  # fmt: skip
        return {
            (str(r.variant_id), str(r.location_id)): Availability(int(r.available), int(r.expired))
            for r in rows
        }

    def locked_balances(self, workspace_id: str, pairs: Collection[Pair]) -> Sequence[StockBalance]:
        """The balances, locked until the transaction ends, in (variant, location) order."""
        if not pairs:
            return []
        query = (
            select(StockBalance)
            .where(
                StockBalance.workspace_id == workspace_id,
                pairs_clause(pairs, StockBalance.variant_id, StockBalance.location_id),
            )
            .order_by(*self.lock_order())
            .execution_options(populate_existing=True)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query).all()

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
        query = query.order_by(*self.lock_order())
        if locked and self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query.execution_options(populate_existing=True)).all()

    def short_balances(
        self,
        workspace_id: str,
        limit: int,
        variant_ids: Collection[str] | None = None,
        location_ids: Collection[str] | None = None,
    ) -> Sequence[StockBalance]:
        """Balances promising more than they hold (reserved + committed + damaged above on
        hand), the shortest first. Safety stock is left out: it holds units back, it sells
        none."""
        b = StockBalance
        short = b.reserved + b.committed + b.damaged - b.on_hand
        query = select(b).where(b.workspace_id == workspace_id, short > 0)
        if variant_ids is not None:
            query = query.where(b.variant_id.in_(variant_ids))
        if location_ids is not None:
            query = query.where(b.location_id.in_(location_ids))
        query = query.order_by(short.desc(), *self.lock_order()).limit(limit)
        return self.session.scalars(query.execution_options(populate_existing=True)).all()

    def balances_at(
        self, workspace_id: str, location_id: str, after_id: str | None, limit: int
    ) -> Sequence[StockBalance]:
        """One location's balances in the order they were made, after ``after_id``."""
        query = select(StockBalance).where(
            StockBalance.workspace_id == workspace_id, StockBalance.location_id == location_id
        )
        if after_id:
            query = query.where(StockBalance.id > after_id)
        return self.session.scalars(query.order_by(StockBalance.id).limit(limit)).all()

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

    # The ledger ---------------------------------------------------------------------------

    def workspaces_with_stock(self) -> list[str]:
        rows = self.session.scalars(
            select(StockLedgerEntry.workspace_id).distinct().order_by(StockLedgerEntry.workspace_id)
        )
        return [str(r) for r in rows]

    def insert_ledger(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert ledger entries whose keys are new; returns the keys inserted."""
        return set(
            self.insert_ignoring(
                StockLedgerEntry, rows, ("workspace_id", "idempotency_key"), "idempotency_key"
            )
        )

    def ledger_sums(
        self, workspace_id: str, variant_ids: Collection[str] | None = None
    ) -> dict[Pair, dict[str, int]]:
        """Each balance's counters as its ledger entries add them up."""
        e = StockLedgerEntry
        query = select(
            e.variant_id,
            e.location_id,
            *(func.coalesce(func.sum(getattr(e, f"{n}_delta")), 0).label(n) for n in COUNTERS),
        ).where(e.workspace_id == workspace_id)
        if variant_ids is not None:
            query = query.where(e.variant_id.in_(variant_ids))
        rows = self.session.execute(query.group_by(e.variant_id, e.location_id)).all()
        return {
            (str(row.variant_id), str(row.location_id)): {n: int(row._mapping[n]) for n in COUNTERS}
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
