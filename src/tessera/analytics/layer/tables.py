"""The canonical tables every metric reads, from the app's database or from Parquet files.

Four tables, one workspace each, the same columns on every backend:

- ``orders``: one row per order that was not cancelled: ``order_id``, ``customer_id`` (the
  profile the identity graph links the order to, null when none), ``channel``,
  ``location_ref``, ``placed_at`` (UTC, no zone), ``total``, ``refunded_total``,
  ``net_total`` (minor units), ``currency``.
- ``order_lines``: ``order_id``, ``sku``, ``quantity``, ``total``.
- ``events``: every tracked event except the ones the order service emits (orders are read
  from ``orders``): ``event_id``, ``customer_id`` (through the user id, else the anonymous
  id), ``type``, ``name``, ``channel``, ``source_id``, ``at``, and as JSON text the
  context's ``campaign`` (the UTM tags) and ``page`` (its referrer), and ``properties``. JSON
  is text because each backend spells JSON paths differently and Ibis's SQLite reading of a
  string inside JSON fails; the reports parse the three small documents in Python.
- ``profiles``: active profiles: ``customer_id``, ``first_seen``.

This module is Measure's repository: the one place that names the application's tables, and
the documented exception to "another domain's tables only through its service", because
analytics reads everything. The expressions are Ibis, so the same ones run on SQLite,
PostgreSQL and (after ``export``) DuckDB over Parquet, or any backend Ibis has.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

TABLE_NAMES = ("orders", "order_lines", "events", "profiles")
ORDER_EVENT_PREFIX = "order:"


@dataclass(frozen=True)
class Tables:
    """The four canonical tables as Ibis expressions, and the backend that runs them."""

    orders: ir.Table
    order_lines: ir.Table
    events: ir.Table
    profiles: ir.Table
    backend: Any

    def named(self) -> dict[str, ir.Table]:
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def run(self, expression: ir.Table) -> list[dict[str, Any]]:
        """The expression's rows, as Python values, in the backend's order."""
        rows: list[dict[str, Any]] = self.backend.to_pyarrow(expression).to_pylist()
        return rows


def _application_tables(time: str, document: str) -> dict[str, ir.Table]:
    """The columns Measure reads of the application's tables, declared rather than looked up:
    Ibis's SQLite backend commits the connection after reading a schema, which would end the
    caller's transaction."""
    declared = {
        "sales_order": {
            "id": "string", "workspace_id": "string", "channel": "string",
            "location_ref": "string", "status": "string", "is_cancelled": "boolean",
            "currency": "string", "total": "int64", "refunded_total": "int64",
            "placed_at": time,
        },
        "order_line": {"order_id": "string", "sku": "string", "quantity": "int64",
                       "total": "int64"},
        "event": {
            "id": "string", "workspace_id": "string", "message_id": "string", "type": "string",
            "event": "string", "user_id": "string", "anonymous_id": "string",
            "channel": "string", "source_id": "string", "timestamp": time, "payload": document,
        },
        "identifier": {"workspace_id": "string", "type": "string", "value": "string",
                       "profile_id": "string"},
        "profile": {"id": "string", "workspace_id": "string", "status": "string",
                    "first_seen": time},
    }  # fmt: skip
    return {name: ibis.table(columns, name=name) for name, columns in declared.items()}


def connect_session(session: Session) -> Any:
    """An Ibis backend on the session's own connection, so it reads inside the session's
    transaction (a request sees what it wrote; a test's rolled-back rows are visible)."""
    connection = session.connection().connection.driver_connection
    if isinstance(connection, sqlite3.Connection):
        return ibis.sqlite.from_connection(connection)
    return ibis.postgres.from_connection(connection)


def _utc(column: Any, backend: str) -> Any:
    """A timestamp as UTC wall time without a zone (SQLite already stores it so)."""
    if backend == "sqlite":
        return column
    return column.cast("timestamp")


def _text(value: Any) -> Any:
    """A JSON value as its JSON text (null when absent), the same on every backend."""
    return value.cast("string")


def from_session(session: Session, workspace_id: str) -> Tables:
    """The canonical tables of one workspace, read from the application's database."""
    con = connect_session(session)
    backend = con.name
    if backend == "sqlite":
        raw = _application_tables("timestamp", "json")
    else:
        raw = _application_tables("timestamp('UTC')", "jsonb")
    order, line, event = raw["sales_order"], raw["order_line"], raw["event"]
    identifier, profile = raw["identifier"], raw["profile"]

    ids = identifier.filter(identifier.workspace_id == workspace_id)
    order_link = ids.filter(ids.type == "order").select(
        link_value=ids.value, link_profile=ids.profile_id
    )
    mine = order.filter(
        order.workspace_id == workspace_id,
        ~order.is_cancelled,
        order.status != "cancelled",
    )
    orders = mine.left_join(order_link, mine.id == order_link.link_value).select(
        order_id=mine.id,
        customer_id=order_link.link_profile,
        channel=mine.channel,
        location_ref=mine.location_ref,
        placed_at=_utc(mine.placed_at, backend),
        total=mine.total.cast("int64"),
        refunded_total=mine.refunded_total.cast("int64"),
        net_total=(mine.total - mine.refunded_total).cast("int64"),
        currency=mine.currency,
    )
    order_lines = line.join(orders.select("order_id"), line.order_id == orders.order_id).select(
        order_id=line.order_id,
        sku=line.sku,
        quantity=line.quantity.cast("int64"),
        total=line.total.cast("int64"),
    )

    users = ids.filter(ids.type == "user_id").select(
        user_value=ids.value, user_profile=ids.profile_id
    )
    devices = ids.filter(ids.type == "anonymous_id").select(
        device_value=ids.value, device_profile=ids.profile_id
    )
    tracked = event.filter(
        event.workspace_id == workspace_id, ~event.message_id.startswith(ORDER_EVENT_PREFIX)
    )
    joined = tracked.left_join(users, tracked.user_id == users.user_value).left_join(
        devices, tracked.anonymous_id == devices.device_value
    )
    payload = joined.payload
    context = payload["context"]
    events = joined.select(
        event_id=joined.id,
        customer_id=ibis.coalesce(joined.user_profile, joined.device_profile),
        type=joined.type,
        name=joined.event,
        channel=joined.channel,
        source_id=joined.source_id,
        at=_utc(joined.timestamp, backend),
        campaign=_text(context["campaign"]),
        page=_text(context["page"]),
        properties=_text(payload["properties"]),
    )
    profiles = profile.filter(
        profile.workspace_id == workspace_id, profile.status == "active"
    ).select(customer_id=profile.id, first_seen=_utc(profile.first_seen, backend))
    return Tables(orders, order_lines, events, profiles, con)


def export(tables: Tables, directory: Path) -> dict[str, int]:
    """Write each canonical table to ``directory/<name>.parquet``; the rows written per table."""
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for name, table in tables.named().items():
        arrow = tables.backend.to_pyarrow(table)
        pq.write_table(arrow, directory / f"{name}.parquet")
        written[name] = arrow.num_rows
    return written


def from_parquet(directory: Path) -> Tables:
    """The canonical tables as ``export`` wrote them, read by an in-process DuckDB."""
    con = ibis.duckdb.connect()
    read = {
        name: con.read_parquet(directory / f"{name}.parquet", table_name=name)
        for name in TABLE_NAMES
    }
    return Tables(read["orders"], read["order_lines"], read["events"], read["profiles"], con)
