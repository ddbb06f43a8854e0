"""Pure rules for canonical orders. Connectors build ``CanonicalOrder``; the service applies it.

Arrival order must not matter. Each snapshot carries a ``version_key`` that sorts the way the
platform's own versions do (Shopify ``updated_at``, Square ``version``, TikTok ``update_time``,
Amazon ``last-updated-date``), followed by a digest of the content so two different snapshots
with the same platform version still have one deterministic winner. The newest snapshot wins;
refunds are a set keyed by the platform's refund id; cancellation, once seen in the newest
snapshot, is part of it. The stored state is therefore a pure function of the set of messages
received, whatever their order and however often each came.

A refund can overtake its order (Shopify's ``refunds/create`` before ``orders/create``). The
refund is then kept on a placeholder order whose version key is empty: every real snapshot
supersedes it, and the refunds, a set, stay. See ``OrderService.attach_refund``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from tessera.kit.money import Money, minor_exponent
from tessera.kit.time import ensure_utc
from tessera.models.order import Order, OrderRefund, OrderStatus


@dataclass(frozen=True, slots=True)
class CanonicalLine:
    line_key: str  # the platform's line id, or a stable key built from it
    quantity: int
    unit_price: int  # minor units
    total: int  # minor units, after line discounts
    sku: str | None = None
    gtin: str | None = None
    product_ref: str | None = None
    title: str = ""
    # An item the platform cancelled while the order lives on (an Amazon item): kept as a
    # line for the record, its total zero and its units owed by no stock.
    is_cancelled: bool = False


@dataclass(frozen=True, slots=True)
class CanonicalRefund:
    external_id: str
    amount: int
    refunded_at: datetime
    lines: tuple[tuple[str, int], ...] = ()  # (line_key, quantity) returned


@dataclass(frozen=True, slots=True)
class CanonicalCustomer:
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None  # the platform's buyer id
    first_name: str | None = None
    last_name: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    address_line: str | None = None  # the street line (address1): matching compares it
    address_line2: str | None = None  # a flat, a suite, a care-of


@dataclass(frozen=True, slots=True)
class CanonicalOrder:
    platform: str
    external_id: str
    order_number: str
    channel: str
    status: OrderStatus  # the platform's status mapped, before refunds are counted
    currency: str
    placed_at: datetime
    version: str  # sorts like the platform's version (ISO time, zero-padded number)
    lines: tuple[CanonicalLine, ...]
    subtotal: int = 0
    tax: int = 0
    shipping: int = 0
    discount: int = 0
    total: int = 0
    is_cancelled: bool = False
    location_ref: str | None = None
    fulfillment: str | None = None
    customer: CanonicalCustomer = field(default_factory=CanonicalCustomer)
    refunds: tuple[CanonicalRefund, ...] = ()

    def version_key(self) -> str:
        """The platform version plus a digest of the content: a total, deterministic order."""
        content = asdict(self)
        content.pop("refunds")
        digest = hashlib.sha256(
            json.dumps(content, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        return f"{self.version}|{digest}"


# The version key of a placeholder order: lower than every real snapshot's key.
PLACEHOLDER_VERSION_KEY = ""
# The fulfilment of a retail partner's sell-through: a store's week of sales, not a shopper's.
SELL_THROUGH = "retail"


def has_shopper(fulfillment: str | None) -> bool:
    """Whether an order is someone's purchase. A retail partner's sell-through row is a
    store's week: its order events are stored like any other's, but no profile is made of it
    (a profile per store-week would be a person who never existed)."""
    return fulfillment != SELL_THROUGH


def is_placeholder(version_key: str) -> bool:
    """Whether an order row only holds refunds that arrived before any snapshot of it."""
    return version_key == PLACEHOLDER_VERSION_KEY


def supersedes(incoming_key: str, stored_key: str | None) -> bool:
    """Whether an incoming snapshot replaces the stored one (strictly newer only)."""
    return stored_key is None or incoming_key > stored_key


def effective_status(
    snapshot: OrderStatus, is_cancelled: bool, total: int, refunded: int
) -> OrderStatus:
    """The order's status once cancellation and the refunds received are taken into account."""
    if is_cancelled:
        return OrderStatus.CANCELLED
    if total > 0 and refunded >= total:
        return OrderStatus.REFUNDED
    if refunded > 0:
        return OrderStatus.PARTIALLY_REFUNDED
    return snapshot


