"""Weekly demand written as rows: orders on several channels routed to locations (the
allocations inventory writes), stock balances with their ledger, and unrouted web orders."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from tessera.catalog.schemas import ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.kit.ids import new_id
from tessera.models.inventory import (
    LedgerReason,
    Location,
    LocationKind,
    OrderAllocation,
    StockBalance,
    StockLedgerEntry,
)
from tessera.models.order import Order, OrderLine, OrderStatus

FIRST_MONDAY = date(2025, 12, 29)  # 2026-W01
AS_OF = date(2026, 3, 25)  # a Wednesday: the history is the 12 weeks to Monday 2026-03-23


class Stocked:
    """One workspace: SKUs at locations, written straight as rows."""

    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.variants: dict[str, str] = {}
        self.locations: dict[str, str] = {}

    def variant(self, sku: str) -> str:
        if sku not in self.variants:
            catalog = CatalogService(self.session)
            catalog.create_product(
                self.workspace_id,
                ProductIn(handle=sku.lower(), title=sku, variants=[VariantIn(sku=sku)]),
            )
            self.variants[sku] = catalog.variants_by_sku(self.workspace_id, {sku})[sku].id
        return self.variants[sku]

    def location(self, code: str, kind: LocationKind = LocationKind.WAREHOUSE) -> str:
        if code not in self.locations:
            row = Location(workspace_id=self.workspace_id, code=code, name=code, kind=kind)
            self.session.add(row)
            self.session.flush()
            self.locations[code] = row.id
        return self.locations[code]

    def order(self, sku: str, units: int, day: date, channel: str = "web",
              location: str | None = None, cancelled: bool = False) -> str:  # fmt: skip
        """An order of ``units`` of ``sku``; allocated at ``location`` when one is given."""
        order_id = new_id("ord")
        status = OrderStatus.CANCELLED if cancelled else OrderStatus.PLACED
        placed = datetime.combine(day, time(12), UTC)
        self.session.add(Order(
            id=order_id, workspace_id=self.workspace_id, platform="shopify",
            external_id=order_id, order_number=order_id, channel=channel, status=status,
            snapshot_status=status, is_cancelled=cancelled, currency="USD", total=1000 * units,
            subtotal=1000 * units, placed_at=placed, version_key="1",
        ))  # fmt: skip
        self.session.flush()
        self.session.add(OrderLine(order_id=order_id, line_key="1", sku=sku, quantity=units,
                                   unit_price=1000, total=1000 * units))  # fmt: skip
        if location is not None:
            self.session.add(OrderAllocation(
                workspace_id=self.workspace_id, order_id=order_id, line_key="1",
                variant_id=self.variant(sku), location_id=self.location(location),
                quantity=units, fulfilled=units, cancelled=0, returned=0, is_backorder=False,
                created_at=placed,
            ))  # fmt: skip
        return order_id

    def weekly(self, sku: str, units: list[int], location: str | None = None,
               channel: str = "web") -> None:  # fmt: skip
        """``units[k]`` sold on the Tuesday of week ``k`` from ``FIRST_MONDAY``."""
        for k, n in enumerate(units):
            if n:
                self.order(sku, n, FIRST_MONDAY + timedelta(weeks=k, days=1), channel, location)

    def stock(self, sku: str, location: str, on_hand: int, *, changes: list[tuple[date, int]]
              | None = None, incoming: int = 0) -> None:  # fmt: skip
        """A balance of ``on_hand``; ``changes`` are ledger entries (day, on-hand delta) whose
        sum is ``on_hand``."""
        variant, where = self.variant(sku), self.location(location)
        self.session.add(
            StockBalance(
                workspace_id=self.workspace_id,
                variant_id=variant,
                location_id=where,
                on_hand=on_hand,
                incoming=incoming,
            )
        )
        for day, delta in changes or [(FIRST_MONDAY - timedelta(days=7), on_hand)]:
            self.session.add(StockLedgerEntry(
                workspace_id=self.workspace_id, variant_id=variant, location_id=where,
                reason=LedgerReason.ADJUST, on_hand_delta=delta, source_type="user",
                idempotency_key=new_id("key"),
                created_at=datetime.combine(day, time(9), UTC),
            ))  # fmt: skip
        self.session.flush()
