"""Routing: which locations an order's (or a checkout's) units come from, and why.

``candidates`` gives a channel's routable locations and rules (a BOPIS pickup: that store
only); ``allocate`` places a new order: a store's POS sale or a partner's sell-through comes
off that shelf at once, a checkout's live hold becomes the order's, a pickup order takes the
pickup store's stock, and anything else is planned in ``domain.plan_takes`` over the ranked,
ordered candidates. An order has already been sold, so units missing are committed as
backorder, never refused. Every allocation records its decision and the reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService, component_demand
from tessera.inventory import domain
from tessera.inventory.domain import RoutingRuleName
from tessera.inventory.errors import InvalidStockInput, LocationNotFound
from tessera.inventory.repository.base import Pair
from tessera.inventory.repository.locations import LocationRepository
from tessera.inventory.repository.reservations import ReservationRepository
from tessera.inventory.repository.routing import RoutingRepository
from tessera.inventory.repository.stock import StockRepository
from tessera.inventory.service.ledger import Change, StockLedger, available
from tessera.kit.ids import new_id
from tessera.models.inventory import (
    LedgerReason,
    Location,
    LocationKind,
    OrderAllocation,
    Reservation,
    ReservationLine,
    ReservationStatus,
)
from tessera.models.order import Order, OrderLine

# Kinds whose stock we never reserve or ship from: Amazon's, and a partner's shelf.
NOT_ROUTABLE = {LocationKind.FBA, LocationKind.RETAIL}


class Allocated(NamedTuple):
    """Units of one order line taken at one location (any of them backordered or not)."""

    line_key: str
    variant_id: str
    location_id: str
    quantity: int
    is_backorder: bool


@dataclass
class _Slot:
    """What is left of one of the plan's takes while it is spread over the lines."""

    location_id: str
    quantity: int
    is_backorder: bool


