"""API shapes of the inventory domain. Quantities are whole units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.inventory.domain import RoutingRuleName
from tessera.models.inventory import LedgerReason, LocationKind, ReservationStatus

CHANNEL_PATTERN = r"^[a-z][a-z0-9_]*(:[a-z0-9][a-z0-9_\-]*)?$"
CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,79}$"
KEY_FIELD = Field(
    default=None,
    min_length=1,
    max_length=150,
    description="Send the same key again and the change is applied once",
)
MAX_UNITS = 1_000_000


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    kind: LocationKind
    channel_key: str | None = Field(default=None, pattern=CHANNEL_PATTERN)
    external_refs: list[str] = Field(default_factory=list, max_length=20)
    is_pickup_enabled: bool = False
    is_ship_enabled: bool = True
    opening_hours: dict[str, list[str]] = Field(
        default_factory=dict, description='{"mon": ["09:00", "18:00"], ...}'
    )
    time_zone: str = Field(default="UTC", max_length=64)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class LocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    name: str
    kind: LocationKind
    channel_key: str | None
    external_refs: list[str]
    is_pickup_enabled: bool
    is_ship_enabled: bool
    opening_hours: dict[str, Any]
    time_zone: str
    latitude: float | None
    longitude: float | None
    country: str | None
    is_active: bool


class LocationList(BaseModel):
    items: list[LocationOut]


class HoldOut(BaseModel):
    """A checkout's live hold on units of one SKU at one location."""

    reservation_id: str
    channel: str
    sku: str
    location_code: str
    quantity: int
    is_backorder: bool
    expires_at: datetime


class OpenOrderOut(BaseModel):
    """Units an order took at a balance that have neither shipped nor been cancelled."""

    order_id: str
    line_key: str
    sku: str
    units: int
    is_backorder: bool = Field(description="Committed beyond what was available when placed")
    created_at: datetime


class LocationDetail(LocationOut):
    holds: list[HoldOut] = Field(description="Checkout holds still live here, newest first")
    pickups: list[OpenOrderOut] = Field(
        description="Pickup (BOPIS) orders waiting here to be collected, newest first"
    )


class ChannelLocationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locations: list[str] = Field(max_length=100, description="Location codes, first is rank 1")
    rules: list[RoutingRuleName] | None = Field(
        default=None, description="Routing rules for shipped orders, applied in order"
    )
    is_ship_from_store: bool = False


class RankedLocation(BaseModel):
    rank: int
    location: LocationOut


class ChannelLocationsOut(BaseModel):
    channel: str
    locations: list[RankedLocation]
    rules: list[str]
    is_ship_from_store: bool


class BalanceOut(BaseModel):
    sku: str
    variant_id: str
    location_id: str
    location_code: str
    on_hand: int
    reserved: int
    committed: int
    incoming: int
    damaged: int
    safety: int
    available: int = Field(description="on_hand - reserved - committed - damaged - safety")
    sellable: int = Field(description="available, counting expired holds as free, never < 0")
    updated_at: datetime


class BalanceList(BaseModel):
    items: list[BalanceOut]


class OversoldOut(BaseModel):
    sku: str
    variant_id: str
    location_id: str
    location_code: str
    on_hand: int
    reserved: int
    committed: int
    damaged: int
    short: int = Field(
        description="Units promised (held, committed) or damaged beyond what is on hand"
    )
    open_orders: int = Field(description="Orders with units still open at this balance")
    open_units: int
    orders: list[OpenOrderOut] = Field(description="Backordered first, then newest; at most 10")
    holds: list[HoldOut]


class OversoldList(BaseModel):
    items: list[OversoldOut]


class StockChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    location: str = Field(pattern=CODE_PATTERN, description="Location code")
    idempotency_key: str | None = KEY_FIELD
    note: str | None = Field(default=None, max_length=500)


class AdjustIn(StockChangeIn):
    delta: int = Field(ge=-MAX_UNITS, le=MAX_UNITS, description="Units added (or removed)")


class QuantityIn(StockChangeIn):
    quantity: int = Field(ge=1, le=MAX_UNITS)


class CountIn(StockChangeIn):
    counted: int = Field(ge=0, le=MAX_UNITS, description="Units found on the shelf")


class SafetyIn(StockChangeIn):
    safety: int = Field(ge=0, le=MAX_UNITS)


class DamageIn(QuantityIn):
    write_off: bool = Field(
        default=False, description="Remove the units from on hand instead of holding them"
    )


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    from_location: str = Field(pattern=CODE_PATTERN)
    to_location: str = Field(pattern=CODE_PATTERN)
    quantity: int = Field(ge=1, le=MAX_UNITS)
    idempotency_key: str | None = KEY_FIELD
    note: str | None = Field(default=None, max_length=500)


class LedgerEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    variant_id: str
    location_id: str
    reason: LedgerReason
    on_hand_delta: int
    reserved_delta: int
    committed_delta: int
    incoming_delta: int
    damaged_delta: int
    safety_delta: int
    source_type: str
    source_id: str | None
    idempotency_key: str
    note: str | None
    created_at: datetime


class StockChangeOut(BaseModel):
    applied: bool = Field(description="False when the idempotency key was already used")
    balances: list[BalanceOut]


class ReservationLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    quantity: int = Field(ge=1, le=MAX_UNITS)


class DestinationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(default="web", pattern=CHANNEL_PATTERN, max_length=80)
    lines: list[ReservationLineIn] = Field(min_length=1, max_length=200)
    ttl_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    idempotency_key: str = Field(min_length=1, max_length=150)
    pickup_location: str | None = Field(
        default=None, pattern=CODE_PATTERN, description="BOPIS: hold at this store only"
    )
    destination: DestinationIn | None = None
    order_ref: str | None = Field(
        default=None,
        max_length=260,
        description="platform:external_id of the order this checkout becomes",
    )


class ReservationLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    variant_id: str
    location_id: str
    quantity: int
    is_backorder: bool
    status: ReservationStatus


class ReservationOut(BaseModel):
    id: str
    channel: str
    status: ReservationStatus
    idempotency_key: str
    order_ref: str | None
    request: list[dict[str, Any]]
    expires_at: datetime
    created_at: datetime
    lines: list[ReservationLineOut]


class ReservationPage(BaseModel):
    items: list[ReservationOut]
    next_cursor: str | None


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_ref: str | None = Field(default=None, max_length=260)


class DriftOut(BaseModel):
    variant_id: str
    location_id: str
    counter: str
    balance: int
    expected: int
    source: str = Field(description="ledger, or the holds/orders behind reserved and committed")


class VerifyOut(BaseModel):
    balances_checked: int
    drift: list[DriftOut]
    repaired: int
