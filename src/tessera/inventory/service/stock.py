"""Reading stock, and the operations that change it by hand or from a warehouse: adjust,
expect, receive, count, safety stock, damage, transfer, and an FBA report's import.

Each operation is one or more ``Change``s run through ``StockLedger.run``: a change that takes
available units first releases the expired holds on its balance, a refused change rolls back
whole, and the same idempotency key again changes nothing. FBA locations are Amazon's stock:
they are never changed by hand, only imported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.inventory import domain
from tessera.inventory.errors import InvalidStockInput, LocationNotFound, ReadOnlyLocation
from tessera.inventory.repository.base import Pair
from tessera.inventory.repository.locations import LocationRepository
from tessera.inventory.repository.reservations import ReservationRepository
from tessera.inventory.repository.stock import StockRepository
from tessera.inventory.service.ledger import Change, StockLedger, available
from tessera.inventory.service.locations import LocationService
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.catalog import Variant
from tessera.models.inventory import (
    LedgerReason,
    Location,
    LocationKind,
    StockBalance,
    StockLedgerEntry,
)


class StockService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = StockRepository(session)
        self.changes = StockLedger(session)
        self.catalog = CatalogService(session)

    # Reading stock ------------------------------------------------------------------------

    def balances(
        self,
        workspace_id: str,
        variant_ids: Collection[str] | None = None,
        location_ids: Collection[str] | None = None,
        now: datetime | None = None,
    ) -> list[tuple[StockBalance, int]]:
        """Balances with what is sellable from each (expired holds counted as free). Refuses
        nothing: an unknown variant or location simply has no balance."""
        now = now or utcnow()
        rows = self.repository.balances_where(workspace_id, variant_ids, location_ids)
        expired = ReservationRepository(self.session).expired_held_units(
            workspace_id, {(b.variant_id, b.location_id) for b in rows}, now
        )
        return [
            (b, max(0, available(b) + expired.get((b.variant_id, b.location_id), 0))) for b in rows
        ]

    def balances_at(
        self,
        workspace_id: str,
        location_id: str,
        cursor: str | None = None,
        limit: int = 50,
        now: datetime | None = None,
    ) -> tuple[Page[StockBalance], dict[str, int]]:
        """One page of a location's balances (in the order they were made) and what each can
        sell, by balance id (expired holds counted as free). Refuses a cursor not of ours and
        a limit outside 1..200 (422)."""
        limit = clamp_limit(limit)
        page = page_from(
            self.repository.balances_at(
                workspace_id, location_id, decode_cursor(cursor), limit + 1
            ),
            limit,
        )
        expired = ReservationRepository(self.session).expired_held_units(
            workspace_id, {(b.variant_id, b.location_id) for b in page.items}, now or utcnow()
        )
        sellable = {
            b.id: max(0, available(b) + expired.get((b.variant_id, b.location_id), 0))
            for b in page.items
        }
        return page, sellable

    def sellable_by_location(
        self,
        workspace_id: str,
        variant_ids: Collection[str],
        location_ids: Collection[str],
        now: datetime | None = None,
    ) -> dict[tuple[str, str], int]:
        """Units of each variant a channel could sell from each location, never below zero.

        A bundle's figure comes from its components at that location: the minimum over
        components of floor(available / units per bundle). Expired holds count as free.
        Every (variant, location) asked for is in the result (0 when nothing is there).
        """
        now = now or utcnow()
        variant_ids, location_ids = list(variant_ids), list(location_ids)
        components = self.catalog.components(variant_ids)
        stocked = {v for v in variant_ids if v not in components}
        stocked |= {c.variant_id for parts in components.values() for c in parts}
        free: dict[Pair, int] = defaultdict(int)
        if stocked and location_ids:
            for balance, sellable in self.balances(workspace_id, stocked, location_ids, now):
                free[(balance.variant_id, balance.location_id)] = sellable
        result: dict[tuple[str, str], int] = {}
        for variant_id in variant_ids:
            for location_id in location_ids:
                parts = components.get(variant_id)
                if parts:
                    result[(variant_id, location_id)] = domain.bundle_sellable(
                        [(free[(c.variant_id, location_id)], c.quantity) for c in parts]
                    )
                else:
                    result[(variant_id, location_id)] = free[(variant_id, location_id)]
        return result

    def ledger(
        self,
        workspace_id: str,
        variant_id: str | None = None,
        location_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[StockLedgerEntry]:
        """Ledger entries, newest first; refuses a cursor that is not one of ours (422)."""
        limit = clamp_limit(limit)
        rows = self.repository.ledger(
            workspace_id, variant_id, location_id, decode_cursor(cursor), limit + 1
        )
        return page_from(rows, limit)

    # Stock operations ---------------------------------------------------------------------

    def adjust(
        self,
        workspace_id: str,
        sku: str,
        location_code: str,
        delta: int,
        idempotency_key: str | None = None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Add (or remove) units on hand. Refuses to take on hand below zero (409) and any
        change at a read-only (FBA) location. False if the key was already applied."""
        variant, location = self._stocked(workspace_id, sku, location_code)
        if delta == 0:
            raise InvalidStockInput("an adjustment of zero changes nothing", field="delta")
        change = Change(
            variant.id,
            location.id,
            LedgerReason.ADJUST,
            f"adjust:{idempotency_key or new_id('op')}",
            "user",
            idempotency_key,
            {"on_hand": delta},
            note=note,
        )
        return self.changes.run(workspace_id, [change], "on hand would go below zero", now=now)

    def expect(
        self,
        workspace_id: str,
        sku: str,
        location_code: str,
        quantity: int,
        idempotency_key: str | None = None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record units on their way (a purchase order): incoming grows, nothing sellable.
        Refuses what every operation here refuses (``_stocked``) and a quantity below 1."""
        variant, location = self._stocked(workspace_id, sku, location_code)
        _positive(quantity)
        change = Change(
            variant.id,
            location.id,
            LedgerReason.INCOMING,
            f"incoming:{idempotency_key or new_id('op')}",
            "purchase_order",
            idempotency_key,
            {"incoming": quantity},
            note=note,
        )
        return self.changes.run(workspace_id, [change], "", now=now)

    def receive(
        self,
        workspace_id: str,
        sku: str,
        location_code: str,
        quantity: int,
        idempotency_key: str | None = None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Goods in: on hand grows by ``quantity`` and incoming shrinks by as much of it as was
        expected. The balance is locked while the split is decided. Refuses what every
        operation here refuses (``_stocked``) and a quantity below 1."""
        variant, location = self._stocked(workspace_id, sku, location_code)
        _positive(quantity)
        now = now or utcnow()
        self.repository.ensure_balances(workspace_id, [(variant.id, location.id)], now)
        balance = self.repository.locked_balances(workspace_id, [(variant.id, location.id)])[0]
        change = Change(
            variant.id,
            location.id,
            LedgerReason.RECEIVE,
            f"receive:{idempotency_key or new_id('op')}",
            "receipt",
            idempotency_key,
            {"on_hand": quantity, "incoming": -min(quantity, balance.incoming)},
            note=note,
        )
        return self.changes.run(workspace_id, [change], "", now=now)

    def count(
        self,
        workspace_id: str,
        sku: str,
        location_code: str,
        counted: int,
        idempotency_key: str | None = None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """A cycle count: on hand becomes ``counted``; the ledger keeps the difference.
        Refuses a negative count (422) and what every operation here refuses (``_stocked``)."""
        if counted < 0:
            raise InvalidStockInput("a count cannot be negative", field="counted")
        variant, location = self._stocked(workspace_id, sku, location_code)
        now = now or utcnow()
        self.repository.ensure_balances(workspace_id, [(variant.id, location.id)], now)
        balance = self.repository.locked_balances(workspace_id, [(variant.id, location.id)])[0]
        change = Change(
            variant.id,
            location.id,
            LedgerReason.COUNT,
            f"count:{idempotency_key or new_id('op')}",
            "count",
            idempotency_key,
            {"on_hand": counted - balance.on_hand},
            note=note or f"counted {counted}, was {balance.on_hand}",
        )
        return self.changes.run(workspace_id, [change], "", now=now)

    def set_safety(
        self,
        workspace_id: str,
        sku: str,
        location_code: str,
        safety: int,
        idempotency_key: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Keep ``safety`` units back from every channel at this location. Refuses a negative
        figure (422) and what every operation here refuses (``_stocked``)."""
        if safety < 0:
            raise InvalidStockInput("safety stock cannot be negative", field="safety")
        variant, location = self._stocked(workspace_id, sku, location_code)
        now = now or utcnow()
        self.repository.ensure_balances(workspace_id, [(variant.id, location.id)], now)
        balance = self.repository.locked_balances(workspace_id, [(variant.id, location.id)])[0]
        change = Change(
            variant.id,
            location.id,
            LedgerReason.SAFETY,
            f"safety:{idempotency_key or new_id('op')}",
            "user",
            idempotency_key,
            {"safety": safety - balance.safety},
        )
        return self.changes.run(workspace_id, [change], "", now=now)

    def damage(
        self,
        workspace_id: str,
        sku: str,
        location_code: str,
        quantity: int,
        write_off: bool = False,
        idempotency_key: str | None = None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Take available units out of sale as damaged, or write them off on hand at once.
        Refuses more than is available (409): promised units are not damaged away."""
        variant, location = self._stocked(workspace_id, sku, location_code)
        _positive(quantity)
        deltas = {"on_hand": -quantity} if write_off else {"damaged": quantity}
        change = Change(
            variant.id,
            location.id,
            LedgerReason.DAMAGE,
            f"damage:{idempotency_key or new_id('op')}",
            "user",
            idempotency_key,
            deltas,
            need_available=quantity,
            note=note or ("written off" if write_off else None),
        )
        return self.changes.run(
            workspace_id, [change], f"fewer than {quantity} units available", now=now
        )

    def transfer(
        self,
        workspace_id: str,
        sku: str,
        from_code: str,
        to_code: str,
        quantity: int,
        idempotency_key: str | None = None,
        note: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Move available units from one location to another in one transaction.

        Refuses an unknown location (404), the same location twice, more than is available at
        the source (409) and a read-only (FBA) location at either end.
        """
        variant, source = self._stocked(workspace_id, sku, from_code)
        _, target = self._stocked(workspace_id, sku, to_code, field_name="to_location")
        _positive(quantity)
        if source.id == target.id:
            raise InvalidStockInput("a transfer needs two different locations", field="to_location")
        key = idempotency_key or new_id("op")
        changes = [
            Change(
                variant.id,
                source.id,
                LedgerReason.TRANSFER_OUT,
                f"transfer:{key}:out",
                "transfer",
                key,
                {"on_hand": -quantity},
                need_available=quantity,
                note=note,
            ),
            Change(
                variant.id,
                target.id,
                LedgerReason.TRANSFER_IN,
                f"transfer:{key}:in",
                "transfer",
                key,
                {"on_hand": quantity},
                note=note,
            ),
        ]
        return self.changes.run(
            workspace_id, changes, f"fewer than {quantity} units available at {from_code}", now=now
        )

    def import_quantity(
        self, workspace_id: str, sku: str, location_code: str, quantity: int, as_of: str
    ) -> bool:
        """Set a read-only location's on hand from its owner's report (FBA fulfillable
        quantity); ``as_of`` names the report so importing it twice changes nothing. Refuses
        an unknown SKU or location (404), any location but FBA and a negative quantity (422):
        only Amazon's stock is taken from a report."""
        variant = self.catalog.variant_by_sku(workspace_id, sku)
        location = LocationService(self.session).location_by_code(workspace_id, location_code)
        if location.kind is not LocationKind.FBA:
            raise InvalidStockInput(
                "quantities are imported for FBA locations only", field="location"
            )
        if quantity < 0:
            raise InvalidStockInput("a quantity cannot be negative", field="quantity")
        now = utcnow()
        self.repository.ensure_balances(workspace_id, [(variant.id, location.id)], now)
        balance = self.repository.locked_balances(workspace_id, [(variant.id, location.id)])[0]
        change = Change(
            variant.id,
            location.id,
            LedgerReason.IMPORT,
            f"import:{location.id}:{variant.id}:{as_of}",
            "import",
            as_of,
            {"on_hand": quantity - balance.on_hand},
        )
        return self.changes.run(workspace_id, [change], "", now=now)

    def _stocked(
        self, workspace_id: str, sku: str, location_code: str, field_name: str = "location"
    ) -> tuple[Variant, Location]:
        """The variant and location an operation changes. Refuses an unknown SKU or location
        (404), a bundle (422: its stock is its components') and an FBA location (409:
        Amazon's stock is imported, never changed by hand)."""
        variant = self.catalog.variant_by_sku(workspace_id, sku)
        if variant.is_bundle:
            raise InvalidStockInput(f"{sku} is a bundle: its stock is its components'", field="sku")
        location = LocationRepository(self.session).location_by_code(workspace_id, location_code)
        if location is None:
            raise LocationNotFound(
                f"no location {location_code!r} in this workspace", field=field_name
            )
        if location.kind is LocationKind.FBA:
            raise ReadOnlyLocation(
                f"{location_code} is Amazon's stock: import its quantities instead",
                field=field_name,
            )
        return variant, location


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise InvalidStockInput("a quantity must be at least 1", field="quantity")
