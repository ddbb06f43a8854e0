"""Worker jobs of stock: the sweeper that releases holds whose time ran out.

Expiry is logical (an expired hold never blocks: reads count it as free and every reservation
releases the expired holds on the balances it touches), so the sweeper only tidies up: it makes
``reserved`` and the channels' numbers match what is really held even where nobody reserves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.inventory.service.reservations import ReservationService
from tessera.job.registry import periodic
from tessera.job.service import JobService

SWEEP_BATCH = 500


@periodic("stock.holds_expired", every=timedelta(seconds=30), priority=50)
def release_expired_holds(session: Session, payload: dict[str, Any]) -> None:
    """Release up to 500 expired holds; a full batch enqueues a follow-up at once. Safe to run
    twice or concurrently: each run claims different lines (SKIP LOCKED), and each release's
    ledger key is unique."""
    released = ReservationService(session).sweep_expired(limit=SWEEP_BATCH)
    if released == SWEEP_BATCH:
        JobService(session).enqueue("stock.holds_expired", {"slot": payload["slot"]}, priority=50)
