"""Pure rules of stock: what is available, where an order's units come from, what an order's
state means for the units it holds. No session, no clock: callers pass both in.

The plan made here is a proposal read from a snapshot of the balances. The database decides:
each planned take is one conditional UPDATE that succeeds only if the units are still there,
so a plan made from a stale snapshot fails and is made again, never oversells.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


class RoutingRuleName(enum.StrEnum):
    KEEP_WITHIN_MARKET = "keep_within_market"  # only locations in the destination's country
    FEWEST_SHIPMENTS = "fewest_shipments"  # one location for the whole order when one can
    CLOSEST = "closest"  # nearest by great-circle distance to the destination
    RANKED = "ranked"  # the channel's own ranking of its locations


DEFAULT_RULES: tuple[RoutingRuleName, ...] = (
    RoutingRuleName.FEWEST_SHIPMENTS,
    RoutingRuleName.RANKED,
)


@dataclass(frozen=True, slots=True)
class Counters:
    on_hand: int = 0
    reserved: int = 0
    committed: int = 0
    incoming: int = 0
    damaged: int = 0
    safety: int = 0

    @property
    def available(self) -> int:
        """Sellable now: may be below zero when a count or a backorder left it short."""
        return available(self.on_hand, self.reserved, self.committed, self.damaged, self.safety)


def available(on_hand: int, reserved: int, committed: int, damaged: int, safety: int) -> int:
    return on_hand - reserved - committed - damaged - safety


@dataclass(frozen=True, slots=True)
class Candidate:
    """A location an order may take stock from, with what routing needs to know."""

    location_id: str
    rank: int
    latitude: float | None = None
    longitude: float | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Destination:
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class Take:
    variant_id: str
    location_id: str
    quantity: int
    is_backorder: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    takes: tuple[Take, ...]
    reasons: tuple[str, ...]
    shortages: Mapping[str, int] = field(default_factory=dict)  # variant -> units missing

    @property
    def is_complete(self) -> bool:
        return not self.shortages


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def order_candidates(
    candidates: Sequence[Candidate],
    rules: Sequence[RoutingRuleName],
    destination: Destination | None,
) -> tuple[list[Candidate], list[str]]:
    """The candidates in the order routing tries them, and why.

    ``keep_within_market`` filters (strictly: no location in the market means none);
    ``closest`` and ``ranked`` sort, the earlier rule deciding first; ties keep the rank.
    """
    reasons: list[str] = []
    ordered = sorted(candidates, key=lambda c: (c.rank, c.location_id))
    if RoutingRuleName.KEEP_WITHIN_MARKET in rules and destination and destination.country:
        kept = [c for c in ordered if c.country == destination.country]
        reasons.append(
            f"keep_within_market: {len(kept)} of {len(ordered)} locations in {destination.country}"
        )
        ordered = kept
    sort_rules = [r for r in rules if r in (RoutingRuleName.CLOSEST, RoutingRuleName.RANKED)]
    for rule in reversed(sort_rules):  # stable sorts: the first rule ends up deciding
        if rule is RoutingRuleName.RANKED:
            ordered.sort(key=lambda c: c.rank)
        elif destination and destination.latitude is not None and destination.longitude is not None:
            point = (destination.latitude, destination.longitude)

            def key(c: Candidate, point: tuple[float, float] = point) -> float:
                if c.latitude is None or c.longitude is None:
                    return math.inf
                return distance_km((c.latitude, c.longitude), point)

            ordered.sort(key=key)
            reasons.append("closest: locations sorted by distance to the destination")
    if RoutingRuleName.RANKED in sort_rules:
        reasons.append("ranked: the channel's location ranking")
    return ordered, reasons


def plan_takes(
    demand: Mapping[str, int],
    availability: Mapping[tuple[str, str], int],
    candidates: Sequence[Candidate],
    *,
    fewest_shipments: bool = True,
    backorderable: Iterable[str] = (),
) -> Plan:
    """Where each variant's units come from, given what each location has available.

    With ``fewest_shipments`` the first candidate that holds the whole demand takes it all;
    otherwise (or when none can) the candidate covering the most remaining units goes first
    (greedy), splitting across locations when one is short. Units still missing are
    backordered at the first candidate for variants that allow it, and are shortages for the
    rest. Never plans more than a location has available, never a negative take.
    """
    reasons: list[str] = []
    wanted = {v: q for v, q in sorted(demand.items()) if q > 0}
    if not candidates:
        return Plan((), ("no eligible location",), wanted)
    left = {
        (v, c.location_id): max(0, availability.get((v, c.location_id), 0))
        for v in wanted
        for c in candidates
    }
    takes: list[Take] = []
    if fewest_shipments:
        for candidate in candidates:
            if all(left[(v, candidate.location_id)] >= q for v, q in wanted.items()):
                reasons.append(f"fewest_shipments: {candidate.location_id} holds the whole order")
                takes = [Take(v, candidate.location_id, q) for v, q in wanted.items()]
                return Plan(tuple(takes), tuple(reasons))
    remaining = dict(wanted)
    order = {c.location_id: index for index, c in enumerate(candidates)}
    while any(remaining.values()):

        def cover(c: Candidate) -> tuple[int, int]:
            units = sum(min(q, left[(v, c.location_id)]) for v, q in remaining.items())
            return (-units, order[c.location_id])

        best = min(candidates, key=cover) if fewest_shipments else None
        if best is None:  # plain order: first candidate with anything left
            best = next(
                (
                    c
                    for c in candidates
                    if any(min(q, left[(v, c.location_id)]) for v, q in remaining.items())
                ),
                None,
            )
        if best is None or cover(best)[0] == 0:
            break
        for variant_id, quantity in remaining.items():
            units = min(quantity, left[(variant_id, best.location_id)])
            if units:
                takes.append(Take(variant_id, best.location_id, units))
                left[(variant_id, best.location_id)] -= units
                remaining[variant_id] -= units
    locations = {t.location_id for t in takes}
    if len(locations) > 1:
        reasons.append(f"split across {len(locations)} locations: none holds the whole order")
    allowed = set(backorderable)
    shortages: dict[str, int] = {}
    for variant_id, quantity in remaining.items():
        if quantity <= 0:
            continue
        if variant_id in allowed:
            takes.append(Take(variant_id, candidates[0].location_id, quantity, is_backorder=True))
            reasons.append(f"backorder: {quantity} of {variant_id} at {candidates[0].location_id}")
        else:
            shortages[variant_id] = quantity
    return Plan(tuple(_merge(takes)), tuple(reasons), shortages)


def _merge(takes: Iterable[Take]) -> list[Take]:
    merged: dict[tuple[str, str, bool], int] = {}
    for take in takes:
        key = (take.variant_id, take.location_id, take.is_backorder)
        merged[key] = merged.get(key, 0) + take.quantity
    return [Take(v, loc, q, b) for (v, loc, b), q in sorted(merged.items())]


def bundle_sellable(parts: Sequence[tuple[int, int]]) -> int:
    """Bundles sellable from (available, units per bundle) of each component: the minimum of
    floor(available / units), never below zero."""
    if not parts:
        return 0
    return max(0, min(available // per_bundle for available, per_bundle in parts))


@dataclass(frozen=True, slots=True)
class AllocationState:
    quantity: int
    fulfilled: int
    cancelled: int
    returned: int


@dataclass(frozen=True, slots=True)
class AllocationTargets:
    fulfilled: int
    cancelled: int
    returned: int


def allocation_targets(
    state: AllocationState, *, is_shipped: bool, is_cancelled: bool, refunded: int
) -> AllocationTargets:
    """What an allocation's counts should be for the order's current state.

    Counts only grow: a unit cancelled stays cancelled, a unit shipped stays shipped, so a
    late or repeated snapshot never moves stock twice. Refunded units first cancel units not
    yet shipped; once shipped, refunded units come back as returns.
    """
    q, fulfilled, cancelled, returned = (
        state.quantity,
        state.fulfilled,
        state.cancelled,
        state.returned,
    )
    refunded = max(0, min(refunded, q))
    open_units = q - fulfilled - cancelled
    if is_cancelled:
        cancelled += open_units
    elif not is_shipped:
        cancelled += max(0, min(open_units, refunded - cancelled - returned))
    open_units = q - fulfilled - cancelled
    if is_shipped and not is_cancelled:
        fulfilled += open_units
    returned = max(returned, min(fulfilled, refunded - cancelled))
    return AllocationTargets(
        fulfilled=fulfilled, cancelled=cancelled, returned=max(returned, state.returned)
    )


def distribute(total: int, caps: Sequence[int]) -> list[int]:
    """``total`` units spread over slots in order, each up to its cap."""
    result = []
    for cap in caps:
        units = max(0, min(cap, total))
        result.append(units)
        total -= units
    return result