def padded_version(number: int) -> str:
    """A numeric version that sorts as text (Square's ``version``)."""
    return f"{number:020d}"


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """What a list of orders is narrowed to; every field left empty matches every order.

    ``placed_from`` is inclusive and ``placed_to`` exclusive (a day picked as "to" is passed as
    the next midnight), ``store`` is the order's ``location_ref`` and ``number`` any of the
    forms a receipt may show (``numbers``)."""

    channel: str | None = None
    status: OrderStatus | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    store: str | None = None
    email: str | None = None
    numbers: tuple[str, ...] = ()


def number_forms(number: str) -> tuple[str, ...]:
    """The forms an order number is stored in, with and without Shopify's leading '#'."""
    bare = number.strip().lstrip("#").strip()
    if not bare:
        return ()
    return tuple(sorted({number.strip(), bare, f"#{bare}"}))


CSV_COLUMNS = (
    "id",
    "placed_at",
    "platform",
    "order_number",
    "channel",
    "location",
    "status",
    "fulfillment",
    "customer_email",
    "currency",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "total",
    "refunded",
)


def csv_row(order: Order) -> list[str]:
    """One order as a CSV row of ``CSV_COLUMNS``: money in major units beside its currency
    (a spreadsheet adds them up as numbers), the time in UTC as ISO 8601."""

    def major(amount: int) -> str:
        money = Money(amount, order.currency)
        return f"{money.to_decimal():.{minor_exponent(order.currency)}f}"

    return [
        order.id,
        ensure_utc(order.placed_at).isoformat(timespec="seconds"),
        order.platform,
        order.order_number,
        order.channel,
        order.location_ref or "",
        order.status.value,
        order.fulfillment or "",
        order.customer_email or "",
        order.currency,
        major(order.subtotal),
        major(order.discount),
        major(order.shipping),
        major(order.tax),
        major(order.total),
        major(order.refunded_total),
    ]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One moment in an order's life as the order table keeps it."""

    at: datetime
    what: str
    detail: str


def status_history(order: Order, refunds: Sequence[OrderRefund]) -> list[HistoryEntry]:
    """What the stored order says happened, oldest first: placed on the platform, first
    received, the newest platform snapshot (only the newest is kept: an older one never
    replaces it), each refund, and the status these add up to.

    A placeholder (refunds only) has no snapshot yet, and says so."""
    entries = []
    if not is_placeholder(order.version_key):
        entries.append(HistoryEntry(order.placed_at, "placed", f"on {order.platform}"))
    entries.append(HistoryEntry(order.created_at, "received", "first snapshot stored"))
    if is_placeholder(order.version_key):
        entries.append(
            HistoryEntry(order.created_at, "waiting", "only refunds have arrived so far")
        )
    else:
        version = order.version_key.split("|", 1)[0]
        entries.append(
            HistoryEntry(
                order.updated_at,
                f"snapshot: {order.snapshot_status.value}",
                f"newest platform version {version}"
                + (" (cancelled)" if order.is_cancelled else ""),
            )
        )
    for refund in refunds:
        entries.append(
            HistoryEntry(
                refund.refunded_at,
                "refunded",
                f"{Money(refund.amount, refund.currency)} ({refund.external_id})",
            )
        )
    ordered = sorted(entries, key=lambda e: ensure_utc(e.at))
    last = max((ensure_utc(e.at) for e in ordered), default=ensure_utc(order.updated_at))
    ordered.append(HistoryEntry(last, f"now: {order.status.value}", "with refunds counted"))
    return ordered
