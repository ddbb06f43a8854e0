"""Orders' allocations (which units at which location each line took) and the routing
decision recorded with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from tessera.db.statements import insert_ignoring_conflicts
from tessera.inventory.repository.base import InventoryRepositoryBase, Pair
from tessera.models.inventory import OrderAllocation, RoutingDecision


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
