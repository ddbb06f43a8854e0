"""Use cases of stock. Never commits: the caller's scope does.

Every change of a counter is a ``Change``: a ledger entry with an idempotency key and the
deltas it applies to one balance. ``_apply`` inserts the entries whose keys are new
(``INSERT ... ON CONFLICT DO NOTHING``) and applies each one's deltas with one conditional
UPDATE whose row count decides; a change already applied (same key) is skipped, a change the
balance cannot take raises and the whole operation rolls back. Changes are applied in
(variant, location) order, the order every writer uses, so concurrent writers never deadlock.

Holds expire logically: a reservation's lines carry ``expires_at``, reads count expired holds
as free, and every reservation first releases the expired holds on the balances it touches
(``_expire_on``), so an expired hold never blocks stock whether or not the sweeper
(``stock.holds_expired``) has run. Whatever can change what a channel may sell enqueues one
``stock.availability_changed`` job in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, SessionTransaction, configure_mappers

from tessera.catalog.errors import UnknownSku
from tessera.catalog.service import CatalogService, VariantFacts, component_demand
from tessera.inventory import domain
from tessera.inventory.domain import RoutingRuleName
from tessera.inventory.errors import (
    DuplicateLocation,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidStockInput,
    LocationNotFound,
    ReadOnlyLocation,
    ReservationNotFound,
    ReservationNotHeld,
)
from tessera.inventory.repository import COUNTERS, InventoryRepository, Pair, reserve_alone
from tessera.inventory.schemas import (
    ChannelLocationsIn,
    DestinationIn,
    LocationIn,
    ReservationIn,
)
from tessera.job.domain import DEFAULT_PRIORITY as JOB_PRIORITY
from tessera.job.service import JobService
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.catalog import Variant
from tessera.models.inventory import (
    LedgerReason,
    Location,
    LocationKind,
    OrderAllocation,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockBalance,
    StockLedgerEntry,
)
from tessera.models.order import Order, OrderLine, OrderRefund, OrderStatus

AVAILABILITY_CHANGED = "stock.availability_changed"
# Kinds whose stock we never reserve or ship from: Amazon's, and a partner's shelf.
NOT_ROUTABLE = {LocationKind.FBA, LocationKind.RETAIL}
RESERVE_ATTEMPTS = 3
# Counters that change what a channel may sell (incoming does not).
SELLABLE_COUNTERS = ("on_hand", "reserved", "committed", "damaged", "safety")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Change:
    variant_id: str
    location_id: str
    reason: LedgerReason
    key: str
    source_type: str
    source_id: str | None
    deltas: dict[str, int]
    need_available: int = 0
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DriftItem:
    variant_id: str
    location_id: str
    counter: str
    balance: int
    expected: int
    source: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    balances_checked: int
    drift: list[DriftItem]
    repaired: int


@dataclass(frozen=True, slots=True)
class OrderStockResult:
    method: str
    changes: int
    reasons: tuple[str, ...] = ()


@dataclass
class _Refused(Exception):
    change: Change


@dataclass
class _Touched:
    variants: set[str] = field(default_factory=set)


class InventoryService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = InventoryRepository(session)
        self.catalog = CatalogService(session)

    # Locations and channels ---------------------------------------------------------------

    def create_location(self, workspace_id: str, data: LocationIn) -> Location:
        """Add a location; refuses a code already used in the workspace (409)."""
        if self.repository.location_by_code(workspace_id, data.code) is not None:
            raise DuplicateLocation(f"a location with code {data.code!r} exists", field="code")
        if data.is_pickup_enabled and data.kind is not LocationKind.STORE:
            raise InvalidStockInput("only a store offers pickup", field="is_pickup_enabled")
        location = Location(workspace_id=workspace_id, **data.model_dump(), created_at=utcnow())
        self.session.add(location)
        self.session.flush()
        return location

    def locations(self, workspace_id: str) -> Sequence[Location]:
        """Every location of the workspace, by code."""
        return self.repository.locations(workspace_id)

    def location_by_code(self, workspace_id: str, code: str) -> Location:
        """The location with ``code``; refuses an unknown code (404 location-not-found)."""
        location = self.repository.location_by_code(workspace_id, code)
        if location is None:
            raise LocationNotFound(f"no location {code!r} in this workspace", field="location")
        return location

    def set_channel_locations(
        self, workspace_id: str, channel: str, data: ChannelLocationsIn
    ) -> list[tuple[int, Location]]:
        """Which locations feed ``channel``, ranked, and how its orders are routed.

        Refuses an unknown location code and the same code twice. FBA and retail locations
        may feed a channel's numbers (Amazon FBA feeds nothing we push) but are never routed.
        """
        if len(set(data.locations)) != len(data.locations):
            raise InvalidStockInput("a location is named twice", field="locations")
        ids = [self.location_by_code(workspace_id, code).id for code in data.locations]
        self.repository.replace_channel_locations(workspace_id, channel, ids)
        if data.rules is not None or data.is_ship_from_store:
            from tessera.models.inventory import RoutingRule

            rule = self.repository.routing_rule(workspace_id, channel)
            if rule is None:
                rule = RoutingRule(workspace_id=workspace_id, channel=channel)
                self.session.add(rule)
            rule.rules = [r.value for r in (data.rules or list(domain.DEFAULT_RULES))]
            rule.is_ship_from_store = data.is_ship_from_store
            rule.updated_at = utcnow()
            self.session.flush()
        return self.locations_for_channel(workspace_id, channel)

    def locations_for_channel(self, workspace_id: str, channel: str) -> list[tuple[int, Location]]:
        """The locations whose stock ``channel`` may sell, as (rank, location), rank 1 first."""
        return [
            (link.rank, loc)
            for link, loc in self.repository.channel_locations(workspace_id, channel)
        ]

    def channel_feeds(self, workspace_id: str) -> dict[str, list[tuple[int, Location]]]:
        """Every channel with its ranked locations."""
        result: dict[str, list[tuple[int, Location]]] = defaultdict(list)
        for link, location in self.repository.channel_locations(workspace_id):
            result[link.channel].append((link.rank, location))
        return dict(result)

    def routing_rules(self, workspace_id: str, channel: str) -> tuple[list[str], bool]:
        """The channel's routing rules (defaults when none are set) and ship-from-store."""
        rule = self.repository.routing_rule(workspace_id, channel)
        if rule is None:
            return [r.value for r in domain.DEFAULT_RULES], False
        return list(rule.rules), rule.is_ship_from_store

    # Reading stock ------------------------------------------------------------------------

    def balances(
        self,
        workspace_id: str,
        variant_ids: Collection[str] | None = None,
        location_ids: Collection[str] | None = None,
        now: datetime | None = None,
    ) -> list[tuple[StockBalance, int]]:
        """Balances with what is sellable from each (expired holds counted as free)."""
        now = now or utcnow()
        rows = self.repository.balances_where(workspace_id, variant_ids, location_ids)
        expired = self.repository.expired_held_units(
            workspace_id, {(b.variant_id, b.location_id) for b in rows}, now
        )
        return [
            (b, max(0, _available(b) + expired.get((b.variant_id, b.location_id), 0))) for b in rows
        ]

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
        """Ledger entries, newest first."""
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
        return self._run(workspace_id, [change], "on hand would go below zero", now=now)

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
        """Record units on their way (a purchase order): incoming grows, nothing sellable."""
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
        return self._run(workspace_id, [change], "", now=now)

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
        expected. The balance is locked while the split is decided."""
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
        return self._run(workspace_id, [change], "", now=now)

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
        """A cycle count: on hand becomes ``counted``; the ledger keeps the difference."""
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
        return self._run(workspace_id, [change], "", now=now)

    def set_safety(
        self,
        workspace_id: str,
        sku: str,
        location_code: str,
        safety: int,
        idempotency_key: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Keep ``safety`` units back from every channel at this location."""
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
        return self._run(workspace_id, [change], "", now=now)

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
        return self._run(workspace_id, [change], f"fewer than {quantity} units available", now=now)

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
        return self._run(
            workspace_id, changes, f"fewer than {quantity} units available at {from_code}", now=now
        )

    def import_quantity(
        self, workspace_id: str, sku: str, location_code: str, quantity: int, as_of: str
    ) -> bool:
        """Set a read-only location's on hand from its owner's report (FBA fulfillable
        quantity); ``as_of`` names the report so importing it twice changes nothing."""
        variant = self.catalog.variant_by_sku(workspace_id, sku)
        location = self.location_by_code(workspace_id, location_code)
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
        return self._run(workspace_id, [change], "", now=now)

    def _stocked(
        self, workspace_id: str, sku: str, location_code: str, field_name: str = "location"
    ) -> tuple[Variant, Location]:
        variant = self.catalog.variant_by_sku(workspace_id, sku)
        if variant.is_bundle:
            raise InvalidStockInput(f"{sku} is a bundle: its stock is its components'", field="sku")
        location = self.repository.location_by_code(workspace_id, location_code)
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

    def _run(
        self,
        workspace_id: str,
        changes: Sequence[Change],
        refusal: str,
        now: datetime | None = None,
    ) -> bool:
        now = now or utcnow()
        self.repository.ensure_balances(
            workspace_id, [(c.variant_id, c.location_id) for c in changes], now
        )
        guarded = {(c.variant_id, c.location_id) for c in changes if c.need_available}
        expired, marked = self._expire_on(workspace_id, guarded, now) if guarded else ([], None)
        try:
            applied = self._apply_or_refuse(
                workspace_id,
                [*expired, *changes],
                now,
                refusal or "the balance cannot take this change",
            )
        except InsufficientStock:
            if marked is not None:  # refused: the expired holds stay as they were
                marked.rollback()
            raise
        if marked is not None:
            self.repository.expire_reservations({c.source_id for c in expired if c.source_id}, now)
            marked.commit()
        self._notify(workspace_id, applied, now)
        return bool([c for c in applied if c not in expired])

    def _apply_or_refuse(
        self, workspace_id: str, changes: Sequence[Change], now: datetime, refusal: str
    ) -> list[Change]:
        """``_apply`` inside a savepoint: a refused change leaves no ledger entry behind."""
        savepoint = self.session.begin_nested()
        try:
            applied = self._apply(workspace_id, changes, now)
        except _Refused as exc:
            savepoint.rollback()
            raise InsufficientStock(
                refusal,
                variant_id=exc.change.variant_id,
                location_id=exc.change.location_id,
            ) from None
        savepoint.commit()
        return applied

    def _apply(self, workspace_id: str, changes: Sequence[Change], now: datetime) -> list[Change]:
        """Write the ledger entries and apply their deltas, in (variant, location) order.

        Entries whose key is already in the ledger are skipped (applied before). Raises
        ``_Refused`` when a balance cannot take its change; the caller rolls back.
        """
        ordered = sorted(
            (c for c in changes if any(c.deltas.values())),
            key=lambda c: (c.variant_id, c.location_id, c.key),
        )
        if not ordered:
            return []
        rows = [
            {
                "id": new_id("stl"),
                "workspace_id": workspace_id,
                "variant_id": c.variant_id,
                "location_id": c.location_id,
                "reason": c.reason,
                **{f"{n}_delta": c.deltas.get(n, 0) for n in COUNTERS},
                "source_type": c.source_type,
                "source_id": c.source_id,
                "idempotency_key": c.key,
                "note": c.note,
                "created_at": now,
            }
            for c in ordered
        ]
        new_keys = self.repository.insert_ledger(rows)
        applied = [c for c in ordered if c.key in new_keys]
        for change in applied:
            if not self.repository.apply_delta(
                workspace_id,
                change.variant_id,
                change.location_id,
                change.deltas,
                change.need_available,
                now,
            ):
                raise _Refused(change)
        return applied

    def _notify(self, workspace_id: str, applied: Iterable[Change], now: datetime) -> None:
        variants = {
            c.variant_id for c in applied if any(c.deltas.get(name) for name in SELLABLE_COUNTERS)
        }
        self.notify_availability_changed(workspace_id, variants, now)

    def notify_availability_changed(
        self, workspace_id: str, variant_ids: Collection[str], now: datetime | None = None
    ) -> None:
        """Enqueue one ``stock.availability_changed`` job naming these (stocked) variants, in
        the caller's transaction; nothing when the set is empty. The consumer expands them to
        the bundles made of them (one query there, not one per reservation here)."""
        if not variant_ids:
            return
        payload = {
            "variant_ids": sorted(variant_ids),
            "changed_at": (now or utcnow()).isoformat(),
        }
        JobService(self.session).enqueue_many(
            AVAILABILITY_CHANGED, [payload], workspace_id=workspace_id
        )

    # Reservations -------------------------------------------------------------------------

    def reserve(
        self, workspace_id: str, data: ReservationIn, now: datetime | None = None
    ) -> tuple[Reservation, list[ReservationLine]]:
        """Hold stock for a checkout until ``ttl_seconds`` from now.

        Bundles hold their components, and lines sharing a component add up. Units come from
        the channel's eligible locations (FBA and retail never), in routing order, split across
        locations when one is short; a BOPIS hold (``pickup_location``) takes that store's
        stock only. Variants that allow backorder are held beyond what is there. Refuses an
        unknown SKU (404), an unknown or non-pickup store, and more than is available
        (409 insufficient-stock, with what is short); then nothing is held. The same
        idempotency key again returns the first reservation; with a different request, 409.

        On PostgreSQL the common case (plain variants all available at the channel's first
        location, no pickup, no expired hold there to release, routing that does not depend
        on the destination) is one statement (``_reserve_at_first_location``); anything else,
        and every refusal, takes the general path, which plans from a snapshot.
        """
        now = now or utcnow()
        if data.pickup_location is None and self.repository.dialect == "postgresql":
            made = self._reserve_at_first_location(workspace_id, data, now)
            if made is not None:
                return made
        return self._reserve_planned(workspace_id, data, now)

    def reserve_in_own_transaction(
        self, workspace_id: str, data: ReservationIn, now: datetime | None = None
    ) -> tuple[Reservation, list[ReservationLine]]:
        """``reserve`` for a caller whose transaction holds nothing the reservation must commit
        or roll back with: the API's ``POST /v1/reservations`` and the bench, which answer as
        soon as it is made. Refuses what ``reserve`` refuses, and answers the same.

        On PostgreSQL, when the session is bound to an engine (not to a connection whose
        transaction the reservation must join, as in the tests), the common case's one
        statement runs alone on an autocommitting connection (``repository.reserve_alone``):
        a single statement is its own transaction, as atomic as any, and it saves the
        session's BEGIN, COMMIT, pre-ping and client work, and holds the balance rows only
        while it runs. When it declines, it has written nothing, and the general path runs in
        the caller's session. Anywhere else, this is ``reserve``.
        """
        now = now or utcnow()
        bind = self.session.get_bind()
        if (
            data.pickup_location is None
            and isinstance(bind, Engine)
            and bind.dialect.name == "postgresql"
        ):
            values, reservation, held = self._one_statement(workspace_id, data, now)
            taken = reserve_alone(bind, values)
            if taken is not None:
                return _held_at(taken, reservation, held)
            return self._reserve_planned(workspace_id, data, now)
        return self.reserve(workspace_id, data, now)

    def _reserve_at_first_location(
        self, workspace_id: str, data: ReservationIn, now: datetime
    ) -> tuple[Reservation, list[ReservationLine]] | None:
        """The reservation in one statement, or None (nothing written) for the general path.

        Gives what the general path gives in this case: with enough of every variant at the
        first location, ``plan_takes`` takes it all there (fewest shipments or not), without
        backorder, and releases no hold on the balances it touches (there is none).
        """
        values, reservation, held = self._one_statement(workspace_id, data, now)
        # In a savepoint: when a concurrent take beats its snapshot, the statement has locked
        # the first location's balances before declining. Rolled back to the savepoint, those
        # locks go with the reservation row it claimed; kept, the general path would lock the
        # other locations after them, out of the one order, and could deadlock with a writer
        # that locks them all in order (an order's allocation).
        savepoint = self.session.begin_nested()
        taken = self.repository.reserve_at_first_location(values)
        if taken is None:
            savepoint.rollback()
            return None
        savepoint.commit()
        return _held_at(taken, reservation, held)

    def _one_statement(
        self, workspace_id: str, data: ReservationIn, now: datetime
    ) -> tuple[dict[str, Any], Reservation, dict[str, ReservationLine]]:
        """The one statement's values, and the reservation and lines it makes, built before
        it runs: after it, the balance rows stay locked until the commit."""
        units: dict[str, int] = {}
        for line in data.lines:  # lines naming one SKU add up, as component demand does
            units[line.sku] = units.get(line.sku, 0) + line.quantity
        skus = list(units)
        reservation_id = new_id("rsv")
        expires_at = now + timedelta(seconds=data.ttl_seconds)
        request = [{"sku": line.sku, "quantity": line.quantity} for line in data.lines]
        reservation = _transient(
            Reservation,
            id=reservation_id, workspace_id=workspace_id, channel=data.channel,
            status=ReservationStatus.HELD, idempotency_key=data.idempotency_key,
            order_ref=data.order_ref, request=request, expires_at=expires_at, created_at=now,
            updated_at=now,
        )  # fmt: skip
        held: dict[str, ReservationLine] = {}
        for sku in skus:
            line_id = new_id("rsl")
            held[line_id] = _transient(
                ReservationLine,
                id=line_id, workspace_id=workspace_id, reservation_id=reservation_id,
                quantity=units[sku], is_backorder=False, status=ReservationStatus.HELD,
                expires_at=expires_at,
            )  # fmt: skip
        destination = data.destination
        values = {
            "w": workspace_id,
            "channel": data.channel,
            "market": bool(destination and destination.country),
            "coordinates": bool(
                destination
                and destination.latitude is not None
                and destination.longitude is not None
            ),
            "skus": skus,
            "quantities": list(units.values()),
            "line_ids": list(held),
            "ledger_ids": [new_id("stl") for _ in skus],
            "n": len(skus),
            "id": reservation_id,
            "key": data.idempotency_key,
            "order_ref": data.order_ref,
            "request": request,
            "expires_at": expires_at,
            "now": now,
            "job_id": new_id("job"),
            "job_kind": AVAILABILITY_CHANGED,
            "job_priority": JOB_PRIORITY,
            "job_max_attempts": JobService(self.session).default_max_attempts,
            "changed_at": now.isoformat(),
        }
        return values, reservation, held

    def _reserve_planned(
        self, workspace_id: str, data: ReservationIn, now: datetime
    ) -> tuple[Reservation, list[ReservationLine]]:
        """The general path: read, plan in ``domain.plan_takes``, write, then the guarded
        UPDATEs; three attempts when a concurrent take beats the snapshot."""
        request = [{"sku": line.sku, "quantity": line.quantity} for line in data.lines]
        variants = self.catalog.variant_facts_by_sku(
            workspace_id, {line.sku for line in data.lines}
        )
        for line in data.lines:
            if line.sku not in variants:
                raise UnknownSku(f"no variant has SKU {line.sku!r}", field="lines", sku=line.sku)
        candidates, rules = self._candidates(workspace_id, data.channel, data.pickup_location)
        candidates, _ = domain.order_candidates(
            candidates, rules, _destination_of(data.destination)
        )
        by_id = {v.id: v for v in variants.values()}
        components = (
            self.catalog.components([v.id for v in variants.values() if v.is_bundle])
            if any(v.is_bundle for v in variants.values())
            else {}
        )
        demand = component_demand(
            [(variants[line.sku].id, line.quantity) for line in data.lines], components
        )
        missing = set(demand) - set(by_id)
        stocked = {
            **by_id,
            **(self.catalog.variant_facts_by_id(workspace_id, missing) if missing else {}),
        }
        backorderable = {v for v in demand if stocked[v].allows_backorder}
        # A bundle that allows backorder lets its components be backordered for it.
        for variant in variants.values():
            if variant.allows_backorder and variant.id in components:
                backorderable |= {c.variant_id for c in components[variant.id]}
        pairs = {(v, c.location_id) for v in demand for c in candidates}
        reservation_id = new_id("rsv")
        expires_at = now + timedelta(seconds=data.ttl_seconds)
        row = {
            "id": reservation_id,
            "workspace_id": workspace_id,
            "channel": data.channel,
            "status": ReservationStatus.HELD,
            "idempotency_key": data.idempotency_key,
            "order_ref": data.order_ref,
            "request": request,
            "expires_at": expires_at,
            "created_at": now,
            "updated_at": now,
        }
        notified = False
        for attempt in range(RESERVE_ATTEMPTS):
            # One read: what each balance has available, and how much of its reserved is
            # holds that ran out (free, logically, whether or not anyone released them).
            snapshot = self.repository.availability(
                workspace_id, list(demand), [c.location_id for c in candidates], now
            )
            expired_changes: list[Change] = []
            marked: SessionTransaction | None = None
            if any(expired for _, expired in snapshot.values()):
                expired_changes, marked = self._expire_on(workspace_id, pairs, now)
            availability = {pair: free + expired for pair, (free, expired) in snapshot.items()}
            plan = domain.plan_takes(
                demand,
                availability,
                candidates,
                fewest_shipments=RoutingRuleName.FEWEST_SHIPMENTS in rules,
                backorderable=backorderable,
            )
            if not plan.is_complete:
                if marked is not None:  # refused: the expired holds stay as they were
                    marked.rollback()
                existing = self.repository.reservation_by_key(workspace_id, data.idempotency_key)
                if existing is not None:  # a retry of a reservation that was made
                    return self._replayed(existing, request, data)
                raise _shortage(plan, stocked, availability, candidates)
            lines: list[dict[str, Any]] = [
                {
                    "id": new_id("rsl"),
                    "workspace_id": workspace_id,
                    "reservation_id": reservation_id,
                    "variant_id": take.variant_id,
                    "location_id": take.location_id,
                    "quantity": take.quantity,
                    "is_backorder": take.is_backorder,
                    "status": ReservationStatus.HELD,
                    "expires_at": expires_at,
                }
                for take in _by_location(plan.takes)
            ]
            changes = [
                Change(
                    line["variant_id"],
                    line["location_id"],
                    LedgerReason.RESERVE,
                    f"{line['id']}:reserve",
                    "reservation",
                    reservation_id,
                    {"reserved": line["quantity"]},
                    need_available=0 if line["is_backorder"] else line["quantity"],
                )
                for line in lines
            ]
            # Always in a savepoint. A guarded UPDATE that waited for a concurrent writer and
            # then found the units gone keeps that balance locked (PostgreSQL locks the newer
            # version before checking it again); the next attempt, taking another location,
            # would lock it after this one, out of the one order, and could deadlock with a
            # writer that locks both in order. Rolled back, the lock goes with the rows.
            savepoint = self.session.begin_nested()
            if not self.repository.claim_reservation(row):  # the same key, concurrently
                savepoint.rollback()
                if marked is not None:
                    marked.rollback()
                existing = self.repository.reservation_by_key(workspace_id, data.idempotency_key)
                assert existing is not None
                return self._replayed(existing, request, data)
            if not notified:  # before the counters are locked, so the locks are held briefly
                self.notify_availability_changed(workspace_id, set(demand), now)
                notified = True
            self.repository.insert_reservation_lines(lines)
            made = Reservation(**row), [ReservationLine(**line) for line in lines]
            try:
                self._apply(workspace_id, [*expired_changes, *changes], now)
            except _Refused:
                savepoint.rollback()
                notified = False  # the job went with the savepoint
                if marked is not None:
                    marked.rollback()
                if attempt == RESERVE_ATTEMPTS - 1:
                    raise InsufficientStock(
                        "the stock was taken while this reservation was being made",
                        shortages=[],
                    ) from None
                continue
            savepoint.commit()
            if marked is not None:
                self.repository.expire_reservations(
                    {c.source_id for c in expired_changes if c.source_id}, now
                )
                marked.commit()
            return made  # built before the UPDATE: after it, only the commit holds the row
        raise AssertionError("unreachable")  # pragma: no cover

    def _replayed(
        self, existing: Reservation, request: list[dict[str, Any]], data: ReservationIn
    ) -> tuple[Reservation, list[ReservationLine]]:
        if existing.request != request or existing.channel != data.channel:
            raise IdempotencyKeyReused(
                "this idempotency key made a different reservation",
                field="idempotency_key",
                reservation_id=existing.id,
            )
        return existing, list(self.repository.reservation_lines([existing.id]))

    def _candidates(
        self, workspace_id: str, channel: str, pickup_code: str | None
    ) -> tuple[list[domain.Candidate], list[RoutingRuleName]]:
        if pickup_code is not None:
            store = self.repository.location_by_code(workspace_id, pickup_code)
            if store is None:
                raise LocationNotFound(f"no location {pickup_code!r}", field="pickup_location")
            if store.kind is not LocationKind.STORE or not store.is_pickup_enabled:
                raise InvalidStockInput(
                    f"{pickup_code} does not offer pickup", field="pickup_location"
                )
            return [_candidate(1, store)], [RoutingRuleName.RANKED]
        rows = self.repository.channel_candidates(workspace_id, channel)
        ranked = [
            domain.Candidate(str(r[1]), int(r[0]), r[5], r[6], r[7])
            for r in rows
            if r[2] not in NOT_ROUTABLE and r[3] and r[4]
        ]
        rule = next((r for r in rows if r[8] is not None), None)
        if rule is None:
            names, ship_from_store = [r.value for r in domain.DEFAULT_RULES], False
        else:
            names, ship_from_store = list(rule[8]), bool(rule[9])
        if not ship_from_store:  # stores ship only when the channel says so (or nothing else)
            stores = {str(r[1]) for r in rows if r[2] is LocationKind.STORE}
            ranked = [c for c in ranked if c.location_id not in stores] or ranked
        return ranked, [RoutingRuleName(n) for n in names]

    def _expire_on(
        self, workspace_id: str, pairs: Collection[Pair], now: datetime
    ) -> tuple[list[Change], SessionTransaction | None]:
        """Mark the expired holds on these balances expired and return the changes that
        release them (applied with the caller's own, in the one order), with the savepoint
        that marking opened: the caller rolls it back if its own change is refused."""
        ids = self.repository.lock_expired_lines(now, workspace_id, pairs)
        if not ids:
            return [], None
        savepoint = self.session.begin_nested()
        return [_expire_change(line) for line in self.repository.mark_expired(ids)], savepoint

    def sweep_expired(self, now: datetime | None = None, limit: int = 500) -> int:
        """Release up to ``limit`` holds whose time ran out, in every workspace; returns how
        many. Safe to run concurrently: each claims different lines (SKIP LOCKED)."""
        now = now or utcnow()
        lines = self.repository.mark_expired(self.repository.lock_expired_lines(now, limit=limit))
        by_workspace: dict[str, list[Change]] = defaultdict(list)
        for line in lines:
            by_workspace[line[1]].append(_expire_change(line))
        for workspace_id, changes in sorted(by_workspace.items()):
            applied = self._apply(workspace_id, changes, now)
            self.repository.expire_reservations({c.source_id for c in changes if c.source_id}, now)
            self._notify(workspace_id, applied, now)
        return len(lines)

    def get_reservation(
        self, workspace_id: str, reservation_id: str
    ) -> tuple[Reservation, list[ReservationLine]]:
        """A reservation and its lines; another workspace's is not found."""
        reservation = self.repository.reservation(workspace_id, reservation_id)
        if reservation is None:
            raise ReservationNotFound(f"no reservation {reservation_id} in this workspace")
        return reservation, list(self.repository.reservation_lines([reservation.id]))

    def list_reservations(
        self,
        workspace_id: str,
        cursor: str | None = None,
        limit: int = 50,
        status: ReservationStatus | None = None,
    ) -> tuple[Page[Reservation], dict[str, list[ReservationLine]]]:
        """Reservations, newest first, with their lines."""
        limit = clamp_limit(limit)
        rows = self.repository.reservations(workspace_id, decode_cursor(cursor), limit + 1, status)
        page = page_from(rows, limit)
        lines: dict[str, list[ReservationLine]] = defaultdict(list)
        for line in self.repository.reservation_lines([r.id for r in page.items]):
            lines[line.reservation_id].append(line)
        return page, lines

    def confirm(
        self,
        workspace_id: str,
        reservation_id: str,
        order_ref: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Reservation, list[ReservationLine]]:
        """The checkout became an order: held units become committed.

        Confirming twice is the same as once. Refuses a hold that expired or was released
        (409 reservation-not-held): its units may be someone else's by now.
        """
        now = now or utcnow()
        reservation, lines = self.get_reservation(workspace_id, reservation_id)
        if reservation.status is ReservationStatus.CONFIRMED:
            return reservation, lines
        moved = self.repository.move_lines(
            reservation_id, ReservationStatus.HELD, ReservationStatus.CONFIRMED, unexpired_at=now
        )
        if not moved or len(moved) != len(lines):
            raise ReservationNotHeld(
                f"reservation {reservation_id} is {_logical_status(reservation, now).value}",
                status=_logical_status(reservation, now).value,
            )
        changes = [
            Change(
                v,
                loc,
                LedgerReason.CONFIRM,
                f"{line_id}:confirm",
                "reservation",
                reservation_id,
                {"reserved": -q, "committed": q},
            )
            for line_id, v, loc, q in moved
        ]
        self._run_moves(workspace_id, changes, now)
        self.repository.set_reservation_status(
            reservation_id, ReservationStatus.HELD, ReservationStatus.CONFIRMED, now, order_ref
        )
        return self.get_reservation(workspace_id, reservation_id)

    def release(
        self, workspace_id: str, reservation_id: str, now: datetime | None = None
    ) -> tuple[Reservation, list[ReservationLine]]:
        """Give a hold's units back at once (checkout abandoned). Releasing a released or
        expired hold changes nothing; refuses a confirmed one (409): cancel its order."""
        now = now or utcnow()
        reservation, lines = self.get_reservation(workspace_id, reservation_id)
        if reservation.status in (ReservationStatus.RELEASED, ReservationStatus.EXPIRED):
            return reservation, lines
        if reservation.status is not ReservationStatus.HELD:
            raise ReservationNotHeld(
                f"reservation {reservation_id} is {reservation.status.value}; cancel it instead",
                status=reservation.status.value,
            )
        moved = self.repository.move_lines(
            reservation_id, ReservationStatus.HELD, ReservationStatus.RELEASED
        )
        changes = [
            Change(
                v,
                loc,
                LedgerReason.RELEASE,
                f"{line_id}:release",
                "reservation",
                reservation_id,
                {"reserved": -q},
            )
            for line_id, v, loc, q in moved
        ]
        self._run_moves(workspace_id, changes, now)
        status = ReservationStatus.RELEASED if moved or not lines else ReservationStatus.EXPIRED
        self.repository.set_reservation_status(reservation_id, ReservationStatus.HELD, status, now)
        return self.get_reservation(workspace_id, reservation_id)

    def fulfil_reservation(
        self, workspace_id: str, reservation_id: str, now: datetime | None = None
    ) -> tuple[Reservation, list[ReservationLine]]:
        """A confirmed reservation shipped: its units leave committed and on hand."""
        return self._close_confirmed(workspace_id, reservation_id, ReservationStatus.FULFILLED, now)

    def cancel_reservation(
        self, workspace_id: str, reservation_id: str, now: datetime | None = None
    ) -> tuple[Reservation, list[ReservationLine]]:
        """A confirmed reservation's order was cancelled: committed units become available."""
        return self._close_confirmed(workspace_id, reservation_id, ReservationStatus.CANCELLED, now)

    def _close_confirmed(
        self,
        workspace_id: str,
        reservation_id: str,
        to_status: ReservationStatus,
        now: datetime | None,
    ) -> tuple[Reservation, list[ReservationLine]]:
        now = now or utcnow()
        reservation, _ = self.get_reservation(workspace_id, reservation_id)
        if reservation.status is to_status:
            return self.get_reservation(workspace_id, reservation_id)
        if reservation.status is not ReservationStatus.CONFIRMED:
            raise ReservationNotHeld(
                f"reservation {reservation_id} is {reservation.status.value}, not confirmed",
                status=reservation.status.value,
            )
        moved = self.repository.move_lines(reservation_id, ReservationStatus.CONFIRMED, to_status)
        if to_status is ReservationStatus.FULFILLED:
            changes = [
                Change(
                    v,
                    loc,
                    LedgerReason.FULFIL,
                    f"{line_id}:fulfil",
                    "reservation",
                    reservation_id,
                    {"committed": -q, "on_hand": -q},
                )
                for line_id, v, loc, q in moved
            ]
        else:
            changes = [
                Change(
                    v,
                    loc,
                    LedgerReason.CANCEL,
                    f"{line_id}:cancel",
                    "reservation",
                    reservation_id,
                    {"committed": -q},
                )
                for line_id, v, loc, q in moved
            ]
        self._run_moves(
            workspace_id, changes, now, "fewer units on hand than ship: count the shelf first"
        )
        self.repository.set_reservation_status(
            reservation_id, ReservationStatus.CONFIRMED, to_status, now
        )
        return self.get_reservation(workspace_id, reservation_id)

    def _run_moves(
        self, workspace_id: str, changes: Sequence[Change], now: datetime, refusal: str = ""
    ) -> None:
        applied = self._apply_or_refuse(
            workspace_id, changes, now, refusal or "the balance no longer holds these units"
        )
        self._notify(workspace_id, applied, now)

    # Orders -------------------------------------------------------------------------------

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
                self._record_decision(
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
            method, reasons = self._allocate(workspace_id, order, lines, now)
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
            for b in self.repository.locked_balances(
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
            applied = self._apply(workspace_id, changes, now)
        except _Refused as exc:  # pragma: no cover - guarded by the allocation counts
            raise InsufficientStock(
                "the order's units are not where its allocation says",
                variant_id=exc.change.variant_id,
                location_id=exc.change.location_id,
            ) from None
        self._notify(workspace_id, applied, now)
        return OrderStockResult(method or "update", len(applied), tuple(reasons))

    def _owed_units(
        self, workspace_id: str, lines: Sequence[OrderLine], refunded: Mapping[str, int]
    ) -> dict[tuple[str, str], int]:
        """Units per (line, stocked variant) the order still owes: each line's quantity less its
        refunded units, bundles as their components. Lines whose SKU is unknown are left out."""
        skus = {line.sku for line in lines if line.sku}
        if not skus:
            return {}
        variants = self.catalog.variants_by_sku(workspace_id, skus)
        known = [line for line in lines if line.sku in variants]
        components = self.catalog.components([variants[str(line.sku)].id for line in known])
        owed: dict[tuple[str, str], int] = {}
        for line in known:
            units = max(0, line.quantity - refunded.get(line.line_key, 0))
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
                for b in self.repository.locked_balances(
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
            self._notify(workspace_id, self._apply(workspace_id, changes, now), now)
        if added:
            _, routed = self._allocate(workspace_id, order, added, now)
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

    def _allocate(
        self, workspace_id: str, order: Order, lines: Sequence[OrderLine], now: datetime
    ) -> tuple[str, list[str]]:
        skus = {line.sku for line in lines if line.sku}
        variants = self.catalog.variants_by_sku(workspace_id, skus)
        reasons = [
            f"unknown SKU {line.sku!r} on line {line.line_key}: no stock moved"
            for line in lines
            if line.sku and line.sku not in variants
        ]
        reasons += [
            f"line {line.line_key} has no SKU: no stock moved" for line in lines if not line.sku
        ]
        known = [line for line in lines if line.sku in variants and line.quantity > 0]
        components = self.catalog.components([variants[line.sku].id for line in known if line.sku])
        per_line: dict[str, dict[str, int]] = {
            line.line_key: component_demand(
                [(variants[str(line.sku)].id, line.quantity)], components
            )
            for line in known
        }
        locations = self.repository.locations(workspace_id)
        fulfilment = (order.fulfillment or "").lower()
        if fulfilment in ("in_store", "retail"):
            location = _match_location(locations, order)
            if location is None:
                reasons.append(
                    f"no location matches {order.location_ref or order.channel}: no stock moved"
                )
                self._record_decision(workspace_id, order, "unmatched", [], reasons, now)
                return "unmatched", reasons
            method = "sell_through" if fulfilment == "retail" else "pos_sale"
            reasons.append(f"{method}: sold off the shelf at {location.code}")
            takes = [
                (key, v, location.id, q, False)
                for key, demand in per_line.items()
                for v, q in demand.items()
            ]
            self._write_allocations(workspace_id, order, takes, sold=True, now=now)
            self._record_decision(workspace_id, order, method, takes, reasons, now)
            return method, reasons
        held = self.repository.held_reservation_for_order(
            workspace_id, f"{order.platform}:{order.external_id}"
        )
        held_lines = self._consume_hold(workspace_id, held, order, now) if held else None
        if held is not None and held_lines is not None:
            reasons.append(f"the checkout's hold {held.id} became this order's")
            takes = _takes_from_hold(per_line, held_lines)
            self._write_allocations(workspace_id, order, takes, sold=False, now=now, from_hold=True)
            self._record_decision(workspace_id, order, "ship", takes, reasons, now)
            return "hold", reasons
        if fulfilment == "pickup":
            location = _match_location(locations, order, pickup=True)
            if location is None:
                reasons.append(f"no pickup store matches {order.location_ref}: routed instead")
                candidates, rules = self._candidates(workspace_id, order.channel, None)
                method = "ship"
            else:
                candidates, rules = [_candidate(1, location)], [RoutingRuleName.RANKED]
                reasons.append(f"pickup at {location.code}: that store's stock only")
                method = "pickup"
        else:
            candidates, rules = self._candidates(workspace_id, order.channel, None)
            method = "ship"
        if not candidates:
            reasons.append(f"no location feeds channel {order.channel}: no stock moved")
            self._record_decision(workspace_id, order, "unrouted", [], reasons, now)
            return "unrouted", reasons
        destination = _destination(order)
        ordered, routing_reasons = domain.order_candidates(candidates, rules, destination)
        reasons += routing_reasons
        if not ordered:
            ordered = candidates
            reasons.append("no location in the market: all eligible locations considered")
        total: dict[str, int] = defaultdict(int)
        for demand in per_line.values():
            for v, q in demand.items():
                total[v] += q
        pairs = {(v, c.location_id) for v in total for c in ordered}
        self.repository.ensure_balances(workspace_id, pairs, now)
        self.repository.locked_balances(workspace_id, pairs)  # all of them, in the one order
        expired, marked = self._expire_on(workspace_id, pairs, now)
        self._notify(workspace_id, self._apply(workspace_id, expired, now), now)
        self.repository.expire_reservations({c.source_id for c in expired if c.source_id}, now)
        if marked is not None:
            marked.commit()
        availability = {
            (b.variant_id, b.location_id): _available(b)
            for b in self.repository.balances(workspace_id, pairs)
        }
        plan = domain.plan_takes(
            total,
            availability,
            ordered,
            fewest_shipments=RoutingRuleName.FEWEST_SHIPMENTS in rules,
            backorderable=set(total),  # sold already: what is missing is owed, on the record
        )
        reasons += list(plan.reasons)
        takes = _split_by_line(per_line, plan.takes)
        self._write_allocations(workspace_id, order, takes, sold=False, now=now)
        self._record_decision(workspace_id, order, method, takes, reasons, now)
        return method, reasons

    def _consume_hold(
        self, workspace_id: str, held: Reservation, order: Order, now: datetime
    ) -> list[ReservationLine] | None:
        """Turn a checkout's live hold into the order's committed units; None if it expired."""
        lines = list(self.repository.reservation_lines([held.id]))
        moved = self.repository.move_lines(
            held.id, ReservationStatus.HELD, ReservationStatus.ORDERED, unexpired_at=now
        )
        if not moved or len(moved) != len(lines):
            return None
        changes = [
            Change(
                v,
                loc,
                LedgerReason.CONFIRM,
                f"{line_id}:ordered",
                "order",
                order.id,
                {"reserved": -q, "committed": q},
            )
            for line_id, v, loc, q in moved
        ]
        self._run_moves(workspace_id, changes, now)
        self.repository.set_reservation_status(
            held.id, ReservationStatus.HELD, ReservationStatus.ORDERED, now
        )
        return list(self.repository.reservation_lines([held.id]))

    def _write_allocations(
        self,
        workspace_id: str,
        order: Order,
        takes: Sequence[tuple[str, str, str, int, bool]],
        *,
        sold: bool,
        now: datetime,
        from_hold: bool = False,
    ) -> None:
        pairs = {(v, loc) for _, v, loc, _, _ in takes}
        self.repository.ensure_balances(workspace_id, pairs, now)
        on_hand: dict[Pair, int] = {}
        if sold:
            on_hand = {
                (b.variant_id, b.location_id): b.on_hand
                for b in self.repository.locked_balances(workspace_id, pairs)
            }
        changes = []
        for line_key, v, loc, q, backorder in takes:
            self.session.add(
                OrderAllocation(
                    workspace_id=workspace_id,
                    order_id=order.id,
                    line_key=line_key,
                    variant_id=v,
                    location_id=loc,
                    quantity=q,
                    fulfilled=q if sold else 0,
                    cancelled=0,
                    returned=0,
                    is_backorder=backorder,
                    created_at=now,
                )
            )
            base = f"order:{order.id}:{line_key}:{v}:{loc}"
            if sold:
                units = min(q, on_hand.get((v, loc), 0))
                on_hand[(v, loc)] = on_hand.get((v, loc), 0) - units
                changes.append(
                    Change(
                        v,
                        loc,
                        LedgerReason.SALE,
                        f"{base}:sold",
                        "order",
                        order.id,
                        {"on_hand": -units},
                        note=None if units == q else f"{q - units} sold beyond on hand",
                    )
                )
            elif not from_hold:
                changes.append(
                    Change(
                        v,
                        loc,
                        LedgerReason.COMMIT,
                        f"{base}:committed",
                        "order",
                        order.id,
                        {"committed": q},
                        note="backorder" if backorder else None,
                    )
                )
        self.session.flush()
        applied = self._apply(workspace_id, changes, now)
        self._notify(workspace_id, applied, now)

    def _record_decision(
        self,
        workspace_id: str,
        order: Order,
        method: str,
        takes: Sequence[tuple[str, str, str, int, bool]],
        reasons: Sequence[str],
        now: datetime,
    ) -> None:
        self.repository.claim_routing_decision(
            {
                "id": new_id("rtd"),
                "workspace_id": workspace_id,
                "order_id": order.id,
                "channel": order.channel,
                "method": method,
                "allocations": [
                    {
                        "line_key": k,
                        "variant_id": v,
                        "location_id": loc,
                        "quantity": q,
                        "is_backorder": b,
                    }
                    for k, v, loc, q, b in takes
                ],
                "reasons": list(reasons),
                "created_at": now,
            }
        )

    def routing_decision(self, workspace_id: str, order_id: str) -> dict[str, Any] | None:
        """Where an order's stock came from and why, or None before it was allocated."""
        decision = self.repository.routing_decision(workspace_id, order_id)
        if decision is None:
            return None
        return {
            "order_id": decision.order_id,
            "channel": decision.channel,
            "method": decision.method,
            "allocations": decision.allocations,
            "reasons": decision.reasons,
            "created_at": decision.created_at.isoformat(),
        }

    # Verification -------------------------------------------------------------------------

    def workspaces_with_stock(self) -> list[str]:
        """Every workspace that has a ledger (the operator's verify of everything)."""
        return self.repository.workspaces_with_stock()

    def verify(
        self, workspace_id: str, repair: bool = False, now: datetime | None = None
    ) -> VerifyReport:
        """Recompute every balance from the ledger and report where they differ; with
        ``repair``, set drifted balances back to their ledger sums (the ledger is the record).

        Also reports, without repairing, reserved that differs from the held reservation
        lines and committed that differs from confirmed holds plus open order allocations.
        """
        now = now or utcnow()
        sums = self.repository.ledger_sums(workspace_id)
        if repair:
            self.repository.ensure_balances(workspace_id, sums, now)
        balances = self.repository.balances_where(workspace_id, locked=repair)
        drift: list[DriftItem] = []
        repaired = 0
        held = self.repository.line_sums(workspace_id, ReservationStatus.HELD)
        confirmed = self.repository.line_sums(workspace_id, ReservationStatus.CONFIRMED)
        open_orders = self.repository.open_allocation_units(workspace_id)
        for balance in sorted(balances, key=lambda b: (b.variant_id, b.location_id)):
            pair = (balance.variant_id, balance.location_id)
            expected = sums.get(pair, dict.fromkeys(COUNTERS, 0))
            wrong = {n: expected[n] for n in COUNTERS if getattr(balance, n) != expected[n]}
            for name, value in wrong.items():
                drift.append(DriftItem(*pair, name, getattr(balance, name), value, "ledger"))
            if wrong and repair and all(v >= 0 for v in expected.values()):
                self.repository.set_counters(balance.id, expected, now)
                repaired += 1
            if balance.reserved != held.get(pair, 0) and "reserved" not in wrong:
                drift.append(
                    DriftItem(*pair, "reserved", balance.reserved, held.get(pair, 0), "holds")
                )
            want_committed = confirmed.get(pair, 0) + open_orders.get(pair, 0)
            if balance.committed != want_committed and "committed" not in wrong:
                drift.append(
                    DriftItem(*pair, "committed", balance.committed, want_committed, "orders")
                )
        if repaired:
            self.notify_availability_changed(workspace_id, {d.variant_id for d in drift}, now)
        return VerifyReport(len(balances), drift, repaired)


# Helpers ------------------------------------------------------------------------------------


def _available(balance: StockBalance) -> int:
    return domain.available(
        balance.on_hand, balance.reserved, balance.committed, balance.damaged, balance.safety
    )


def _transient(model: type[_T], **values: Any) -> _T:
    """A transient ORM object holding ``values`` as if loaded (no change history), made without
    the mapped constructor: a twentieth of its cost. For what a use case returns and never adds
    to the session (the fast path's reservation: its rows are written by one statement)."""
    mapper = inspect(model)
    if not mapper.configured:  # the constructor would have configured the mappers first
        configure_mappers()
    instance: _T = mapper.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


def _held_at(
    taken: tuple[str, dict[str, str]], reservation: Reservation, held: dict[str, ReservationLine]
) -> tuple[Reservation, list[ReservationLine]]:
    """The one statement's reservation: its lines at the location it chose, by variant."""
    location_id, variant_of = taken
    for line_id, line in held.items():
        line.__dict__.update(variant_id=variant_of[line_id], location_id=location_id)
    return reservation, sorted(held.values(), key=lambda line: line.variant_id)


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise InvalidStockInput("a quantity must be at least 1", field="quantity")


def _candidate(rank: int, location: Location) -> domain.Candidate:
    return domain.Candidate(
        location.id, rank, location.latitude, location.longitude, location.country
    )


def _by_location(takes: Iterable[domain.Take]) -> list[domain.Take]:
    merged: dict[Pair, domain.Take] = {}
    for take in takes:
        key = (take.variant_id, take.location_id)
        if key in merged:
            old = merged[key]
            merged[key] = domain.Take(
                old.variant_id,
                old.location_id,
                old.quantity + take.quantity,
                old.is_backorder or take.is_backorder,
            )
        else:
            merged[key] = take
    return [merged[k] for k in sorted(merged)]


def _expire_change(line: tuple[str, str, str, str, str, int]) -> Change:
    line_id, _workspace, reservation_id, variant_id, location_id, quantity = line
    return Change(
        variant_id,
        location_id,
        LedgerReason.EXPIRE,
        f"{line_id}:expire",
        "reservation",
        reservation_id,
        {"reserved": -quantity},
    )


def _logical_status(reservation: Reservation, now: datetime) -> ReservationStatus:
    if reservation.status is ReservationStatus.HELD and reservation.expires_at <= now:
        return ReservationStatus.EXPIRED
    return reservation.status


def logical_status(reservation: Reservation, now: datetime) -> ReservationStatus:
    """A held reservation past its expiry is expired, whether or not it was swept."""
    return _logical_status(reservation, now)


def _shortage(
    plan: domain.Plan,
    variants: Mapping[str, VariantFacts],
    availability: dict[Pair, int],
    candidates: Sequence[domain.Candidate],
) -> InsufficientStock:
    shortages = []
    for variant_id, missing in sorted(plan.shortages.items()):
        there = sum(max(0, availability.get((variant_id, c.location_id), 0)) for c in candidates)
        sku = variants[variant_id].sku if variant_id in variants else variant_id
        shortages.append({"sku": sku, "missing": missing, "available": there})
    text = "; ".join(
        f"{s['sku']}: {s['available']} available, {s['missing']} short" for s in shortages
    )
    return InsufficientStock(f"not enough stock: {text}", shortages=shortages)


def _refunded_units(refunds: Sequence[OrderRefund]) -> dict[str, int]:
    units: dict[str, int] = defaultdict(int)
    for refund in refunds:
        for item in refund.lines or []:
            key, quantity = item.get("line_key"), item.get("quantity")
            if isinstance(key, str) and isinstance(quantity, int) and quantity > 0:
                units[key] += quantity
    return dict(units)


def _match_location(
    locations: Sequence[Location], order: Order, pickup: bool = False
) -> Location | None:
    ref = order.location_ref
    for location in locations:
        if pickup and (location.kind is not LocationKind.STORE or not location.is_pickup_enabled):
            continue
        if ref and (ref in (location.external_refs or []) or ref == location.code):
            return location
    if not pickup:
        for location in locations:
            if location.channel_key and location.channel_key == order.channel:
                return location
    return None


def _destination_of(data: DestinationIn | None) -> domain.Destination | None:
    if data is None:
        return None
    return domain.Destination(data.country, data.latitude, data.longitude)


def _destination(order: Order) -> domain.Destination:
    customer = order.customer or {}
    country = customer.get("country")
    latitude, longitude = customer.get("latitude"), customer.get("longitude")
    return domain.Destination(
        country=str(country).upper()[:2] if country else None,
        latitude=float(latitude) if isinstance(latitude, int | float) else None,
        longitude=float(longitude) if isinstance(longitude, int | float) else None,
    )


def _split_by_line(
    per_line: dict[str, dict[str, int]], takes: Sequence[domain.Take]
) -> list[tuple[str, str, str, int, bool]]:
    """Spread the plan's takes (per variant) back over the order lines that asked for them:
    (line, variant, location, units, any of them backordered)."""
    pool: dict[str, list[list[Any]]] = defaultdict(list)
    for take in takes:
        pool[take.variant_id].append([take.location_id, take.quantity, take.is_backorder])
    merged: dict[tuple[str, str, str], list[Any]] = {}
    for line_key in sorted(per_line):
        for variant_id, quantity in sorted(per_line[line_key].items()):
            need = quantity
            for slot in pool[variant_id]:
                if need == 0:
                    break
                units = min(need, slot[1])
                if units:
                    entry = merged.setdefault((line_key, variant_id, slot[0]), [0, False])
                    entry[0] += units
                    entry[1] = entry[1] or slot[2]
                    slot[1] -= units
                    need -= units
    return [(k, v, loc, q, b) for (k, v, loc), (q, b) in sorted(merged.items())]


def _takes_from_hold(
    per_line: dict[str, dict[str, int]], held: Sequence[ReservationLine]
) -> list[tuple[str, str, str, int, bool]]:
    takes = [domain.Take(h.variant_id, h.location_id, h.quantity, h.is_backorder) for h in held]
    return _split_by_line(per_line, takes)
