"""What the demand forecast reads, as Ibis expressions on the application's database: units
sold per SKU x location x day, stock positions, and on-hand changes per day.

Demand is every channel's orders that were not cancelled (the canonical ``orders`` and
``order_lines``). Where inventory routed an order (``order_allocation``: web and marketplace
orders shipped from a warehouse, a store's POS sales, a retail partner's sell-through), the
units count at the location they came from, under the variant's SKU (a bundle's components,
less units cancelled). Lines of an order nothing was allocated for count at the order's
``location_ref`` or else its channel, under the line's SKU.

Like ``analytics.layer.tables``, it names the application's tables directly, read-only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy.orm import Session

from tessera.analytics.layer import Tables, from_session


@dataclass(frozen=True)
class Position:
    """A SKU's stock at one location: on hand, and on hand + incoming - reserved - committed."""

    on_hand: int
    position: int


def _declared(time: str) -> dict[str, ir.Table]:
    declared = {
        "order_allocation": {"workspace_id": "string", "order_id": "string",
                             "variant_id": "string", "location_id": "string",
                             "quantity": "int64", "cancelled": "int64"},
        "variant": {"id": "string", "workspace_id": "string", "sku": "string"},
        "location": {"id": "string", "workspace_id": "string", "code": "string"},
        "stock_balance": {"workspace_id": "string", "variant_id": "string",
                          "location_id": "string", "on_hand": "int64", "reserved": "int64",
                          "committed": "int64", "incoming": "int64"},
        "stock_ledger_entry": {"workspace_id": "string", "variant_id": "string",
                               "location_id": "string", "on_hand_delta": "int64",
                               "created_at": time},
    }  # fmt: skip
    return {name: ibis.table(columns, name=name) for name, columns in declared.items()}


class ForecastRepository:
    """Reads of one workspace for the forecast; every answer is plain Python values."""

    def __init__(self, session: Session, workspace_id: str) -> None:
        self.workspace_id = workspace_id
        self.tables: Tables = from_session(session, workspace_id)
        self.backend_name = self.tables.backend.name
        time = "timestamp" if self.backend_name == "sqlite" else "timestamp('UTC')"
        raw = _declared(time)
        ws = workspace_id
        mine = {
            name: table.filter(table.workspace_id == ws).drop("workspace_id")
            for name, table in raw.items()
        }
        self.allocation = mine["order_allocation"].rename(alloc_order_id="order_id")
        self.variant = mine["variant"].rename(variant_key="id")
        self.location = mine["location"].rename(location_key="id")
        self.balance = mine["stock_balance"]
        self.ledger = mine["stock_ledger_entry"]

    def _run(self, expression: ir.Table) -> list[dict[str, Any]]:
        return self.tables.run(expression)

    def daily_units(self, start: datetime, end: datetime) -> dict[tuple[str, str], dict[date, int]]:
        """Units per (SKU, location) per UTC day of orders placed in ``[start, end)``."""
        orders = self.tables.orders
        kept = orders.filter(orders.placed_at >= start, orders.placed_at < end)
        alloc, variant, location = self.allocation, self.variant, self.location
        routed = (
            alloc.join(kept, alloc.alloc_order_id == kept.order_id)
            .join(variant, alloc.variant_id == variant.variant_key)
            .join(location, alloc.location_id == location.location_key)
        )
        routed_units = routed.group_by(
            sku=routed.sku, location=routed.code, day=routed.placed_at.date()
        ).aggregate(units=(routed.quantity - routed.cancelled).sum())
        lines = self.tables.order_lines
        unrouted_orders = kept.anti_join(alloc, kept.order_id == alloc.alloc_order_id)
        loose = lines.join(unrouted_orders, lines.order_id == unrouted_orders.order_id)
        loose = loose.filter(loose.sku.notnull())
        loose_units = loose.group_by(
            sku=loose.sku,
            location=ibis.coalesce(loose.location_ref, loose.channel),
            day=loose.placed_at.date(),
        ).aggregate(units=loose.quantity.sum())
        found: dict[tuple[str, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
        for row in self._run(routed_units) + self._run(loose_units):
            units = int(row["units"] or 0)
            if units > 0:
                found[(row["sku"], row["location"])][row["day"]] += units
        return found

    def positions(self) -> dict[tuple[str, str], Position]:
        """Stock per (SKU, location code) from the balances (the sum of the ledger)."""
        b, v, loc = self.balance, self.variant, self.location
        joined = b.join(v, b.variant_id == v.variant_key).join(
            loc, b.location_id == loc.location_key
        )
        expression = joined.select(
            sku=joined.sku,
            location=joined.code,
            on_hand=joined.on_hand,
            position=joined.on_hand + joined.incoming - joined.reserved - joined.committed,
        )
        return {
            (r["sku"], r["location"]): Position(int(r["on_hand"]), int(r["position"]))
            for r in self._run(expression)
        }

    def on_hand_changes(self, since: datetime) -> dict[tuple[str, str], dict[date, int]]:
        """The ledger's on-hand change per (SKU, location) per UTC day from ``since`` on."""
        led, v, loc = self.ledger, self.variant, self.location
        at = led.created_at if self.backend_name == "sqlite" else led.created_at.cast("timestamp")
        recent = led.filter(at >= since, led.on_hand_delta != 0).mutate(moment=at)
        joined = recent.join(v, recent.variant_id == v.variant_key).join(
            loc, recent.location_id == loc.location_key
        )
        expression = joined.group_by(
            sku=joined.sku, location=joined.code, day=joined.moment.date()
        ).aggregate(delta=joined.on_hand_delta.sum())
        found: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
        for row in self._run(expression):
            found[(row["sku"], row["location"])][row["day"]] = int(row["delta"])
        return found
