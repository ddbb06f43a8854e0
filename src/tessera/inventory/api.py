"""``/v1/locations``, ``/v1/stock``, ``/v1/reservations``, ``/v1/inventory``: stock.

Reads need a viewer key; stock changes and reservations a marketer key (a storefront's backend
holds one); locations, channel feeds and repairs an admin key. Every refused request changes
nothing: the request's transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Path, Query
from pydantic import BaseModel, Field

from tessera.catalog.service import CatalogService
from tessera.http.routing import DbSession, router
from tessera.inventory.errors import InvalidStockInput, RoutingDecisionNotFound
from tessera.inventory.schemas import (
    AdjustIn,
    BalanceList,
    BalanceOut,
    ChannelLocationsIn,
    ChannelLocationsOut,
    ConfirmIn,
    CountIn,
    DamageIn,
    DriftOut,
    HoldOut,
    LedgerEntryOut,
    LocationDetail,
    LocationIn,
    LocationList,
    LocationOut,
    OpenOrderOut,
    OversoldList,
    OversoldOut,
    QuantityIn,
    RankedLocation,
    ReservationIn,
    ReservationLineOut,
    ReservationOut,
    ReservationPage,
    SafetyIn,
    StockChangeOut,
    TransferIn,
    VerifyOut,
)
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.promises import HeldLine, OpenAllocation, PromiseService
from tessera.inventory.service.reservations import ReservationService, logical_status
from tessera.inventory.service.routing import RoutingService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.kit.time import utcnow
from tessera.models.inventory import Reservation, ReservationLine, ReservationStatus
from tessera.workspace.auth import Admin, Marketer, Viewer
from tessera.workspace.domain import Principal

api = router(prefix="/v1", tags=["inventory"])


class LedgerPage(BaseModel):
    items: list[LedgerEntryOut]
    next_cursor: str | None


class VerifyIn(BaseModel):
    repair: bool = Field(default=False, description="Set drifted balances to their ledger sums")


class RoutingOut(BaseModel):
    order_id: str
    channel: str
    method: str
    allocations: list[dict[str, Any]]
    reasons: list[str]
    created_at: str


# Locations ----------------------------------------------------------------------------------


@api.get("/locations", response_model=LocationList, summary="Warehouses, stores, 3PLs, FBA, retail")
def list_locations(principal: Viewer, session: DbSession) -> LocationList:
    rows = LocationService(session).locations(principal.workspace_id)
    return LocationList(items=[LocationOut.model_validate(x) for x in rows])


@api.post("/locations", response_model=LocationOut, status_code=201, summary="Add a location")
def create_location(body: LocationIn, principal: Admin, session: DbSession) -> LocationOut:
    location = LocationService(session).create_location(principal.workspace_id, body)
    return LocationOut.model_validate(location)


def _hold_out(line: HeldLine, skus: dict[str, str], codes: dict[str, str]) -> HoldOut:
    return HoldOut(
        reservation_id=line.reservation_id,
        channel=line.channel,
        sku=skus.get(line.variant_id, ""),
        location_code=codes.get(line.location_id, ""),
        quantity=line.quantity,
        is_backorder=line.is_backorder,
        expires_at=line.expires_at,
    )


def _order_out(allocation: OpenAllocation, skus: dict[str, str]) -> OpenOrderOut:
    return OpenOrderOut(
        order_id=allocation.order_id,
        line_key=allocation.line_key,
        sku=skus.get(allocation.variant_id, ""),
        units=allocation.units,
        is_backorder=allocation.is_backorder,
        created_at=allocation.created_at,
    )


def _skus(session: DbSession, workspace_id: str, variant_ids: set[str]) -> dict[str, str]:
    found = CatalogService(session).variants_by_id(workspace_id, variant_ids)
    return {variant_id: variant.sku for variant_id, variant in found.items()}


@api.get(
    "/locations/{code}",
    response_model=LocationDetail,
    summary="One location, the checkout holds live there and the pickups waiting there",
)
def get_location(
    principal: Viewer, session: DbSession, code: str = Path(max_length=80)
) -> LocationDetail:
    location = LocationService(session).location_by_code(principal.workspace_id, code)
    promises = PromiseService(session)
    holds = promises.holds_at(principal.workspace_id, location.id)
    pickups = promises.pickups_at(principal.workspace_id, location.id)
    skus = _skus(
        session,
        principal.workspace_id,
        {h.variant_id for h in holds} | {p.variant_id for p in pickups},
    )
    return LocationDetail(
        **LocationOut.model_validate(location).model_dump(),
        holds=[_hold_out(h, skus, {location.id: location.code}) for h in holds],
        pickups=[_order_out(p, skus) for p in pickups],
    )


def _channel_out(service: LocationService, workspace_id: str, channel: str) -> ChannelLocationsOut:
    rules, ship_from_store = service.routing_rules(workspace_id, channel)
    return ChannelLocationsOut(
        channel=channel,
        locations=[
            RankedLocation(rank=rank, location=LocationOut.model_validate(loc))
            for rank, loc in service.locations_for_channel(workspace_id, channel)
        ],
        rules=rules,
        is_ship_from_store=ship_from_store,
    )


@api.get(
    "/locations/channels/{channel}",
    response_model=ChannelLocationsOut,
    summary="The locations that feed a channel, ranked, and its routing rules",
)
def get_channel_locations(
    channel: str, principal: Viewer, session: DbSession
) -> ChannelLocationsOut:
    return _channel_out(LocationService(session), principal.workspace_id, channel)


@api.put(
    "/locations/channels/{channel}",
    response_model=ChannelLocationsOut,
    summary="Set the locations that feed a channel (first is rank 1) and its routing rules",
)
def set_channel_locations(
    channel: str, body: ChannelLocationsIn, principal: Admin, session: DbSession
) -> ChannelLocationsOut:
    if (
        len(channel) > 80
        or not channel.replace(":", "").replace("_", "").replace("-", "").isalnum()
    ):
        raise InvalidStockInput(
            "a channel key looks like web, amazon or store:soho", field="channel"
        )
    locations = LocationService(session)
    locations.set_channel_locations(principal.workspace_id, channel, body)
    return _channel_out(locations, principal.workspace_id, channel)


# Balances and stock changes -----------------------------------------------------------------


def _balances(
    session: DbSession, principal: Principal, skus: Sequence[str], location_codes: Sequence[str]
) -> list[BalanceOut]:
    locations = LocationService(session)
    stock = StockService(session)
    catalog = CatalogService(session)
    variant_ids = [catalog.variant_by_sku(principal.workspace_id, sku).id for sku in skus] or None
    location_ids = [
        locations.location_by_code(principal.workspace_id, code).id for code in location_codes
    ] or None
    rows = stock.balances(principal.workspace_id, variant_ids, location_ids)
    variants = catalog.variants_by_id(principal.workspace_id, {b.variant_id for b, _ in rows})
    codes = {loc.id: loc.code for loc in locations.locations(principal.workspace_id)}
    return [
        BalanceOut(
            sku=variants[b.variant_id].sku,
            variant_id=b.variant_id,
            location_id=b.location_id,
            location_code=codes[b.location_id],
            on_hand=b.on_hand,
            reserved=b.reserved,
            committed=b.committed,
            incoming=b.incoming,
            damaged=b.damaged,
            safety=b.safety,
            available=b.on_hand - b.reserved - b.committed - b.damaged - b.safety,
            sellable=sellable,
            updated_at=b.updated_at,
        )
        for b, sellable in rows
    ]


@api.get("/stock", response_model=BalanceList, summary="Balances per SKU x location")
def list_balances(
    principal: Viewer,
    session: DbSession,
    sku: str | None = Query(default=None, max_length=120),
    location: str | None = Query(default=None, max_length=80),
) -> BalanceList:
    return BalanceList(
        items=_balances(session, principal, [sku] if sku else [], [location] if location else [])
    )


@api.get("/stock/ledger", response_model=LedgerPage, summary="Ledger entries, newest first")
def list_ledger(
    principal: Viewer,
    session: DbSession,
    sku: str | None = Query(default=None, max_length=120),
    location: str | None = Query(default=None, max_length=80),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> LedgerPage:
    locations = LocationService(session)
    stock = StockService(session)
    variant_id = (
        CatalogService(session).variant_by_sku(principal.workspace_id, sku).id if sku else None
    )
    location_id = (
        locations.location_by_code(principal.workspace_id, location).id if location else None
    )
    page = stock.ledger(principal.workspace_id, variant_id, location_id, cursor, limit)
    return LedgerPage(
        items=[LedgerEntryOut.model_validate(x) for x in page.items], next_cursor=page.next_cursor
    )


@api.get(
    "/stock/oversold",
    response_model=OversoldList,
    summary="Oversold balances, the shortest first, with the orders and holds behind them",
    description="A balance is oversold when its held, committed and damaged units are more "
    "than it has on hand (expired holds counted as free): channels' orders cause it, since an "
    "order already sold is committed as backorder rather than refused. Safety stock is not "
    "counted: it keeps units from sale and promises none.",
)
def list_oversold(
    principal: Viewer,
    session: DbSession,
    sku: str | None = Query(default=None, max_length=120),
    location: str | None = Query(default=None, max_length=80),
    limit: int = Query(default=100, ge=1, le=200),
) -> OversoldList:
    workspace_id = principal.workspace_id
    locations = LocationService(session)
    variant_ids = [CatalogService(session).variant_by_sku(workspace_id, sku).id] if sku else None
    location_ids = [locations.location_by_code(workspace_id, location).id] if location else None
    positions = PromiseService(session).oversold(workspace_id, limit, variant_ids, location_ids)
    skus = _skus(session, workspace_id, {p.balance.variant_id for p in positions})
    codes = {loc.id: loc.code for loc in locations.locations(workspace_id)}
    return OversoldList(
        items=[
            OversoldOut(
                sku=skus.get(p.balance.variant_id, ""),
                variant_id=p.balance.variant_id,
                location_id=p.balance.location_id,
                location_code=codes.get(p.balance.location_id, ""),
                on_hand=p.balance.on_hand,
                reserved=p.balance.reserved,
                committed=p.balance.committed,
                damaged=p.balance.damaged,
                short=p.short,
                open_orders=p.open_orders,
                open_units=p.open_units,
                orders=[_order_out(o, skus) for o in p.orders],
                holds=[_hold_out(h, skus, codes) for h in p.holds],
            )
            for p in positions
        ]
    )


def _changed(
    session: DbSession, principal: Principal, applied: bool, sku: str, codes: Sequence[str]
) -> StockChangeOut:
    return StockChangeOut(applied=applied, balances=_balances(session, principal, [sku], codes))


@api.post("/stock/adjust", response_model=StockChangeOut, summary="Add or remove units on hand")
def adjust(body: AdjustIn, principal: Marketer, session: DbSession) -> StockChangeOut:
    applied = StockService(session).adjust(
        principal.workspace_id, body.sku, body.location, body.delta, body.idempotency_key, body.note
    )
    return _changed(session, principal, applied, body.sku, [body.location])


@api.post("/stock/incoming", response_model=StockChangeOut, summary="Units on their way")
def incoming(body: QuantityIn, principal: Marketer, session: DbSession) -> StockChangeOut:
    applied = StockService(session).expect(
        principal.workspace_id,
        body.sku,
        body.location,
        body.quantity,
        body.idempotency_key,
        body.note,
    )
    return _changed(session, principal, applied, body.sku, [body.location])


@api.post("/stock/receive", response_model=StockChangeOut, summary="Goods in, against incoming")
def receive(body: QuantityIn, principal: Marketer, session: DbSession) -> StockChangeOut:
    applied = StockService(session).receive(
        principal.workspace_id,
        body.sku,
        body.location,
        body.quantity,
        body.idempotency_key,
        body.note,
    )
    return _changed(session, principal, applied, body.sku, [body.location])


@api.post("/stock/count", response_model=StockChangeOut, summary="A cycle count sets on hand")
def count(body: CountIn, principal: Marketer, session: DbSession) -> StockChangeOut:
    applied = StockService(session).count(
        principal.workspace_id,
        body.sku,
        body.location,
        body.counted,
        body.idempotency_key,
        body.note,
    )
    return _changed(session, principal, applied, body.sku, [body.location])


@api.post("/stock/safety", response_model=StockChangeOut, summary="Units kept back from sale")
def safety(body: SafetyIn, principal: Marketer, session: DbSession) -> StockChangeOut:
    applied = StockService(session).set_safety(
        principal.workspace_id, body.sku, body.location, body.safety, body.idempotency_key
    )
    return _changed(session, principal, applied, body.sku, [body.location])


@api.post("/stock/damage", response_model=StockChangeOut, summary="Damaged units, or a write-off")
def damage(body: DamageIn, principal: Marketer, session: DbSession) -> StockChangeOut:
    applied = StockService(session).damage(
        principal.workspace_id,
        body.sku,
        body.location,
        body.quantity,
        body.write_off,
        body.idempotency_key,
        body.note,
    )
    return _changed(session, principal, applied, body.sku, [body.location])


@api.post("/stock/transfer", response_model=StockChangeOut, summary="Move units between locations")
def transfer(body: TransferIn, principal: Marketer, session: DbSession) -> StockChangeOut:
    applied = StockService(session).transfer(
        principal.workspace_id,
        body.sku,
        body.from_location,
        body.to_location,
        body.quantity,
        body.idempotency_key,
        body.note,
    )
    return _changed(session, principal, applied, body.sku, [body.from_location, body.to_location])


# Reservations -------------------------------------------------------------------------------


def _reservation_out(reservation: Reservation, lines: Sequence[ReservationLine]) -> ReservationOut:
    return ReservationOut(
        id=reservation.id,
        channel=reservation.channel,
        status=logical_status(reservation, utcnow()),
        idempotency_key=reservation.idempotency_key,
        order_ref=reservation.order_ref,
        request=list(reservation.request),
        expires_at=reservation.expires_at,
        created_at=reservation.created_at,
        lines=[ReservationLineOut.model_validate(x) for x in lines],
    )


@api.post(
    "/reservations",
    response_model=ReservationOut,
    status_code=201,
    summary="Hold stock for a checkout until its TTL runs out",
    responses={409: {"description": "insufficient-stock: nothing was held"}},
)
def create_reservation(
    body: ReservationIn, principal: Marketer, session: DbSession
) -> ReservationOut:
    reservation, lines = ReservationService(session).reserve_in_own_transaction(
        principal.workspace_id, body
    )
    return _reservation_out(reservation, lines)


@api.get("/reservations", response_model=ReservationPage, summary="Reservations, newest first")
def list_reservations(
    principal: Viewer,
    session: DbSession,
    status: ReservationStatus | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> ReservationPage:
    page, lines = ReservationService(session).list_reservations(
        principal.workspace_id, cursor, limit, status
    )
    return ReservationPage(
        items=[_reservation_out(r, lines.get(r.id, [])) for r in page.items],
        next_cursor=page.next_cursor,
    )


@api.get("/reservations/{reservation_id}", response_model=ReservationOut, summary="One reservation")
def get_reservation(reservation_id: str, principal: Viewer, session: DbSession) -> ReservationOut:
    return _reservation_out(
        *ReservationService(session).get_reservation(principal.workspace_id, reservation_id)
    )


@api.post(
    "/reservations/{reservation_id}/confirm",
    response_model=ReservationOut,
    summary="The checkout became an order: held units become committed",
)
def confirm_reservation(
    reservation_id: str, principal: Marketer, session: DbSession, body: ConfirmIn | None = None
) -> ReservationOut:
    order_ref = body.order_ref if body else None
    return _reservation_out(
        *ReservationService(session).confirm(principal.workspace_id, reservation_id, order_ref)
    )


@api.post(
    "/reservations/{reservation_id}/release",
    response_model=ReservationOut,
    summary="Give the held units back now",
)
def release_reservation(
    reservation_id: str, principal: Marketer, session: DbSession
) -> ReservationOut:
    return _reservation_out(
        *ReservationService(session).release(principal.workspace_id, reservation_id)
    )


# Verification and routing -------------------------------------------------------------------


@api.post(
    "/inventory/verify",
    response_model=VerifyOut,
    summary="Recompute balances from the ledger; report (and with repair, fix) drift",
)
def verify(principal: Viewer, session: DbSession, body: VerifyIn | None = None) -> VerifyOut:
    repair = bool(body and body.repair)
    if repair:  # a repair writes: it needs an admin key
        from tessera.models.workspace import Role
        from tessera.workspace.errors import RoleTooLow

        if not principal.allows(Role.ADMIN):
            raise RoleTooLow("repairing balances needs the admin role or higher")
    report = VerifyService(session).verify(principal.workspace_id, repair=repair)
    return VerifyOut(
        balances_checked=report.balances_checked,
        drift=[
            DriftOut(
                variant_id=d.variant_id,
                location_id=d.location_id,
                counter=d.counter,
                balance=d.balance,
                expected=d.expected,
                source=d.source,
            )
            for d in report.drift
        ],
        repaired=report.repaired,
    )


@api.get(
    "/inventory/routing/{order_id}",
    response_model=RoutingOut,
    summary="Where an order's stock came from, and why",
)
def order_routing(order_id: str, principal: Viewer, session: DbSession) -> RoutingOut:
    decision = RoutingService(session).routing_decision(principal.workspace_id, order_id)
    if decision is None:
        raise RoutingDecisionNotFound(f"no routing decision for order {order_id} in this workspace")
    return RoutingOut(**decision)
