"""Reservations and their lines: claimed by idempotency key, moved between states with the
lines locked, and expired holds found (SKIP LOCKED) and marked."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select, update

from tessera.inventory.repository.base import InventoryRepositoryBase, Pair, pairs_clause
from tessera.models.inventory import Reservation, ReservationLine, ReservationStatus


class MovedLine(NamedTuple):
    """A reservation line that changed state, with the units it moves."""

    line_id: str
    variant_id: str
    location_id: str
    quantity: int


class HeldLine(NamedTuple):
    """A live hold's units of one variant at one location, with its checkout's channel."""

    reservation_id: str
    channel: str
    variant_id: str
    location_id: str
    quantity: int
    is_backorder: bool
    expires_at: datetime


class ExpiredLine(NamedTuple):
    """A held line marked expired, with the units it gives back."""

    line_id: str
    workspace_id: str
    reservation_id: str
    variant_id: str
    location_id: str
    quantity: int


_INSERT_LINES = ReservationLine.__table__.insert()  # type: ignore[attr-defined]


class ReservationRepository(InventoryRepositoryBase):
    def claim_reservation(self, values: dict[str, Any]) -> bool:
        """Insert the reservation unless its idempotency key is used; True if inserted."""
        return bool(
            self.insert_ignoring(Reservation, [values], ("workspace_id", "idempotency_key"), "id")
        )

    def reservation(self, workspace_id: str, reservation_id: str) -> Reservation | None:
        return self.session.scalar(
            select(Reservation)
            .where(Reservation.workspace_id == workspace_id, Reservation.id == reservation_id)
            .execution_options(populate_existing=True)
        )

    def reservation_by_key(self, workspace_id: str, key: str) -> Reservation | None:
        return self.session.scalar(
            select(Reservation).where(
                Reservation.workspace_id == workspace_id, Reservation.idempotency_key == key
            )
        )

    def held_reservation_for_order(self, workspace_id: str, order_ref: str) -> Reservation | None:
        return self.session.scalar(
            select(Reservation)
            .where(
                Reservation.workspace_id == workspace_id,
                Reservation.order_ref == order_ref,
                Reservation.status == ReservationStatus.HELD,
            )
            .order_by(Reservation.id)
            .limit(1)
        )

    def reservations_for_order(self, workspace_id: str, order_ref: str) -> Sequence[Reservation]:
        """Every reservation naming the order, whatever its status, oldest first."""
        return self.session.scalars(
            select(Reservation)
            .where(Reservation.workspace_id == workspace_id, Reservation.order_ref == order_ref)
            .order_by(Reservation.id)
        ).all()

    def reservations(
        self,
        workspace_id: str,
        before_id: str | None,
        limit: int,
        status: ReservationStatus | None,
    ) -> Sequence[Reservation]:
        query = select(Reservation).where(Reservation.workspace_id == workspace_id)
        if before_id:
            query = query.where(Reservation.id < before_id)
        if status is not None:
            query = query.where(Reservation.status == status)
        return self.session.scalars(query.order_by(Reservation.id.desc()).limit(limit)).all()

    def reservation_lines(self, reservation_ids: Collection[str]) -> Sequence[ReservationLine]:
        if not reservation_ids:
            return []
        return self.session.scalars(
            select(ReservationLine)
            .where(ReservationLine.reservation_id.in_(reservation_ids))
            .order_by(ReservationLine.variant_id, ReservationLine.location_id)
            .execution_options(populate_existing=True)
        ).all()

    def insert_reservation_lines(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(_INSERT_LINES, list(rows))

    def move_lines(
        self,
        reservation_id: str,
        from_status: ReservationStatus,
        to_status: ReservationStatus,
        unexpired_at: datetime | None = None,
    ) -> list[MovedLine]:
        """Move the reservation's lines in ``from_status`` (and, with ``unexpired_at``, not
        expired then) to ``to_status``, locking them; returns them, by line id."""
        t = ReservationLine
        conditions = [t.reservation_id == reservation_id, t.status == from_status]
        if unexpired_at is not None:
            conditions.append(t.expires_at > unexpired_at)
        rows = self.session.execute(
            update(t)
            .where(*conditions)
            .values(status=to_status)
            .returning(t.id, t.variant_id, t.location_id, t.quantity)
            .execution_options(synchronize_session=False)
        ).all()
        return sorted(
            MovedLine(str(r.id), str(r.variant_id), str(r.location_id), int(r.quantity))
            for r in rows
        )

    def set_reservation_status(
        self,
        reservation_id: str,
        from_status: ReservationStatus,
        to_status: ReservationStatus,
        now: datetime,
        order_ref: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": to_status, "updated_at": now}
        if order_ref is not None:
            values["order_ref"] = order_ref
        result = self.session.execute(
            update(Reservation)
            .where(Reservation.id == reservation_id, Reservation.status == from_status)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # Expired holds ------------------------------------------------------------------------

    def lock_expired_lines(
        self,
        now: datetime,
        workspace_id: str | None = None,
        pairs: Collection[Pair] | None = None,
        limit: int = 500,
    ) -> list[str]:
        """Ids of held lines whose hold ran out, locked. Lines another transaction holds are
        skipped (SKIP LOCKED): whoever holds them is releasing or expiring them already."""
        t = ReservationLine
        query = select(t.id).where(t.status == ReservationStatus.HELD, t.expires_at <= now)
        if workspace_id is not None:
            query = query.where(t.workspace_id == workspace_id)
        if pairs is not None:
            if not pairs:
                return []
            query = query.where(pairs_clause(pairs, t.variant_id, t.location_id))
        query = query.order_by(t.id).limit(limit)
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [str(i) for i in self.session.scalars(query)]

    def mark_expired(self, ids: Collection[str]) -> list[ExpiredLine]:
        """Mark these held lines expired; returns those that were still held, by line id."""
        if not ids:
            return []
        t = ReservationLine
        rows = self.session.execute(
            update(t)
            .where(t.id.in_(ids), t.status == ReservationStatus.HELD)
            .values(status=ReservationStatus.EXPIRED)
            .returning(
                t.id, t.workspace_id, t.reservation_id, t.variant_id, t.location_id, t.quantity
            )
            .execution_options(synchronize_session=False)
        ).all()
        return sorted(
            ExpiredLine(
                str(r.id),
                str(r.workspace_id),
                str(r.reservation_id),
                str(r.variant_id),
                str(r.location_id),
                int(r.quantity),
            )
            for r in rows
        )

    def expire_reservations(self, reservation_ids: Collection[str], now: datetime) -> None:
        """Reservations whose lines are all expired become expired."""
        if not reservation_ids:
            return
        still_held = select(ReservationLine.id).where(
            ReservationLine.reservation_id == Reservation.id,
            ReservationLine.status == ReservationStatus.HELD,
        )
        self.session.execute(
            update(Reservation)
            .where(
                Reservation.id.in_(reservation_ids),
                Reservation.status == ReservationStatus.HELD,
                ~still_held.exists(),
            )
            .values(status=ReservationStatus.EXPIRED, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    def expired_held_units(
        self, workspace_id: str, pairs: Collection[Pair] | None, now: datetime
    ) -> dict[Pair, int]:
        """Units still counted in reserved whose hold has run out (not swept yet)."""
        t = ReservationLine
        query = select(t.variant_id, t.location_id, func.sum(t.quantity).label("units")).where(
            t.workspace_id == workspace_id,
            t.status == ReservationStatus.HELD,
            t.expires_at <= now,
        )
        if pairs is not None:
            if not pairs:
                return {}
            query = query.where(pairs_clause(pairs, t.variant_id, t.location_id))
        rows = self.session.execute(query.group_by(t.variant_id, t.location_id)).all()
        return {(str(r.variant_id), str(r.location_id)): int(r.units) for r in rows}

    def live_held_lines(
        self,
        workspace_id: str,
        now: datetime,
        limit: int,
        pairs: Collection[Pair] | None = None,
        location_id: str | None = None,
    ) -> list[HeldLine]:
        """Holds not run out yet on these balances, or at this location, newest first."""
        t, r = ReservationLine, Reservation
        query = (
            select(t.reservation_id, r.channel, t.variant_id, t.location_id, t.quantity,
                   t.is_backorder, t.expires_at)
            .join(r, r.id == t.reservation_id)
            .where(t.workspace_id == workspace_id, t.status == ReservationStatus.HELD,
                   t.expires_at > now)
        )  # fmt: skip
        if pairs is not None:
            if not pairs:
                return []
            query = query.where(pairs_clause(pairs, t.variant_id, t.location_id))
        if location_id is not None:
            query = query.where(t.location_id == location_id)
        rows = self.session.execute(query.order_by(t.id.desc()).limit(limit)).all()
        return [
            HeldLine(str(x.reservation_id), str(x.channel), str(x.variant_id),
                     str(x.location_id), int(x.quantity), bool(x.is_backorder), x.expires_at)
            for x in rows
        ]  # fmt: skip

    def line_sums(self, workspace_id: str, status: ReservationStatus) -> dict[Pair, int]:
        """Units of the workspace's lines in ``status``, per balance."""
        t = ReservationLine
        rows = self.session.execute(
            select(t.variant_id, t.location_id, func.sum(t.quantity).label("units"))
            .where(t.workspace_id == workspace_id, t.status == status)
            .group_by(t.variant_id, t.location_id)
        ).all()
        return {(str(r.variant_id), str(r.location_id)): int(r.units) for r in rows}
