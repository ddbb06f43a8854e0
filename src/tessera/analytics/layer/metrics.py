"""Measure's metrics as Ibis expressions over the canonical tables: one function per metric,
the same expression on SQLite, PostgreSQL, DuckDB over Parquet (and Spark).

Every function returns integer counts and sums only; rates are divided in Python (``run``
callers), so backends cannot disagree on float rounding. They stay off what some backend
lacks: no median, quantile or collect (SQLite), no DISTINCT inside a window (SQLite, Spark),
no mode (Spark). Months are UTC calendar months, numbered ``year * 12 + month - 1``.

Cancelled orders are not in ``orders`` (see ``tables``); orders linked to no profile count
in no customer metric.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from tessera.analytics.layer.tables import Tables

OMNICHANNEL = "omnichannel"
SINGLE_CHANNEL = "single_channel"


def month_index(column: Any) -> Any:
    """A timestamp's UTC calendar month as one integer (``year * 12 + month - 1``)."""
    return (column.year() * 12 + column.month() - 1).cast("int64")


def _naive(moment: datetime) -> datetime:
    """UTC wall time without a zone, as the canonical tables hold it."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def customer_orders(
    tables: Tables, start: datetime | None = None, end: datetime | None = None
) -> ir.Table:
    """The linked orders placed in ``[start, end)`` (either bound may be open)."""
    orders = tables.orders
    kept = orders.customer_id.notnull()
    if start is not None:
        kept &= orders.placed_at >= _naive(start)
    if end is not None:
        kept &= orders.placed_at < _naive(end)
    return orders.filter(kept)


def customer_summary(
    tables: Tables, start: datetime | None = None, end: datetime | None = None
) -> ir.Table:
    """One row per customer with orders in the window: first and last order, order count,
    distinct order days (UTC), distinct channels and net revenue (minor units)."""
    orders = customer_orders(tables, start, end)
    return orders.group_by("customer_id").aggregate(
        first_order_at=orders.placed_at.min(),
        last_order_at=orders.placed_at.max(),
        orders=orders.order_id.count(),
        order_days=orders.placed_at.date().nunique(),
        channels=orders.channel.nunique(),
        revenue=orders.net_total.sum().cast("int64"),
    )


def omnichannel_comparison(tables: Tables, start: datetime, end: datetime) -> ir.Table:
    """Customers with orders in ``[start, end)`` split into omnichannel (orders in two or more
    channels) and single-channel: per segment the customers, orders, net revenue and repeat
    customers (two or more orders). The share is omnichannel customers over all of them."""
    summary = customer_summary(tables, start, end)
    segmented = summary.mutate(
        segment=ibis.ifelse(summary.channels >= 2, OMNICHANNEL, SINGLE_CHANNEL),
        is_repeat=ibis.ifelse(summary.orders >= 2, 1, 0),
    )
    return segmented.group_by("segment").aggregate(
        customers=segmented.customer_id.count(),
        orders=segmented.orders.sum().cast("int64"),
        revenue=segmented.revenue.sum().cast("int64"),
        repeat_customers=segmented.is_repeat.sum().cast("int64"),
    )


def omnichannel_arrivals(tables: Tables, start: datetime, end: datetime) -> ir.Table:
    """Per month of ``[start, end)``: how many customers placed their first order of the window
    (``new_customers``) and how many placed their first order in a second channel
    (``new_omnichannel``). Summed up to a month, they give the share as of that month's end."""
    orders = customer_orders(tables, start, end)
    firsts = orders.group_by(["customer_id", "channel"]).aggregate(first_at=orders.placed_at.min())
    ranked = firsts.mutate(
        rank=ibis.row_number().over(
            group_by=firsts.customer_id, order_by=[firsts.first_at, firsts.channel]
        )
    )
    ranked = ranked.filter(ranked.rank <= 1).mutate(month=month_index(ranked.first_at))
    return (
        ranked.group_by("month")
        .aggregate(
            new_customers=(ranked.rank == 0).ifelse(1, 0).sum().cast("int64"),
            new_omnichannel=(ranked.rank == 1).ifelse(1, 0).sum().cast("int64"),
        )
        .order_by("month")
    )


def _cohort_members(tables: Tables, end: datetime) -> ir.Table:
    """Each customer's first order (time, month, channel), order count and last order,
    counting orders before ``end``."""
    orders = customer_orders(tables, None, end)
    numbered = orders.mutate(
        position=ibis.row_number().over(
            group_by=orders.customer_id, order_by=[orders.placed_at, orders.order_id]
        )
    )
    first = numbered.filter(numbered.position == 0).select(
        "customer_id", first_at=numbered.placed_at, acquisition_channel=numbered.channel
    )
    totals = orders.group_by("customer_id").aggregate(
        orders=orders.order_id.count(), last_at=orders.placed_at.max()
    )
    joined = first.join(totals, "customer_id")
    return joined.mutate(cohort=month_index(joined.first_at))


def cohort_sizes(
    tables: Tables, start: datetime, end: datetime, churn_days: int, by_channel: bool = False
) -> ir.Table:
    """Cohorts of customers by the month of their first order (first orders in ``[start,
    end)``), optionally by acquisition channel too: size, repeat customers (two or more
    orders before ``end``) and churned customers (no order in the ``churn_days`` before
    ``end``)."""
    members = _cohort_members(tables, end)
    members = members.filter(members.first_at >= _naive(start))
    cutoff = _naive(end) - timedelta(days=churn_days)
    keys = ["cohort", "acquisition_channel"] if by_channel else ["cohort"]
    return members.group_by(keys).aggregate(
        size=members.customer_id.count(),
        repeat_customers=(members.orders >= 2).ifelse(1, 0).sum().cast("int64"),
        churned=(members.last_at < cutoff).ifelse(1, 0).sum().cast("int64"),
    )


def cohort_activity(
    tables: Tables, start: datetime, end: datetime, by_channel: bool = False
) -> ir.Table:
    """Per cohort (and acquisition channel) and months since the first order ``k``: how many of
    the cohort's customers ordered in that month. retention(c, k) = active / size."""
    members = _cohort_members(tables, end)
    members = members.filter(members.first_at >= _naive(start))
    orders = customer_orders(tables, None, end)
    joined = orders.join(members, "customer_id")
    joined = joined.mutate(k=month_index(joined.placed_at) - joined.cohort)
    keys = ["cohort", "acquisition_channel", "k"] if by_channel else ["cohort", "k"]
    return joined.group_by(keys).aggregate(active=joined.customer_id.nunique())


def rows(tables: Tables, expression: ir.Table, *order: str) -> list[dict[str, Any]]:
    """Run an expression on the tables' backend and return its rows as dicts sorted by
    ``order`` (row order differs between backends), numbers as Python ints."""
    frame = tables.run(expression)
    if order:
        frame.sort(key=lambda row: tuple(_sortable(row[name]) for name in order))
    return frame


def _sortable(value: Any) -> Any:
    return (value is None, value if value is not None else 0)


def customer_events(
    tables: Tables, start: datetime, end: datetime, names: tuple[str, ...] = ()
) -> ir.Table:
    """The linked events in ``[start, end)``, only the ones named ``names`` when given."""
    events = tables.events
    kept = events.customer_id.notnull() & (events.at >= _naive(start)) & (events.at < _naive(end))
    if names:
        kept &= events.name.isin(list(names))
    return events.filter(kept)
