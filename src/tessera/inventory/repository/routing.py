"""Orders' allocations (which units at which location each line took) and the routing
decision recorded with them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select

from tessera.db.statements import insert_ignoring_conflicts
from tessera.inventory.repository.base import InventoryRepositoryBase, Pair, pairs_clause
from tessera.models.inventory import OrderAllocation, RoutingDecision

_A = OrderAllocation
# The test of the partial index ``ix_order_allocation_open``, written as it is there.
_IS_OPEN = _A.fulfilled + _A.cancelled < _A.quantity


class OpenAllocation(NamedTuple):
    """Units an order took at one balance that have neither shipped nor been cancelled."""

    order_id: str
    line_key: str
    variant_id: str
    location_id: str
    units: int
    is_backorder: bool
    created_at: datetime


class OpenTotals(NamedTuple):
    orders: int
    units: int


def _open_allocations(rows: Sequence[Any]) -> list[OpenAllocation]:
    return [
        OpenAllocation(str(r.order_id), str(r.line_key), str(r.variant_id), str(r.location_id),
                       int(r.units), bool(r.is_backorder), r.created_at)
        for r in rows
    ]  # fmt: skip


class RoutingRepository(InventoryRepositoryBase):
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
        """Units allocated to orders and neither shipped nor cancelled, per balance."""
        a = OrderAllocation
        rows = self.session.execute(
            select(
                a.variant_id,
                a.location_id,
                func.sum(a.quantity - a.fulfilled - a.cancelled).label("units"),
            )
            .where(a.workspace_id == workspace_id)
            .group_by(a.variant_id, a.location_id)
        ).all()
        return {(str(r.variant_id), str(r.location_id)): int(r.units) for r in rows}

    def open_allocations(
        self, workspace_id: str, pairs: Collection[Pair], per_balance: int
    ) -> list[OpenAllocation]:
        """Open allocations at these balances, backordered first and then newest, at most
        ``per_balance`` of each balance (one statement, numbered by a window)."""
        if not pairs:
            return []
        numbered = (
            select(
                _A.order_id, _A.line_key, _A.variant_id, _A.location_id,
                (_A.quantity - _A.fulfilled - _A.cancelled).label("units"),
                _A.is_backorder, _A.created_at,
                func.row_number().over(
                    partition_by=(_A.variant_id, _A.location_id),
                    order_by=(_A.is_backorder.desc(), _A.id.desc()),
                ).label("n"),
            )
            .where(_A.workspace_id == workspace_id, _IS_OPEN,
                   pairs_clause(pairs, _A.variant_id, _A.location_id))
            .subquery()
        )  # fmt: skip
        rows = self.session.execute(
            select(numbered)
            .where(numbered.c.n <= per_balance)
            .order_by(numbered.c.variant_id, numbered.c.location_id, numbered.c.n)
        ).all()
        return _open_allocations(rows)

    def open_totals(self, workspace_id: str, pairs: Collection[Pair]) -> dict[Pair, OpenTotals]:
        """Orders and units still open at each of these balances."""
        if not pairs:
            return {}
        rows = self.session.execute(
            select(
                _A.variant_id, _A.location_id,
                func.count(func.distinct(_A.order_id)).label("orders"),
                func.sum(_A.quantity - _A.fulfilled - _A.cancelled).label("units"),
            )
            .where(_A.workspace_id == workspace_id, _IS_OPEN,
                   pairs_clause(pairs, _A.variant_id, _A.location_id))
            .group_by(_A.variant_id, _A.location_id)
        ).all()  # fmt: skip
        return {
            (str(r.variant_id), str(r.location_id)): OpenTotals(int(r.orders), int(r.units))
            for r in rows
        }

    def open_pickups(self, workspace_id: str, location_id: str, limit: int) -> list[OpenAllocation]:
        """Units of pickup orders waiting at this store to be collected, newest first."""
        rows = self.session.execute(
            select(
                _A.order_id, _A.line_key, _A.variant_id, _A.location_id,
                (_A.quantity - _A.fulfilled - _A.cancelled).label("units"),
                _A.is_backorder, _A.created_at,
            )
            .join(RoutingDecision, RoutingDecision.order_id == _A.order_id)
            .where(_A.workspace_id == workspace_id, _A.location_id == location_id, _IS_OPEN,
                   RoutingDecision.method == "pickup")
            .order_by(_A.id.desc())
            .limit(limit)
        ).all()  # fmt: skip
        return _open_allocations(rows)

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
        """Record the order's decision unless one is recorded; True if this one was."""
        inserted = insert_ignoring_conflicts(
            self.session, RoutingDecision, [values], ("order_id",), "id"
        )
        return bool(inserted)
