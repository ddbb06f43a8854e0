"""Orders moving stock: ``sync_order`` runs whenever an order is applied, allocates it the
first time (``RoutingService.allocate``), follows its edits, and moves its units as it is
cancelled, refunded or shipped.

Counts only grow and every ledger key derives from the order, line and state, so a late,
repeated or reordered snapshot never moves stock twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService, component_demand
from tessera.inventory import domain
from tessera.inventory.errors import InsufficientStock
from tessera.inventory.repository.base import Pair
from tessera.inventory.repository.routing import RoutingRepository
from tessera.inventory.repository.stock import StockRepository
from tessera.inventory.service.ledger import Change, Refused, StockLedger
from tessera.inventory.service.routing import RoutingService
from tessera.kit.time import utcnow
from tessera.models.inventory import LedgerReason, OrderAllocation
from tessera.models.order import Order, OrderLine, OrderRefund, OrderStatus


@dataclass(frozen=True, slots=True)
class OrderStockResult:
    """How an order's stock moved this time: the method, the changes applied, and why."""

    method: str
    changes: int
    reasons: tuple[str, ...] = ()


class OrderStockService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = RoutingRepository(session)
        self.stock = StockRepository(session)
        self.changes = StockLedger(session)
        self.routing = RoutingService(session)
        self.catalog = CatalogService(session)

    def sync_order(
        self,
        workspace_id: str,
        order: Order,
        lines: Sequence[OrderLine],
        refunds: Sequence[OrderRefund],
        now: datetime | None = None,
    ) -> OrderStockResult:
        """Move stock for an order's current state; called whenever an order is applied.

        The first time an order is seen its units are allocated: an FBA order touches nothing
        of ours; a store's POS sale (or a retail partner's sell-through) takes units off that
        location's shelf at once; a pickup order commits the pickup store's stock only; any
        other order confirms the checkout's hold when there is one (``order_ref``) or commits
        stock at the locations routing picks, recording the decision and its reasons. An order
        has already been sold, so units missing are committed as backorder (on the record),
        never refused. Afterwards, cancellation returns open units, refunds cancel open units
        or return shipped ones, and fulfilment takes committed units off on hand. Counts only
        grow and every ledger key derives from the order, line and state, so a late, repeated
        or reordered snapshot never moves stock twice.
        """
        now = now or utcnow()
        if order.fulfillment == "fba" or not order.version_key:
            if order.fulfillment == "fba":
                self.routing.record_decision(
                    workspace_id,
                    order,
                    "fba",
                    [],
                    ["Amazon ships FBA orders from its own stock"],
                    now,
                )
            return OrderStockResult("fba" if order.fulfillment == "fba" else "pending", 0)
        allocations = list(self.repository.allocations(order.id))
        reasons: list[str] = []
        method = ""
        if not allocations:
            if order.is_cancelled or order.snapshot_status is OrderStatus.CANCELLED:
                return OrderStockResult("cancelled", 0, ("cancelled before any stock was taken",))
            method, reasons = self.routing.allocate(workspace_id, order, lines, now)
            allocations = list(self.repository.allocations(order.id))
        refunded = _refunded_units(refunds)
        line_units = {line.line_key: line.quantity for line in lines}
        is_shipped = order.snapshot_status is OrderStatus.FULFILLED
        is_cancelled = order.is_cancelled or order.snapshot_status is OrderStatus.CANCELLED
        owed = self._owed_units(workspace_id, lines, refunded)
        if not is_cancelled and allocations:
            edited = self._follow_edits(workspace_id, order, lines, owed, allocations, now)
            if edited:
                method, reasons = method or "edit", reasons + edited
                allocations = list(self.repository.allocations(order.id))
        changes: list[Change] = []
        per_line_variant: dict[tuple[str, str], list[OrderAllocation]] = defaultdict(list)
        for allocation in allocations:
            per_line_variant[(allocation.line_key, allocation.variant_id)].append(allocation)
        on_hand = {
            (b.variant_id, b.location_id): b.on_hand
            for b in self.stock.locked_balances(
                workspace_id, {(a.variant_id, a.location_id) for a in allocations}
            )
        }
        for (line_key, variant), group in per_line_variant.items():
            allocated = sum(a.quantity for a in group)
            if (line_key, variant) in owed or line_key not in line_units:
                # Units no longer owed (refunded, or the line cut or removed by an edit):
                # cancelled while open, returned once shipped.
                released = max(0, allocated - owed.get((line_key, variant), 0))
            else:  # a SKU no longer in the catalog: its refunds, per unit as allocated
                units = line_units[line_key]
                per_unit = max(allocated // units if units else 1, 1)
                released = refunded.get(line_key, 0) * per_unit
            shares = domain.distribute(released, [a.quantity for a in group])
            for allocation, refunded_units in zip(group, shares, strict=True):
                changes.extend(
                    self._allocation_changes(
                        order, allocation, is_shipped, is_cancelled, refunded_units, on_hand
                    )
                )
        try:
            applied = self.changes.apply(workspace_id, changes, now)
        except Refused as exc:  # pragma: no cover - guarded by the allocation counts
            raise InsufficientStock(
                "the order's units are not where its allocation says",
                variant_id=exc.change.variant_id,
                location_id=exc.change.location_id,
            ) from None
        self.changes.notify(workspace_id, applied, now)
        return OrderStockResult(method or "update", len(applied), tuple(reasons))

    def _owed_units(
        self, workspace_id: str, lines: Sequence[OrderLine], refunded: Mapping[str, int]
    ) -> dict[tuple[str, str], int]:
        """Units per (line, stocked variant) the order still owes: each line's quantity less its
        refunded units (none for a line the platform cancelled), bundles as their components.
        Lines whose SKU is unknown are left out."""
        skus = {line.sku for line in lines if line.sku}
        if not skus:
            return {}
        variants = self.catalog.variants_by_sku(workspace_id, skus)
        known = [line for line in lines if line.sku in variants]
        components = self.catalog.components([variants[str(line.sku)].id for line in known])
        owed: dict[tuple[str, str], int] = {}
        for line in known:
            returned = refunded.get(line.line_key, 0)
            units = 0 if line.is_cancelled else max(0, line.quantity - returned)
            demand = component_demand([(variants[str(line.sku)].id, units)], components)
            for variant_id, quantity in demand.items():
                owed[(line.line_key, variant_id)] = quantity
        return owed

    def _follow_edits(
        self,
        workspace_id: str,
        order: Order,
        lines: Sequence[OrderLine],
        owed: Mapping[tuple[str, str], int],
        allocations: Sequence[OrderAllocation],
        now: datetime,
    ) -> list[str]:
        """Take the units an edit added to an allocated order; returns why (empty: no edit).

        A line that grew takes its extra units where it was allocated (one parcel): committed,
        or sold off the shelf for a store's sale; a line the edit added is routed like a new
        order. Units an edit removed are released by the caller with the refunds. Allocations
        only grow and each ledger key carries the allocation's new quantity, so the same
        snapshot again finds nothing owed and moves nothing.
        """
        groups: dict[tuple[str, str], list[OrderAllocation]] = defaultdict(list)
        for allocation in allocations:
            groups[(allocation.line_key, allocation.variant_id)].append(allocation)
        sold = (order.fulfillment or "").lower() in ("in_store", "retail")
        grown: list[tuple[OrderAllocation, int]] = []
        for (line_key, variant), group in sorted(groups.items()):
            want = owed.get((line_key, variant))
            if want is None:
                continue
            allocated = sum(a.quantity for a in group)
            gone = sum(a.cancelled + a.returned for a in group)
            # After the caller releases max(0, allocated - want), this many are still live:
            live = allocated - max(gone, allocated - want)
            if want > live:
                grown.append((group[0], want - live))
        on_hand: dict[Pair, int] = {}
        if grown and sold:
            on_hand = {
                (b.variant_id, b.location_id): b.on_hand
                for b in self.stock.locked_balances(
                    workspace_id, {(a.variant_id, a.location_id) for a, _ in grown}
                )
            }
        changes: list[Change] = []
        reasons: list[str] = []
        for first, extra in grown:
            first.quantity += extra
            v, loc = first.variant_id, first.location_id
            key = f"order:{order.id}:{first.line_key}:{v}:{loc}"
            if sold:  # off the shelf at once, as the sale itself was (_write_allocations)
                first.fulfilled += extra
                units = min(extra, on_hand.get((v, loc), 0))
                on_hand[(v, loc)] = on_hand.get((v, loc), 0) - units
                change = Change(
                    v, loc, LedgerReason.SALE, f"{key}:sold:{first.quantity}", "order",
                    order.id, {"on_hand": -units},
                    note="added by an order edit"
                    + ("" if units == extra else f"; {extra - units} sold beyond on hand"),
                )  # fmt: skip
            else:
                change = Change(
                    v, loc, LedgerReason.COMMIT, f"{key}:committed:{first.quantity}", "order",
                    order.id, {"committed": extra}, note="added by an order edit",
                )  # fmt: skip
            changes.append(change)
            reasons.append(
                f"line {first.line_key}: {extra} more added by an edit, at the same location"
            )
        allocated_lines = {line_key for line_key, _ in groups}
        owing = {line_key for (line_key, _), units in owed.items() if units > 0}
        added = [line for line in lines if line.line_key in owing - allocated_lines]
        if changes:
            self.session.flush()
            self.changes.notify(workspace_id, self.changes.apply(workspace_id, changes, now), now)
        if added:
            _, routed = self.routing.allocate(workspace_id, order, added, now)
            reasons += [f"lines added by an edit ({', '.join(a.line_key for a in added)})"]
            reasons += routed
        if reasons:
            self.repository.extend_routing_decision(
                order.id,
                [
                    {
                        "line_key": a.line_key,
                        "variant_id": a.variant_id,
                        "location_id": a.location_id,
                        "quantity": a.quantity,
                        "is_backorder": a.is_backorder,
                    }
                    for a in self.repository.allocations(order.id)
                ],
                reasons,
            )
        return reasons

    def _allocation_changes(
        self,
        order: Order,
        allocation: OrderAllocation,
        is_shipped: bool,
        is_cancelled: bool,
        refunded: int,
        on_hand_now: dict[Pair, int],
    ) -> list[Change]:
        state = domain.AllocationState(
            allocation.quantity, allocation.fulfilled, allocation.cancelled, allocation.returned
        )
        target = domain.allocation_targets(
            state, is_shipped=is_shipped, is_cancelled=is_cancelled, refunded=refunded
        )
        v, loc = allocation.variant_id, allocation.location_id
        base = f"order:{order.id}:{allocation.line_key}:{v}:{loc}"
        changes: list[Change] = []
        if target.cancelled > state.cancelled:
            units = target.cancelled - state.cancelled
            changes.append(
                Change(
                    v,
                    loc,
                    LedgerReason.CANCEL,
                    f"{base}:cancelled:{target.cancelled}",
                    "order",
                    order.id,
                    {"committed": -units},
                )
            )
        if target.fulfilled > state.fulfilled:
            units = target.fulfilled - state.fulfilled
            on_hand = on_hand_now.get((v, loc), 0)
            on_hand_now[(v, loc)] = max(0, on_hand - units)
            changes.append(
                Change(
                    v,
                    loc,
                    LedgerReason.FULFIL,
                    f"{base}:fulfilled:{target.fulfilled}",
                    "order",
                    order.id,
                    {"committed": -units, "on_hand": -min(units, on_hand)},
                    note=None if on_hand >= units else f"{units - on_hand} shipped beyond on hand",
                )
            )
        if target.returned > state.returned:
            units = target.returned - state.returned
            changes.append(
                Change(
                    v,
                    loc,
                    LedgerReason.RETURN,
                    f"{base}:returned:{target.returned}",
                    "order",
                    order.id,
                    {"on_hand": units},
                )
            )
        allocation.fulfilled, allocation.cancelled, allocation.returned = (
            target.fulfilled,
            target.cancelled,
            target.returned,
        )
        return changes


def _refunded_units(refunds: Sequence[OrderRefund]) -> dict[str, int]:
    units: dict[str, int] = defaultdict(int)
    for refund in refunds:
        for item in refund.lines or []:
            key, quantity = item.get("line_key"), item.get("quantity")
            if isinstance(key, str) and isinstance(quantity, int) and quantity > 0:
                units[key] += quantity
    return dict(units)
