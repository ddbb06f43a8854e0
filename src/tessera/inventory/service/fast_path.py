"""A reservation's fast path on PostgreSQL: the common case in one statement (ADR 0011).

The common case is plain variants all available at the channel's first eligible location,
no pickup, no expired hold there to release, and routing that does not depend on the
destination. ``reserve_in_transaction`` runs the statement in the caller's transaction, in a
savepoint; ``reserve_alone`` runs it autocommitted on a connection of the companion engine
(``repository.fast_path.reserve_alone``, ADR 0018), for a caller whose transaction holds
nothing the reservation must commit or roll back with. Either gives exactly what the general
path (``ReservationService``'s planned reservation, the reference) gives in this case, or
returns None having written nothing, and then the general path decides: every refusal, and
every case the statement does not cover, is the general path's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, configure_mappers

from tessera.inventory.repository.fast_path import FastPathRepository, Taken, reserve_alone
from tessera.inventory.schemas import ReservationIn
from tessera.inventory.service.ledger import AVAILABILITY_CHANGED
from tessera.job.domain import DEFAULT_PRIORITY as JOB_PRIORITY
from tessera.job.service import JobService
from tessera.kit.ids import new_id
from tessera.models.inventory import Reservation, ReservationLine, ReservationStatus

_T = TypeVar("_T")


class ReservationFastPath:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = FastPathRepository(session)

    def reserve_in_transaction(
        self, workspace_id: str, data: ReservationIn, now: datetime
    ) -> tuple[Reservation, list[ReservationLine]] | None:
        """The reservation in one statement in the caller's transaction, or None (nothing
        written) for the general path.

        Gives what the general path gives in this case: with enough of every variant at the
        first location, ``plan_takes`` takes it all there (fewest shipments or not), without
        backorder, and releases no hold on the balances it touches (there is none).
        """
        values, reservation, held = self._statement(workspace_id, data, now)
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

    def reserve_alone(
        self, engine: Engine, workspace_id: str, data: ReservationIn, now: datetime
    ) -> tuple[Reservation, list[ReservationLine]] | None:
        """The reservation in one statement run alone on an autocommitting connection of
        ``engine``'s companion, or None (nothing at all written) for the general path.

        A single statement is its own transaction, as atomic as any: it saves the session's
        BEGIN, COMMIT, pre-ping and client work, and holds the balance rows only while it
        runs. So it is made (committed) when this returns, whatever the caller's session does
        next: only for a caller with nothing to commit or roll back with it.
        """
        values, reservation, held = self._statement(workspace_id, data, now)
        taken = reserve_alone(engine, values)
        if taken is None:
            return None
        return _held_at(taken, reservation, held)

    def _statement(
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
    taken: Taken, reservation: Reservation, held: dict[str, ReservationLine]
) -> tuple[Reservation, list[ReservationLine]]:
    """The one statement's reservation: its lines at the location it chose, by variant."""
    for line_id, line in held.items():
        line.__dict__.update(
            variant_id=taken.variant_of_line[line_id], location_id=taken.location_id
        )
    return reservation, sorted(held.values(), key=lambda line: line.variant_id)
