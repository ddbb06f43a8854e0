"""Verification: every balance recomputed from the ledger (the record), and reserved and
committed checked against the holds and orders that should account for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tessera.inventory.repository.base import COUNTERS
from tessera.inventory.repository.reservations import ReservationRepository
from tessera.inventory.repository.routing import RoutingRepository
from tessera.inventory.repository.stock import StockRepository
from tessera.inventory.service.ledger import StockLedger
from tessera.kit.time import utcnow
from tessera.models.inventory import ReservationStatus


@dataclass(frozen=True, slots=True)
class DriftItem:
    """A counter that differs from what ``source`` (ledger, holds or orders) says it is."""

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


class VerifyService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = StockRepository(session)
        self.reservations = ReservationRepository(session)
        self.routing = RoutingRepository(session)
        self.changes = StockLedger(session)

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
        Refuses nothing; a balance whose ledger sums would put a counter below zero is reported
        but not repaired, since no balance may hold a negative count.
        """
        now = now or utcnow()
        sums = self.repository.ledger_sums(workspace_id)
        if repair:
            self.repository.ensure_balances(workspace_id, sums, now)
        balances = self.repository.balances_where(workspace_id, locked=repair)
        drift: list[DriftItem] = []
        repaired = 0
        held = self.reservations.line_sums(workspace_id, ReservationStatus.HELD)
        confirmed = self.reservations.line_sums(workspace_id, ReservationStatus.CONFIRMED)
        open_orders = self.routing.open_allocation_units(workspace_id)
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
            variants = {d.variant_id for d in drift}
            self.changes.notify_availability_changed(workspace_id, variants, now)
        return VerifyReport(len(balances), drift, repaired)
