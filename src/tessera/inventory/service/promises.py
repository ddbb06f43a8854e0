"""Whom stock is promised to: the open orders and live holds on a balance, the pickups waiting
at a store, and the oversold positions, where more is promised than is there.

A balance is oversold when its reserved, committed and damaged units add up to more than it
has on hand, holds that ran out counted as free (as every read counts them). Channels cause
it: an order was sold already, so units it finds missing are committed as backorder on the
record, never refused (``routing``), and a count can find fewer units than orders wait for.
Safety stock is left out: it keeps units from sale and promises none to anyone, so a balance
short only of its safety stock is not oversold (its available is still below zero).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tessera.inventory.repository.reservations import HeldLine, ReservationRepository
from tessera.inventory.repository.routing import OpenAllocation, RoutingRepository
from tessera.inventory.repository.stock import StockRepository
from tessera.kit.pagination import clamp_limit
from tessera.kit.time import utcnow
from tessera.models.inventory import StockBalance

__all__ = ["HeldLine", "OpenAllocation", "OversoldPosition", "PromiseService"]

ORDERS_SHOWN = 10  # orders named per oversold position; the rest are counted
HOLDS_SHOWN = 200  # live holds named across the positions asked for


@dataclass(frozen=True, slots=True)
class OversoldPosition:
    """One oversold balance: ``short`` units promised beyond what it holds, and whom to."""

    balance: StockBalance
    short: int
    orders: list[OpenAllocation]  # backordered first, then newest; at most ORDERS_SHOWN
    open_orders: int  # every order with units still open here
    open_units: int
    holds: list[HeldLine]


class PromiseService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.stock = StockRepository(session)
        self.routing = RoutingRepository(session)
        self.reservations = ReservationRepository(session)

    def oversold(
        self,
        workspace_id: str,
        limit: int = 100,
        variant_ids: Collection[str] | None = None,
        location_ids: Collection[str] | None = None,
        now: datetime | None = None,
    ) -> list[OversoldPosition]:
        """Oversold balances (of these variants, at these locations), the shortest first, up
        to ``limit``, each with the orders and holds behind it. Refuses a limit outside
        1..200 (422)."""
        limit = clamp_limit(limit)
        now = now or utcnow()
        candidates = self.stock.short_balances(workspace_id, limit, variant_ids, location_ids)
        pairs = {(b.variant_id, b.location_id) for b in candidates}
        expired = self.reservations.expired_held_units(workspace_id, pairs, now)
        short = {
            (b.variant_id, b.location_id): b.reserved + b.committed + b.damaged - b.on_hand
            - expired.get((b.variant_id, b.location_id), 0)
            for b in candidates
        }  # fmt: skip
        oversold = sorted(
            (b for b in candidates if short[(b.variant_id, b.location_id)] > 0),
            key=lambda b: -short[(b.variant_id, b.location_id)],
        )
        pairs = {(b.variant_id, b.location_id) for b in oversold}
        orders: dict[tuple[str, str], list[OpenAllocation]] = defaultdict(list)
        for allocation in self.routing.open_allocations(workspace_id, pairs, ORDERS_SHOWN):
            orders[(allocation.variant_id, allocation.location_id)].append(allocation)
        holds: dict[tuple[str, str], list[HeldLine]] = defaultdict(list)
        for line in self.reservations.live_held_lines(workspace_id, now, HOLDS_SHOWN, pairs):
            holds[(line.variant_id, line.location_id)].append(line)
        totals = self.routing.open_totals(workspace_id, pairs)
        positions = []
        for balance in oversold:
            pair = (balance.variant_id, balance.location_id)
            total = totals.get(pair)
            positions.append(
                OversoldPosition(
                    balance=balance,
                    short=short[pair],
                    orders=orders.get(pair, []),
                    open_orders=total.orders if total else 0,
                    open_units=total.units if total else 0,
                    holds=holds.get(pair, []),
                )
            )
        return positions

    def holds_at(
        self, workspace_id: str, location_id: str, limit: int = 50, now: datetime | None = None
    ) -> list[HeldLine]:
        """Checkout holds still live at a location, newest first. Refuses a limit outside
        1..200 (422)."""
        return self.reservations.live_held_lines(
            workspace_id, now or utcnow(), clamp_limit(limit), location_id=location_id
        )

    def pickups_at(
        self, workspace_id: str, location_id: str, limit: int = 50
    ) -> list[OpenAllocation]:
        """Units of pickup (BOPIS) orders waiting at a store to be collected, newest first.
        Refuses a limit outside 1..200 (422)."""
        return self.routing.open_pickups(workspace_id, location_id, clamp_limit(limit))
