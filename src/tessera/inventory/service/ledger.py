"""The one way inventory's counters change, shared by every inventory service.

Every change of a counter is a ``Change``: a ledger entry with an idempotency key and the
deltas it applies to one balance. ``StockLedger.apply`` inserts the entries whose keys are new
(``INSERT ... ON CONFLICT DO NOTHING``) and applies each one's deltas with one conditional
UPDATE whose row count decides; a change already applied (same key) is skipped, a change the
balance cannot take raises and the whole operation rolls back. Changes are applied in
(variant, location) order, the order every writer uses, so concurrent writers never deadlock.

Holds expire logically: a reservation's lines carry ``expires_at``, reads count expired holds
as free, and every operation that takes available units first releases the expired holds on
the balances it touches (``StockLedger.expire_on``), so an expired hold never blocks stock
whether or not the sweeper (``stock.holds_expired``) has run. Whatever can change what a
channel may sell enqueues one ``stock.availability_changed`` job in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, SessionTransaction

from tessera.inventory import domain
from tessera.inventory.errors import InsufficientStock
from tessera.inventory.repository.base import COUNTERS, Pair
from tessera.inventory.repository.reservations import ExpiredLine, ReservationRepository
from tessera.inventory.repository.stock import StockRepository
from tessera.job.service import JobService
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow
from tessera.models.inventory import LedgerReason, StockBalance

AVAILABILITY_CHANGED = "stock.availability_changed"
# Counters that change what a channel may sell (incoming does not).
SELLABLE_COUNTERS = ("on_hand", "reserved", "committed", "damaged", "safety")


@dataclass(frozen=True, slots=True)
class Change:
    """One ledger entry to write and the deltas it applies to one balance. ``key`` is its
    idempotency key; ``need_available`` units must be available before it applies."""

    variant_id: str
    location_id: str
    reason: LedgerReason
    key: str
    source_type: str
    source_id: str | None
    deltas: dict[str, int]
    need_available: int = 0
    note: str | None = None


@dataclass
class Refused(Exception):
    """A balance could not take ``change``; the caller rolls back what it wrote."""

    change: Change


class StockLedger:
    """Writes ``Change``s: ledger entries and their guarded counter updates, in the one order."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.stock = StockRepository(session)
        self.reservations = ReservationRepository(session)

    def apply(self, workspace_id: str, changes: Sequence[Change], now: datetime) -> list[Change]:
        """Write the ledger entries and apply their deltas, in (variant, location) order;
        returns the changes applied.

        Entries whose key is already in the ledger are skipped (applied before). Raises
        ``Refused`` when a balance cannot take its change; the caller rolls back.
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
        new_keys = self.stock.insert_ledger(rows)
        applied = [c for c in ordered if c.key in new_keys]
        for change in applied:
            if not self.stock.apply_delta(
                workspace_id,
                change.variant_id,
                change.location_id,
                change.deltas,
                change.need_available,
                now,
            ):
                raise Refused(change)
        return applied

    def apply_or_refuse(
        self, workspace_id: str, changes: Sequence[Change], now: datetime, refusal: str
    ) -> list[Change]:
        """``apply`` inside a savepoint: a refused change leaves no ledger entry behind and
        raises ``InsufficientStock`` with ``refusal`` (409)."""
        savepoint = self.session.begin_nested()
        try:
            applied = self.apply(workspace_id, changes, now)
        except Refused as exc:
            savepoint.rollback()
            raise InsufficientStock(
                refusal,
                variant_id=exc.change.variant_id,
                location_id=exc.change.location_id,
            ) from None
        savepoint.commit()
        return applied

    def run(
        self,
        workspace_id: str,
        changes: Sequence[Change],
        refusal: str,
        now: datetime | None = None,
    ) -> bool:
        """A stock operation's changes: balances made where missing, the expired holds on the
        balances it takes units from released with them, and the channels told. Refuses
        (409, ``refusal``) a change the balance cannot take, and then the expired holds stay
        as they were. False if every change was applied before (the same keys)."""
        now = now or utcnow()
        self.stock.ensure_balances(
            workspace_id, [(c.variant_id, c.location_id) for c in changes], now
        )
        guarded = {(c.variant_id, c.location_id) for c in changes if c.need_available}
        expired, marked = self.expire_on(workspace_id, guarded, now) if guarded else ([], None)
        try:
            applied = self.apply_or_refuse(
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
            self.reservations.expire_reservations(
                {c.source_id for c in expired if c.source_id}, now
            )
            marked.commit()
        self.notify(workspace_id, applied, now)
        return bool([c for c in applied if c not in expired])

    def run_moves(
        self, workspace_id: str, changes: Sequence[Change], now: datetime, refusal: str = ""
    ) -> None:
        """Changes that move units a reservation already holds between counters; refuses
        (409) when the balance no longer holds them."""
        applied = self.apply_or_refuse(
            workspace_id, changes, now, refusal or "the balance no longer holds these units"
        )
        self.notify(workspace_id, applied, now)

    def notify(self, workspace_id: str, applied: Iterable[Change], now: datetime) -> None:
        """Tell the channels about the variants whose sellable counters these changes moved."""
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

    def expire_on(
        self, workspace_id: str, pairs: Collection[Pair], now: datetime
    ) -> tuple[list[Change], SessionTransaction | None]:
        """Mark the expired holds on these balances expired and return the changes that
        release them (applied with the caller's own, in the one order), with the savepoint
        that marking opened: the caller rolls it back if its own change is refused."""
        ids = self.reservations.lock_expired_lines(now, workspace_id, pairs)
        if not ids:
            return [], None
        savepoint = self.session.begin_nested()
        return [expire_change(line) for line in self.reservations.mark_expired(ids)], savepoint


def expire_change(line: ExpiredLine) -> Change:
    """The change that gives an expired hold's units back."""
    return Change(
        line.variant_id,
        line.location_id,
        LedgerReason.EXPIRE,
        f"{line.line_id}:expire",
        "reservation",
        line.reservation_id,
        {"reserved": -line.quantity},
    )


def available(balance: StockBalance) -> int:
    """What a balance can still promise (before expired holds are counted as free)."""
    return domain.available(
        balance.on_hand, balance.reserved, balance.committed, balance.damaged, balance.safety
    )
