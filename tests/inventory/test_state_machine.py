"""Random sequences of reserve, expire, confirm, cancel, release, receive, transfer, fulfil,
count and sweep keep every invariant: counters never negative, the ledger sums equal the
balances, reserved equals the live holds, and what is sellable is what a plain model says."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.inventory.errors import InsufficientStock, ReservationNotHeld
from tessera.inventory.schemas import ChannelLocationsIn, ReservationIn, ReservationLineIn
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.kit.time import utcnow
from tessera.models.inventory import StockBalance
from tests.inventory.stock import make_shop

SKUS = ("SERUM", "CREAM")
LOCATIONS = ("wh", "paris")
KIT = {"SERUM": 1, "CREAM": 2}
BASKETS = st.lists(
    st.tuples(st.sampled_from(["SERUM", "CREAM", "KIT"]), st.integers(1, 3)),
    min_size=1,
    max_size=3,
    unique_by=lambda item: item[0],
)
_names = itertools.count()


def test_stock_keeps_its_invariants_under_random_operations(session: Session) -> None:
    """Hypothesis drives the real service; after every step the database agrees with a model."""

    class StockMachine(RuleBasedStateMachine):
        reservations = Bundle("reservations")

        def __init__(self) -> None:
            super().__init__()
            self.savepoint = session.begin_nested()
            self.shop = make_shop(session, f"machine-{next(_names)}")
            self.locations = LocationService(session)
            self.stock = StockService(session)
            self.reserving = ReservationService(session)
            self.verifier = VerifyService(session)
            self.locations.set_channel_locations(
                self.shop.workspace_id, "web", ChannelLocationsIn(locations=list(LOCATIONS))
            )
            self.clock: datetime = utcnow()
            self.on_hand: dict[tuple[str, str], int] = defaultdict(int)
            self.committed: dict[tuple[str, str], int] = defaultdict(int)
            # id -> (status, expires_at, {(sku, location): units})
            self.holds: dict[str, tuple[str, datetime, dict[tuple[str, str], int]]] = {}
            self.keys = itertools.count()

        def teardown(self) -> None:
            self.savepoint.rollback()

        # The model ------------------------------------------------------------------------

        def live_reserved(self, sku: str, location: str) -> int:
            return sum(
                lines.get((sku, location), 0)
                for status, expires_at, lines in self.holds.values()
                if status == "held" and expires_at > self.clock
            )

        def available(self, sku: str, location: str) -> int:
            return (
                self.on_hand[(sku, location)]
                - self.live_reserved(sku, location)
                - self.committed[(sku, location)]
            )

        # Rules ----------------------------------------------------------------------------

        @rule(
            sku=st.sampled_from(SKUS), location=st.sampled_from(LOCATIONS), units=st.integers(1, 6)
        )
        def receive(self, sku: str, location: str, units: int) -> None:
            self.stock.receive(self.shop.workspace_id, sku, location, units, now=self.clock)
            self.on_hand[(sku, location)] += units

        @rule(
            sku=st.sampled_from(SKUS),
            source=st.sampled_from(LOCATIONS),
            units=st.integers(1, 6),
        )
        def transfer(self, sku: str, source: str, units: int) -> None:
            target = next(loc for loc in LOCATIONS if loc != source)
            expected = self.available(sku, source) >= units
            try:
                self.stock.transfer(
                    self.shop.workspace_id, sku, source, target, units, now=self.clock
                )
                moved = True
            except InsufficientStock:
                moved = False
            assert moved == expected
            if moved:
                self.on_hand[(sku, source)] -= units
                self.on_hand[(sku, target)] += units

        @rule(
            sku=st.sampled_from(SKUS),
            location=st.sampled_from(LOCATIONS),
            counted=st.integers(0, 8),
        )
        def count(self, sku: str, location: str, counted: int) -> None:
            self.stock.count(self.shop.workspace_id, sku, location, counted, now=self.clock)
            self.on_hand[(sku, location)] = counted

        @rule(target=reservations, basket=BASKETS, ttl=st.integers(5, 120))
        def reserve(self, basket: list[tuple[str, int]], ttl: int) -> str:
            demand: dict[str, int] = defaultdict(int)
            for sku, units in basket:
                for part, per in KIT.items() if sku == "KIT" else [(sku, 1)]:
                    demand[part] += per * units
            free = {
                (sku, loc): max(0, self.available(sku, loc)) for sku in SKUS for loc in LOCATIONS
            }
            expected = all(
                sum(free[(sku, loc)] for loc in LOCATIONS) >= units for sku, units in demand.items()
            )
            request = ReservationIn(
                lines=[ReservationLineIn(sku=sku, quantity=q) for sku, q in basket],
                idempotency_key=f"k{next(self.keys)}",
                ttl_seconds=ttl,
            )
            try:
                reservation, lines = self.reserving.reserve(
                    self.shop.workspace_id, request, now=self.clock
                )
            except InsufficientStock:
                assert not expected
                return "refused"
            assert expected
            skus = {v: k for k, v in self.shop.variants.items()}
            codes = {v: k for k, v in self.shop.locations.items()}
            held = {(skus[x.variant_id], codes[x.location_id]): x.quantity for x in lines}
            for (sku, location), units in held.items():
                assert units <= free[(sku, location)]  # never more than a location has
            for sku, units in demand.items():
                assert sum(q for (s, _), q in held.items() if s == sku) == units
            self.holds[reservation.id] = ("held", reservation.expires_at, held)
            return reservation.id

        @rule(seconds=st.integers(1, 90))
        def expire(self, seconds: int) -> None:
            self.clock += timedelta(seconds=seconds)

        @rule()
        def sweep(self) -> None:
            self.reserving.sweep_expired(now=self.clock)

        @rule(reservation=reservations)
        def confirm(self, reservation: str) -> None:
            if reservation == "refused":
                return
            status, expires_at, lines = self.holds[reservation]
            expected = status == "confirmed" or (status == "held" and expires_at > self.clock)
            try:
                self.reserving.confirm(self.shop.workspace_id, reservation, now=self.clock)
                confirmed = True
            except ReservationNotHeld:
                confirmed = False
            assert confirmed == expected
            if confirmed and status == "held":
                for key, units in lines.items():
                    self.committed[key] += units
                self.holds[reservation] = ("confirmed", expires_at, lines)

        @rule(reservation=consumes(reservations))
        def release(self, reservation: str) -> None:
            if reservation == "refused":
                return
            status, expires_at, lines = self.holds[reservation]
            try:
                self.reserving.release(self.shop.workspace_id, reservation, now=self.clock)
                released = True
            except ReservationNotHeld:
                released = False
            assert released == (status != "confirmed")
            if released:
                self.holds[reservation] = ("released", expires_at, lines)

        @rule(reservation=consumes(reservations), ship=st.booleans())
        def close(self, reservation: str, ship: bool) -> None:
            """Fulfil (ship) or cancel a confirmed reservation."""
            if reservation == "refused":
                return
            status, expires_at, lines = self.holds[reservation]
            if status != "confirmed":
                try:
                    self.reserving.cancel_reservation(self.shop.workspace_id, reservation)
                    raise AssertionError("only a confirmed reservation can be cancelled")
                except ReservationNotHeld:
                    return
            if ship:
                expected = all(self.on_hand[key] >= units for key, units in lines.items())
                try:
                    self.reserving.fulfil_reservation(
                        self.shop.workspace_id, reservation, now=self.clock
                    )
                    shipped = True
                except InsufficientStock:
                    shipped = False
                assert shipped == expected
                if not shipped:
                    return
                for key, units in lines.items():
                    self.on_hand[key] -= units
            else:
                self.reserving.cancel_reservation(
                    self.shop.workspace_id, reservation, now=self.clock
                )
            for key, units in lines.items():
                self.committed[key] -= units
            self.holds[reservation] = ("closed", expires_at, lines)

        # Invariants -----------------------------------------------------------------------

        @invariant()
        def balances_match_the_model_and_the_ledger(self) -> None:
            balances = session.scalars(
                select(StockBalance)
                .where(StockBalance.workspace_id == self.shop.workspace_id)
                .execution_options(populate_existing=True)
            ).all()
            skus = {v: k for k, v in self.shop.variants.items()}
            codes = {v: k for k, v in self.shop.locations.items()}
            for b in balances:
                key = (skus[b.variant_id], codes[b.location_id])
                assert min(b.on_hand, b.reserved, b.committed, b.incoming, b.damaged) >= 0
                assert (b.on_hand, b.committed) == (self.on_hand[key], self.committed[key])
            assert self.verifier.verify(self.shop.workspace_id, now=self.clock).drift == []

        @invariant()
        def sellable_is_what_the_model_says(self) -> None:
            ids = [self.shop.variants[s] for s in ("SERUM", "CREAM", "KIT")]
            locations = [self.shop.locations[loc] for loc in LOCATIONS]
            sellable = self.stock.sellable_by_location(
                self.shop.workspace_id, ids, locations, now=self.clock
            )
            for loc in LOCATIONS:
                free = {sku: max(0, self.available(sku, loc)) for sku in SKUS}
                kit = min(free[sku] // per for sku, per in KIT.items())
                assert (
                    sellable[(self.shop.variants["SERUM"], self.shop.locations[loc])]
                    == free["SERUM"]
                )
                assert (
                    sellable[(self.shop.variants["CREAM"], self.shop.locations[loc])]
                    == free["CREAM"]
                )
                assert sellable[(self.shop.variants["KIT"], self.shop.locations[loc])] == kit

    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