class RoutingService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = RoutingRepository(session)
        self.locations = LocationRepository(session)
        self.reservations = ReservationRepository(session)
        self.stock = StockRepository(session)
        self.changes = StockLedger(session)
        self.catalog = CatalogService(session)

    def candidates(
        self, workspace_id: str, channel: str, pickup_code: str | None
    ) -> tuple[list[domain.Candidate], list[RoutingRuleName]]:
        """The locations ``channel``'s units may come from, by rank, and its routing rules.

        Inactive, non-shipping, FBA and retail locations are never candidates, and stores only
        when the channel ships from store (or nothing else feeds it). With ``pickup_code``,
        that store alone; refuses an unknown location (404) and one that does not offer
        pickup (422): a BOPIS customer collects where they said.
        """
        if pickup_code is not None:
            store = self.locations.location_by_code(workspace_id, pickup_code)
            if store is None:
                raise LocationNotFound(f"no location {pickup_code!r}", field="pickup_location")
            if store.kind is not LocationKind.STORE or not store.is_pickup_enabled:
                raise InvalidStockInput(
                    f"{pickup_code} does not offer pickup", field="pickup_location"
                )
            return [_candidate(1, store)], [RoutingRuleName.RANKED]
        rows = self.locations.channel_candidates(workspace_id, channel)
        ranked = [
            domain.Candidate(str(r.location_id), int(r.rank), r.latitude, r.longitude, r.country)
            for r in rows
            if r.kind not in NOT_ROUTABLE and r.is_active and r.is_ship_enabled
        ]
        rule = next((r for r in rows if r.rules is not None), None)
        if rule is None or rule.rules is None:
            names, ship_from_store = [r.value for r in domain.DEFAULT_RULES], False
        else:
            names, ship_from_store = list(rule.rules), bool(rule.is_ship_from_store)
        if not ship_from_store:  # stores ship only when the channel says so (or nothing else)
            stores = {str(r.location_id) for r in rows if r.kind is LocationKind.STORE}
            ranked = [c for c in ranked if c.location_id not in stores] or ranked
        return ranked, [RoutingRuleName(n) for n in names]

    def allocate(
        self, workspace_id: str, order: Order, lines: Sequence[OrderLine], now: datetime
    ) -> tuple[str, list[str]]:
        """Place a new order's (or an edit's new) lines: allocations written, stock moved, the
        decision recorded; returns the method and the reasons.

        Refuses nothing: the order was sold already. Lines without a known SKU move no stock
        (said in the reasons), units missing are committed as backorder, and an order no
        location matches or feeds is recorded as unmatched or unrouted.
        """
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
        known = [
            line
            for line in lines
            if line.sku in variants and line.quantity > 0 and not line.is_cancelled
        ]
        components = self.catalog.components([variants[line.sku].id for line in known if line.sku])
        per_line: dict[str, dict[str, int]] = {
            line.line_key: component_demand(
                [(variants[str(line.sku)].id, line.quantity)], components
            )
            for line in known
        }
        locations = self.locations.locations(workspace_id)
        fulfilment = (order.fulfillment or "").lower()
        if fulfilment in ("in_store", "retail"):
            location = _match_location(locations, order)
            if location is None:
                reasons.append(
                    f"no location matches {order.location_ref or order.channel}: no stock moved"
                )
                self.record_decision(workspace_id, order, "unmatched", [], reasons, now)
                return "unmatched", reasons
            method = "sell_through" if fulfilment == "retail" else "pos_sale"
            reasons.append(f"{method}: sold off the shelf at {location.code}")
            takes = [
                Allocated(key, v, location.id, q, False)
                for key, demand in per_line.items()
                for v, q in demand.items()
            ]
            self.write_allocations(workspace_id, order, takes, sold=True, now=now)
            self.record_decision(workspace_id, order, method, takes, reasons, now)
            return method, reasons
        held = self.reservations.held_reservation_for_order(
            workspace_id, f"{order.platform}:{order.external_id}"
        )
        held_lines = self._consume_hold(workspace_id, held, order, now) if held else None
        if held is not None and held_lines is not None:
            reasons.append(f"the checkout's hold {held.id} became this order's")
            takes = _takes_from_hold(per_line, held_lines)
            self.write_allocations(workspace_id, order, takes, sold=False, now=now, from_hold=True)
            method = "pickup" if fulfilment == "pickup" else "ship"  # a BOPIS checkout's hold
            self.record_decision(workspace_id, order, method, takes, reasons, now)
            return "hold", reasons
        if fulfilment == "pickup":
            location = _match_location(locations, order, pickup=True)
            if location is None:
                reasons.append(f"no pickup store matches {order.location_ref}: routed instead")
                candidates, rules = self.candidates(workspace_id, order.channel, None)
                method = "ship"
            else:
                candidates, rules = [_candidate(1, location)], [RoutingRuleName.RANKED]
                reasons.append(f"pickup at {location.code}: that store's stock only")
                method = "pickup"
        else:
            candidates, rules = self.candidates(workspace_id, order.channel, None)
            method = "ship"
        if not candidates:
            reasons.append(f"no location feeds channel {order.channel}: no stock moved")
            self.record_decision(workspace_id, order, "unrouted", [], reasons, now)
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
        self.stock.ensure_balances(workspace_id, pairs, now)
        self.stock.locked_balances(workspace_id, pairs)  # all of them, in the one order
        expired, marked = self.changes.expire_on(workspace_id, pairs, now)
        self.changes.notify(workspace_id, self.changes.apply(workspace_id, expired, now), now)
        self.reservations.expire_reservations({c.source_id for c in expired if c.source_id}, now)
        if marked is not None:
            marked.commit()
        availability = {
            (b.variant_id, b.location_id): available(b)
            for b in self.stock.balances(workspace_id, pairs)
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
        self.write_allocations(workspace_id, order, takes, sold=False, now=now)
        self.record_decision(workspace_id, order, method, takes, reasons, now)
        return method, reasons

    def _consume_hold(
        self, workspace_id: str, held: Reservation, order: Order, now: datetime
    ) -> list[ReservationLine] | None:
        """Turn a checkout's live hold into the order's committed units; None if it expired."""
        lines = list(self.reservations.reservation_lines([held.id]))
        moved = self.reservations.move_lines(
            held.id, ReservationStatus.HELD, ReservationStatus.ORDERED, unexpired_at=now
        )
        if not moved or len(moved) != len(lines):
            return None
        changes = [
            Change(
                line.variant_id,
                line.location_id,
                LedgerReason.CONFIRM,
                f"{line.line_id}:ordered",
                "order",
                order.id,
                {"reserved": -line.quantity, "committed": line.quantity},
            )
            for line in moved
        ]
        self.changes.run_moves(workspace_id, changes, now)
        self.reservations.set_reservation_status(
            held.id, ReservationStatus.HELD, ReservationStatus.ORDERED, now
        )
        return list(self.reservations.reservation_lines([held.id]))

    def write_allocations(
        self,
        workspace_id: str,
        order: Order,
        takes: Sequence[Allocated],
        *,
        sold: bool,
        now: datetime,
        from_hold: bool = False,
    ) -> None:
        """Write the order's allocations and move their units: committed, or (``sold``) off the
        shelf at once, never below zero on hand (what is sold beyond it is noted). Units from a
        checkout's hold (``from_hold``) were committed when the hold was consumed."""
        pairs = {(take.variant_id, take.location_id) for take in takes}
        self.stock.ensure_balances(workspace_id, pairs, now)
        on_hand: dict[Pair, int] = {}
        if sold:
            on_hand = {
                (b.variant_id, b.location_id): b.on_hand
                for b in self.stock.locked_balances(workspace_id, pairs)
            }
        changes = []
        for take in takes:
            line_key, v, loc, q = take.line_key, take.variant_id, take.location_id, take.quantity
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
                    is_backorder=take.is_backorder,
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
                        note="backorder" if take.is_backorder else None,
                    )
                )
        self.session.flush()
        applied = self.changes.apply(workspace_id, changes, now)
        self.changes.notify(workspace_id, applied, now)

    def record_decision(
        self,
        workspace_id: str,
        order: Order,
        method: str,
        takes: Sequence[Allocated],
        reasons: Sequence[str],
        now: datetime,
    ) -> None:
        """Record where the order's units came from and why; the first decision stays."""
        self.repository.claim_routing_decision(
            {
                "id": new_id("rtd"),
                "workspace_id": workspace_id,
                "order_id": order.id,
                "channel": order.channel,
                "method": method,
                "allocations": [take._asdict() for take in takes],
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


def _candidate(rank: int, location: Location) -> domain.Candidate:
    return domain.Candidate(
        location.id, rank, location.latitude, location.longitude, location.country
    )


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
) -> list[Allocated]:
    """Spread the plan's takes (per variant) back over the order lines that asked for them:
    (line, variant, location, units, any of them backordered)."""
    pool: dict[str, list[_Slot]] = defaultdict(list)
    for take in takes:
        pool[take.variant_id].append(_Slot(take.location_id, take.quantity, take.is_backorder))
    merged: dict[tuple[str, str, str], Allocated] = {}
    for line_key in sorted(per_line):
        for variant_id, quantity in sorted(per_line[line_key].items()):
            need = quantity
            for slot in pool[variant_id]:
                if need == 0:
                    break
                units = min(need, slot.quantity)
                if units:
                    key = (line_key, variant_id, slot.location_id)
                    entry = merged.get(key, Allocated(*key, 0, False))
                    merged[key] = entry._replace(
                        quantity=entry.quantity + units,
                        is_backorder=entry.is_backorder or slot.is_backorder,
                    )
                    slot.quantity -= units
                    need -= units
    return [merged[key] for key in sorted(merged)]


def _takes_from_hold(
    per_line: dict[str, dict[str, int]], held: Sequence[ReservationLine]
) -> list[Allocated]:
    takes = [domain.Take(h.variant_id, h.location_id, h.quantity, h.is_backorder) for h in held]
    return _split_by_line(per_line, takes)
