"""Statements whose SQL differs between SQLite and PostgreSQL, written once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tessera.db.base import Base


def insert_ignoring_conflicts(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
    returning: str | None = None,
) -> list[Any]:
    """``INSERT ... ON CONFLICT (cols) DO NOTHING``; returns the ``returning`` column of the
    rows actually inserted (an empty list when ``returning`` is None).

    A unique constraint decides, so concurrent writers of the same key insert it once.
    """
    if not rows:
        return []
    table: Table = model.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    if returning is None:
        session.execute(statement, list(rows))
        return []
    statement = statement.returning(table.c[returning])
    result = session.execute(statement, list(rows))
    return [row[0] for row in result]
