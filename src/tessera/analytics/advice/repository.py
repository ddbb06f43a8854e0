"""What channel advice and the MMM export read, as Ibis over the canonical tables: orders per
customer and channel, each customer's first order, orders per day and channel, and touches.
Counts and sums only; rates are divided in Python (see ``analytics.layer.metrics``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tessera.analytics.layer import Tables


@dataclass(frozen=True)
class Touch:
    """A tracked event's day and the medium it came through (see ``medium``)."""

    day: date
    medium: str


def customer_channels(tables: Tables, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per linked customer and channel: orders and net revenue in ``[start, end)``."""
    o = tables.orders
    kept = o.filter(o.customer_id.notnull(), o.placed_at >= start, o.placed_at < end)
    expression = kept.group_by(["customer_id", "channel"]).aggregate(
        orders=kept.count(), revenue=kept.net_total.sum()
    )
    return tables.run(expression)


def daily_orders(tables: Tables, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Orders and net revenue per UTC day and channel in ``[start, end)``."""
    o = tables.orders
    kept = o.filter(o.placed_at >= start, o.placed_at < end)
    expression = kept.group_by(day=kept.placed_at.date(), channel=kept.channel).aggregate(
        orders=kept.count(), revenue=kept.net_total.sum()
    )
    return tables.run(expression)


def daily_new_customers(tables: Tables, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Customers whose first order ever fell in ``[start, end)``, per UTC day and the channel
    of that first order (the alphabetically first when two orders tie)."""
    o = tables.orders.filter(tables.orders.customer_id.notnull())
    first = o.group_by("customer_id").aggregate(first_at=o.placed_at.min())
    joined = o.join(first, (o.customer_id == first.customer_id) & (o.placed_at == first.first_at))
    per_customer = joined.group_by(joined.customer_id).aggregate(
        channel=joined.channel.min(), first_at=joined.first_at.min()
    )
    kept = per_customer.filter(per_customer.first_at >= start, per_customer.first_at < end)
    expression = kept.group_by(day=kept.first_at.date(), channel=kept.channel).aggregate(
        customers=kept.count()
    )
    return tables.run(expression)


def touches(tables: Tables, start: datetime, end: datetime) -> Iterator[Touch]:
    """Every tracked event in ``[start, end)`` with its medium."""
    e = tables.events
    kept = e.filter(e.at >= start, e.at < end).select("at", "name", "channel", "campaign", "page")
    for row in tables.run(kept):
        found = medium(row["campaign"], row["page"], row["channel"], row["name"])
        yield Touch(row["at"].date(), found)


def medium(
    campaign: str | None, page: str | None, channel: str | None, name: str | None = None
) -> str:
    """``store_locator`` for a store-locator search, else the campaign's source, else the
    referrer's host without ``www.``, else the channel."""
    if name and "store locator" in name.lower():
        return "store_locator"
    source = _field(campaign, "source")
    if source:
        return source.strip().lower()[:80]
    referrer = _field(page, "referrer")
    if referrer and "//" in referrer:
        host = referrer.split("//", 1)[1].split("/", 1)[0].lower()
        return host.removeprefix("www.")[:80] or (channel or "unknown")
    return (channel or "unknown").lower()


def _field(document: str | None, key: str) -> str | None:
    if not document:
        return None
    try:
        value = json.loads(document)
    except ValueError:
        return None
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, str) and found else None
