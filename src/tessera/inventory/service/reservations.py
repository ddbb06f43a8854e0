"""Reservations: a checkout's hold on stock, and its life until it becomes an order, is
released, or runs out.

``reserve`` is the general path: read what each candidate location has available, plan the
takes in ``domain.plan_takes``, write the reservation and its lines, then the guarded UPDATEs;
three attempts when a concurrent take beats the snapshot. It is the reference the fast path
(``service.fast_path``, one statement on PostgreSQL) must match, and what the fast path falls
back to whenever it declines. Holds expire logically (``StockLedger.expire_on``); the sweeper
(``sweep_expired``) only tidies up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, SessionTransaction

from tessera.catalog.errors import UnknownSku
from tessera.catalog.service import CatalogService, VariantFacts, component_demand
from tessera.inventory import domain
from tessera.inventory.domain import RoutingRuleName
from tessera.inventory.errors import (
    IdempotencyKeyReused,
    InsufficientStock,
    ReservationNotFound,
    ReservationNotHeld,
)
from tessera.inventory.repository.base import Pair
from tessera.inventory.repository.reservations import ReservationRepository
from tessera.inventory.repository.stock import StockRepository
from tessera.inventory.schemas import DestinationIn, ReservationIn
from tessera.inventory.service.fast_path import ReservationFastPath
from tessera.inventory.service.ledger import Change, Refused, StockLedger, expire_change
from tessera.inventory.service.routing import RoutingService
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.inventory import (
    LedgerReason,
    Reservation,
    ReservationLine,
    ReservationStatus,
)

RESERVE_ATTEMPTS = 3


class ReservationService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = ReservationRepository(session)
        self.fast_path = ReservationFastPath(session)

    # Made when first used: a checkout the fast path takes needs none of them, and it is only
    # as fast as the Python around its one statement.

    @cached_property
    def stock(self) -> StockRepository:
        return StockRepository(self.session)

    @cached_property
    def changes(self) -> StockLedger:
        return StockLedger(self.session)

    @cached_property
    def routing(self) -> RoutingService:
        return RoutingService(self.session)

    @cached_property
    def catalog(self) -> CatalogService:
        return CatalogService(self.session)

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
        on the destination) is one statement (``ReservationFastPath``); anything else,
        and every refusal, takes the general path, which plans from a snapshot.
        """
        now = now or utcnow()
        if data.pickup_location is None and self.repository.dialect == "postgresql":
            made = self.fast_path.reserve_in_transaction(workspace_id, data, now)
            if made is not None:
                return made
        return self.reserve_by_plan(workspace_id, data, now)

    def reserve_in_own_transaction(
        self, workspace_id: str, data: ReservationIn, now: datetime | None = None
    ) -> tuple[Reservation, list[ReservationLine]]:
        """``reserve`` for a caller whose transaction holds nothing the reservation must commit
        or roll back with: the API's ``POST /v1/reservations`` and the bench, which answer as
        soon as it is made. Refuses what ``reserve`` refuses, and answers the same.

        On PostgreSQL, when the session is bound to an engine (not to a connection whose
        transaction the reservation must join, as in the tests), the common case's one
        statement runs alone on an autocommitting connection
        (``ReservationFastPath.reserve_alone``): a single statement is its own transaction, as
        atomic as any, and it saves the session's BEGIN, COMMIT, pre-ping and client work, and
        holds the balance rows only while it runs. When it declines, it has written nothing,
        and the general path runs in the caller's session. Anywhere else, this is ``reserve``.
        """
        now = now or utcnow()
        bind = self.session.get_bind()
        if (
            data.pickup_location is None
            and isinstance(bind, Engine)
            and bind.dialect.name == "postgresql"
        ):
            made = self.fast_path.reserve_alone(bind, workspace_id, data, now)
            if made is not None:
                return made
            return self.reserve_by_plan(workspace_id, data, now)
        return self.reserve(workspace_id, data, now)

    def reserve_by_plan(
        self, workspace_id: str, data: ReservationIn, now: datetime
    ) -> tuple[Reservation, list[ReservationLine]]:
        """The general path, and the reference the one-statement paths must agree with: read,
        plan in ``domain.plan_takes``, write, then the guarded UPDATEs; three attempts when a
        concurrent take beats the snapshot. Refuses unknown SKUs (404) and what no location
        can supply (409), writing nothing."""
        request = [{"sku": line.sku, "quantity": line.quantity} for line in data.lines]
        variants = self.catalog.variant_facts_by_sku(
            workspace_id, {line.sku for line in data.lines}
        )
        for line in data.lines:
            if line.sku not in variants:
                raise UnknownSku(f"no variant has SKU {line.sku!r}", field="lines", sku=line.sku)
        candidates, rules = self.routing.candidates(
            workspace_id, data.channel, data.pickup_location
        )
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
            snapshot = self.stock.availability(
                workspace_id, list(demand), [c.location_id for c in candidates], now
            )
            expired_changes: list[Change] = []
            marked: SessionTransaction | None = None
            if any(balance.expired for balance in snapshot.values()):
                expired_changes, marked = self.changes.expire_on(workspace_id, pairs, now)
            availability = {
                pair: balance.available + balance.expired for pair, balance in snapshot.items()
            }
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
                self.changes.notify_availability_changed(workspace_id, set(demand), now)
                notified = True
            self.repository.insert_reservation_lines(lines)
            made = Reservation(**row), [ReservationLine(**line) for line in lines]
            try:
                self.changes.apply(workspace_id, [*expired_changes, *changes], now)
            except Refused:
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

    def sweep_expired(self, now: datetime | None = None, limit: int = 500) -> int:
        """Release up to ``limit`` holds whose time ran out, in every workspace; returns how
        many. Safe to run concurrently: each claims different lines (SKIP LOCKED)."""
        now = now or utcnow()
        lines = self.repository.mark_expired(self.repository.lock_expired_lines(now, limit=limit))
        by_workspace: dict[str, list[Change]] = defaultdict(list)
        for line in lines:
            by_workspace[line.workspace_id].append(expire_change(line))
        for workspace_id, changes in sorted(by_workspace.items()):
            applied = self.changes.apply(workspace_id, changes, now)
            self.repository.expire_reservations({c.source_id for c in changes if c.source_id}, now)
            self.changes.notify(workspace_id, applied, now)
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
        """Reservations, newest first, with their lines; refuses a cursor not of ours (422)."""
        limit = clamp_limit(limit)
        rows = self.repository.reservations(workspace_id, decode_cursor(cursor), limit + 1, status)
        page = page_from(rows, limit)
        lines: dict[str, list[ReservationLine]] = defaultdict(list)
        for line in self.repository.reservation_lines([r.id for r in page.items]):
            lines[line.reservation_id].append(line)
        return page, lines

    def reservations_for_order(
        self, workspace_id: str, order_ref: str
    ) -> list[tuple[Reservation, list[ReservationLine]]]:
        """The checkout holds that name an order (``platform:external_id``), with their lines,
        oldest first; the order page shows where its units were held before it was placed."""
        reservations = self.repository.reservations_for_order(workspace_id, order_ref)
        lines: dict[str, list[ReservationLine]] = defaultdict(list)
        for line in self.repository.reservation_lines([r.id for r in reservations]):
            lines[line.reservation_id].append(line)
        return [(r, lines[r.id]) for r in reservations]

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
                f"reservation {reservation_id} is {logical_status(reservation, now).value}",
                status=logical_status(reservation, now).value,
            )
        changes = [
            Change(
                line.variant_id,
                line.location_id,
                LedgerReason.CONFIRM,
                f"{line.line_id}:confirm",
                "reservation",
                reservation_id,
                {"reserved": -line.quantity, "committed": line.quantity},
            )
            for line in moved
        ]
        self.changes.run_moves(workspace_id, changes, now)
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
                line.variant_id,
                line.location_id,
                LedgerReason.RELEASE,
                f"{line.line_id}:release",
                "reservation",
                reservation_id,
                {"reserved": -line.quantity},
            )
            for line in moved
        ]
        self.changes.run_moves(workspace_id, changes, now)
        status = ReservationStatus.RELEASED if moved or not lines else ReservationStatus.EXPIRED
        self.repository.set_reservation_status(reservation_id, ReservationStatus.HELD, status, now)
        return self.get_reservation(workspace_id, reservation_id)

    def fulfil_reservation(
        self, workspace_id: str, reservation_id: str, now: datetime | None = None
    ) -> tuple[Reservation, list[ReservationLine]]:
        """A confirmed reservation shipped: its units leave committed and on hand. Fulfilling
        twice is once; refuses a reservation that is not confirmed (409) and units no longer
        on hand (409: count the shelf first)."""
        return self._close_confirmed(workspace_id, reservation_id, ReservationStatus.FULFILLED, now)

    def cancel_reservation(
        self, workspace_id: str, reservation_id: str, now: datetime | None = None
    ) -> tuple[Reservation, list[ReservationLine]]:
        """A confirmed reservation's order was cancelled: committed units become available.
        Cancelling twice is once; refuses a reservation that is not confirmed (409)."""
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
                    line.variant_id,
                    line.location_id,
                    LedgerReason.FULFIL,
                    f"{line.line_id}:fulfil",
                    "reservation",
                    reservation_id,
                    {"committed": -line.quantity, "on_hand": -line.quantity},
                )
                for line in moved
            ]
        else:
            changes = [
                Change(
                    line.variant_id,
                    line.location_id,
                    LedgerReason.CANCEL,
                    f"{line.line_id}:cancel",
                    "reservation",
                    reservation_id,
                    {"committed": -line.quantity},
                )
                for line in moved
            ]
        self.changes.run_moves(
            workspace_id, changes, now, "fewer units on hand than ship: count the shelf first"
        )
        self.repository.set_reservation_status(
            reservation_id, ReservationStatus.CONFIRMED, to_status, now
        )
        return self.get_reservation(workspace_id, reservation_id)

    def _run_moves(
        self, workspace_id: str, changes: Sequence[Change], now: datetime, refusal: str = ""
    ) -> None:
        applied = self.changes.apply_or_refuse(
            workspace_id, changes, now, refusal or "the balance no longer holds these units"
        )
        self.changes.notify(workspace_id, applied, now)

    # Orders -------------------------------------------------------------------------------


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


def logical_status(reservation: Reservation, now: datetime) -> ReservationStatus:
    """A held reservation past its expiry is expired, whether or not it was swept."""
    if reservation.status is ReservationStatus.HELD and reservation.expires_at <= now:
        return ReservationStatus.EXPIRED
    return reservation.status


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


def _destination_of(data: DestinationIn | None) -> domain.Destination | None:
    if data is None:
        return None
    return domain.Destination(data.country, data.latitude, data.longitude)
