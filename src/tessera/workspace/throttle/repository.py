"""Every SQL statement of sign-in throttling (ADR 0016), beside ``repository.py`` because the
throttle is a concern of its own with a transaction of its own.

Each counter changes in one conditional statement whose result decides (DESIGN: never read,
add in Python, write back), so any number of server processes share the limits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, case, delete, literal, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tessera.db.base import RepositoryBase
from tessera.db.types import UTCDateTime
from tessera.models.workspace import LoginAttempt

_TABLE: Table = LoginAttempt.__table__  # type: ignore[assignment]


class ThrottleRepository(RepositoryBase):
    def admit(
        self, key: str, now: datetime, window_cutoff: datetime, limit: int, block_until: datetime
    ) -> int | None:
        """Count one attempt against ``key`` unless it is blocked; returns the attempt's number
        in the key's window, or None when refused (nothing is written then).

        One ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING``: a new key starts a
        window; a key whose window began at or before ``window_cutoff``, or whose block is
        over, starts a new one; otherwise the count goes up by one. The attempt that brings
        the count to ``limit`` sets ``blocked_until``. A key blocked past ``now`` is not
        updated and returns no row. On PostgreSQL the row stays locked until commit either
        way, so concurrent attempts against one key are counted one after another.
        """
        current = _TABLE.c
        starts_over = or_(
            current.window_started_at <= window_cutoff, current.blocked_until.is_not(None)
        )
        count = case((starts_over, 1), else_=current.attempt_count + 1)
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        statement = (
            module.insert(_TABLE)
            .values(
                key=key,
                window_started_at=now,
                attempt_count=1,
                blocked_until=block_until if limit <= 1 else None,
            )
            .on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "window_started_at": case(
                        (starts_over, literal(now, UTCDateTime())),
                        else_=current.window_started_at,
                    ),
                    "attempt_count": count,
                    "blocked_until": case(
                        (count >= limit, literal(block_until, UTCDateTime())), else_=null()
                    ),
                },
                where=or_(current.blocked_until.is_(None), current.blocked_until <= now),
            )
            .returning(current.attempt_count)
        )
        number: int | None = self.session.execute(statement).scalar_one_or_none()
        return number

    def blocked_until(self, key: str) -> datetime | None:
        return self.session.scalar(
            select(LoginAttempt.blocked_until).where(LoginAttempt.key == key)
        )

    def forget(self, key: str) -> None:
        """Drop ``key``'s counter (a successful sign-in clears its account's)."""
        self.session.execute(delete(LoginAttempt).where(LoginAttempt.key == key))

    def uncount(self, key: str, counted_at: datetime) -> None:
        """Take back one attempt counted at ``counted_at`` (it succeeded), and the block it
        may have set: the key then holds one failure fewer than its limit at most. A window
        started after ``counted_at`` did not count it and is left alone."""
        self.session.execute(
            update(LoginAttempt)
            .where(
                LoginAttempt.key == key,
                LoginAttempt.attempt_count > 0,
                LoginAttempt.window_started_at <= counted_at,
            )
            .values(attempt_count=LoginAttempt.attempt_count - 1, blocked_until=None)
        )

    def prune(self, window_cutoff: datetime, now: datetime, batch: int) -> int:
        """Delete up to ``batch`` rows whose window began at or before ``window_cutoff`` and
        whose block, if any, is over; returns how many. Rows another transaction holds are
        skipped (``SKIP LOCKED`` on PostgreSQL), so pruning never waits for, nor deadlocks
        with, an attempt being counted."""
        expired = (
            select(LoginAttempt.key)
            .where(
                LoginAttempt.window_started_at <= window_cutoff,
                or_(LoginAttempt.blocked_until.is_(None), LoginAttempt.blocked_until <= now),
            )
            .order_by(LoginAttempt.window_started_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        result = self.session.execute(
            delete(LoginAttempt).where(LoginAttempt.key.in_(expired.scalar_subquery()))
        )
        deleted: int = result.rowcount  # type: ignore[attr-defined]
        return deleted
