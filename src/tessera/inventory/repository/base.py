"""What every inventory repository shares: the counters, the (variant, location) pair, the
one lock order and the conflict-ignoring insert built once per dialect.

Rows that must be read before they are changed are locked in (variant_id, location_id)
code-point order, the order every writer uses (``lock_order``), so two writers never wait on
each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.dialects import postgresql, sqlite

from tessera.db.base import RepositoryBase
from tessera.models.inventory import StockBalance

COUNTERS = ("on_hand", "reserved", "committed", "incoming", "damaged", "safety")
Pair = tuple[str, str]  # (variant_id, location_id)

_INSERT_STATEMENTS: dict[tuple[str, str, str | None], Any] = {}


def pairs_clause(pairs: Collection[Pair], variant: Any, location: Any) -> Any:
    """``(variant, location) IN pairs`` as the database can use an index for it."""
    variants = {v for v, _ in pairs}
    locations = {loc for _, loc in pairs}
    if len(variants) == 1 or len(locations) == 1:  # the common case: one index range
        return and_(variant.in_(variants), location.in_(locations))
    return or_(*(and_(variant == v, location == loc) for v, loc in sorted(pairs)))


class InventoryRepositoryBase(RepositoryBase):
    """The session, the dialect, and the two helpers every inventory repository uses."""

    def insert_ignoring(
        self, model: Any, rows: Sequence[dict[str, Any]], conflict: tuple[str, ...], returning: str
    ) -> list[Any]:
        """``insert_ignoring_conflicts`` with the statement built once per dialect: returns
        the ``returning`` column of the rows inserted."""
        if not rows:
            return []
        key = (self.dialect, model.__tablename__, returning)
        statement = _INSERT_STATEMENTS.get(key)
        if statement is None:
            module: Any = postgresql if self.dialect == "postgresql" else sqlite
            table = model.__table__
            statement = (
                module.insert(table)
                .on_conflict_do_nothing(index_elements=list(conflict))
                .returning(table.c[returning])
            )
            _INSERT_STATEMENTS[key] = statement
        return [row[0] for row in self.session.execute(statement, list(rows))]

    def lock_order(self) -> tuple[Any, Any]:
        """(variant, location) in code-point order, the order Python sorts changes in, whatever
        the database's collation (en_US would order some ids differently)."""
        if self.dialect == "postgresql":
            return (
                StockBalance.variant_id.collate("C"),
                StockBalance.location_id.collate("C"),
            )
        return (StockBalance.variant_id, StockBalance.location_id)
