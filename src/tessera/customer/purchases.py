"""Orders a shop reported through its tracking calls, as the customer 360 counts them.

A shop without a connector tells Tessera about an order only with Segment's ``Order
Completed`` (``/v1/track``, ``/v1/batch``). Such an order counts in the person's orders and
revenue once per ``order_id`` (the newest event wins: a reloaded confirmation page sends it
again), unless a connector order with the same id exists: then it is that order, counted once,
as the connector stored it (with its refunds and cancellation). Its money is the event's
``total``, else its ``revenue`` (Segment's revenue leaves out shipping and tax), in its
``currency``, USD when it names none (Segment's default). Pure: events in, orders out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tessera.kit.bounds import MAX_MINOR_UNITS
from tessera.kit.money import Money
from tessera.order.domain import number_forms

DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True, slots=True)
class ReportedOrder:
    """One order as the newest ``Order Completed`` event of its id states it."""

    order_id: str
    currency: str
    amount: int  # minor units; 0 when the event states no usable amount
    at: datetime


def reported_orders(events: Iterable[tuple[datetime, Mapping[str, Any]]]) -> list[ReportedOrder]:
    """One order per ``order_id`` from (timestamp, properties) of ``Order Completed`` events,
    each as its newest event states it; events without an order id are not orders."""
    newest: dict[str, ReportedOrder] = {}
    for at, properties in events:
        order_id = _order_id(properties.get("order_id"))
        if order_id is None:
            continue
        held = newest.get(order_id)
        if held is None or at > held.at:
            currency = _currency(properties.get("currency"))
            newest[order_id] = ReportedOrder(order_id, currency, _amount(properties, currency), at)
    return sorted(newest.values(), key=lambda order: order.order_id)


def forms_of(order_ids: Iterable[str]) -> list[str]:
    """Every form a connector order may hold these ids in (its number with or without
    Shopify's '#', or its platform id)."""
    return sorted({form for order_id in order_ids for form in (order_id, *number_forms(order_id))})


def not_held(orders: Iterable[ReportedOrder], held: Iterable[str]) -> list[ReportedOrder]:
    """The reported orders that no connector order holds: ``held`` are the numbers and
    platform ids of the connector orders found for ``forms_of`` their ids."""
    known = set(held)
    return [
        order
        for order in orders
        if order.order_id not in known and not known.intersection(number_forms(order.order_id))
    ]


def _order_id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    return None


def _currency(value: Any) -> str:
    if isinstance(value, str) and len(value.strip()) == 3 and value.strip().isalpha():
        return value.strip().upper()
    return DEFAULT_CURRENCY


def _amount(properties: Mapping[str, Any], currency: str) -> int:
    """The order's money in minor units: ``total``, else ``revenue``; 0 when neither is a
    number this platform can keep."""
    for name in ("total", "revenue"):
        value = properties.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        try:
            amount = Money.parse(Decimal(str(value)), currency).amount
        except (InvalidOperation, ValueError):
            return 0
        return amount if 0 <= amount <= MAX_MINOR_UNITS else 0
    return 0
