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
from dataclasses import asdict, dataclass, field
from datetime import datetime

from tessera.models.order import OrderStatus


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
    address_line: str | None = None


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
