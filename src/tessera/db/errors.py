"""Database errors that mean "try again": the same work would succeed a moment later.

PostgreSQL aborts one transaction of a deadlock (40P01) and one of two serializable
transactions that conflict (40001), and refuses a lock after ``lock_timeout`` (55P03); SQLite
gives up on a write lock after its busy timeout ("database is locked"). Nothing of the aborted
transaction was kept, so the caller may run it again: the API answers 503 with Retry-After, a
CLI command says to run it again, a bulk import retries its chunk, and a job is retried by the
worker like any failure.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.exc import DBAPIError

# What a database error can arrive as: wrapped by SQLAlchemy, or straight from a driver's
# cursor (the paths that use psycopg's cursor for speed: the reservation fast path, COPY).
DATABASE_ERRORS: tuple[type[Exception], ...] = (DBAPIError, psycopg.Error, sqlite3.Error)

TRANSIENT_SQLSTATES = {
    "40001": "a serialization failure",
    "40P01": "a deadlock",
    "55P03": "a lock that was not available",
}


def transient_reason(exc: BaseException) -> str | None:
    """What made ``exc`` transient ("a deadlock"...), or None when running again would not help."""
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(original, "sqlstate", None)  # psycopg's errors carry the SQLSTATE
    if isinstance(state, str) and state in TRANSIENT_SQLSTATES:
        return TRANSIENT_SQLSTATES[state]
    if isinstance(original, sqlite3.OperationalError) and "database is locked" in str(original):
        return "a write lock held too long by another writer"
    return None
