"""A bulk stitch refreshes the graph's planner statistics (PostgreSQL)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.identity.graph.repository import ANALYZE_MIN_ROWS, IdentityRepository


def test_a_large_batch_analyses_the_columns_the_graph_queries_use(session: Session) -> None:
    repository = IdentityRepository(session)
    ran = repository.refresh_statistics(ANALYZE_MIN_ROWS * 1000)
    # PostgreSQL runs every ANALYZE (named columns must exist); SQLite has nothing to do.
    assert ran == (session.get_bind().dialect.name == "postgresql")
    assert repository.refresh_statistics(ANALYZE_MIN_ROWS - 1) is False
