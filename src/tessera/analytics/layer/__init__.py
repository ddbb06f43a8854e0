"""Measure's analytics layer: canonical tables and one Ibis expression per metric.

Analytics reads everything. It is the documented exception to "another domain's tables only
through its service": ``tables`` names the orders, order lines, events, identifiers and
profiles of the application directly, read-only, so each metric is one query that runs on
the application's database (SQLite or PostgreSQL) and, after ``tessera analytics export``
wrote the canonical tables to Parquet, on DuckDB (or Spark) without a line changed.
"""

from tessera.analytics.layer.tables import TABLE_NAMES, Tables, export, from_parquet, from_session

__all__ = ["TABLE_NAMES", "Tables", "export", "from_parquet", "from_session"]
