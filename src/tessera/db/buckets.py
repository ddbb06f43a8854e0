"""Time buckets computed in the database, the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, cast, func
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def hour_number(session: Session, column: Any) -> ColumnElement[int]:
    """Whole hours since the Unix epoch of a ``UTCDateTime`` column.

    SQLite keeps UTC wall time as text (``tessera.db.types.UTCDateTime``), which ``strftime('%s')``
    reads as UTC; PostgreSQL's ``extract(epoch)`` of a ``timestamptz`` is zone-free.
    """
    if session.get_bind().dialect.name == "sqlite":
        seconds: ColumnElement[int] = cast(func.strftime("%s", column), Integer)
        return seconds // 3600
    return cast(func.floor(func.extract("epoch", column) / 3600), Integer)
